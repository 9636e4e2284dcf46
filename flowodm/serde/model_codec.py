"""Per-model value/key codec: schema, registry id, framing, keys and decoding in one place.

Contract (used by ``flowodm.produce``, the model facade and the DataFrame kit):

- ``get_model_codec(model_cls, host, *, topic=None) -> ModelCodec`` is cached per
  (host, class, topic override). The host is always given: a ``Connection``, ``OFFLINE`` (no
  registry at all), or any object with a ``registry`` attribute (``RegistryAdapter | None``).
  Which connection is current is the caller's business (``flowodm.kafka.connection.codec_host``),
  so this layer never reaches up to the connection layer.
- ``OFFLINE`` needs no broker and no registry: values that need no registry
  (``confluent_wire_format=False``, ``value_serializer="json"``) encode and decode as usual,
  so user models can be unit-tested offline; a value or key that needs the Confluent wire
  format raises ``ConfigurationError`` saying to ``connect(schema_registry_url=...)`` or to set
  ``confluent_wire_format = False``.
- ``ModelCodec``: ``.model``, ``.settings``, ``.topic`` (``SettingsError`` if unset),
  ``.subject``, ``.schema`` (``flowodm.schema.model_schema``: the ``schema_path`` file read
  once per class and process, else generated; shared, do not mutate), ``.schema_id``
  (``None`` without a registry, with ``confluent_wire_format=False`` or for JSON values;
  otherwise resolved once, lazily, thread-safely: registered when ``auto_register`` else looked
  up), ``.value_bytes(obj)``, ``.values_bytes(objs)`` (the batch form, errors name the
  index), ``.datum_bytes(datum)`` (datum already Avro-ready),
  ``.key_bytes(value)``, ``.key_of(obj)``, ``.decode(data)`` and ``.register()``.
- Framing is decided by configuration, never by sniffing: with a registry and
  ``confluent_wire_format=True`` every Avro value is ``0x00`` + 4-byte big-endian id + body, and
  ``decode`` reads the writer's id, fetches that schema (cached) and resolves writer → reader.
  Otherwise values are the plain Avro body. A model that asks for the wire format while no
  registry is configured gets plain Avro and ONE warning log per (connection, model) saying so.
- ``value_serializer="json"``: values are UTF-8 JSON (``model_dump_json``), never framed.
- ``key_serializer="avro"``: a primitive key schema is registered under ``<topic>-key`` (whatever
  the value's subject strategy) and the key is framed like a value.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from flowodm.exceptions import (
    ConfigurationError,
    DeserializationError,
    FlowODMError,
    SchemaRegistryError,
    SerializationError,
)
from flowodm.schema.datum import DatumConverter
from flowodm.schema.model_schema import model_converter, model_schema
from flowodm.schema.naming import SUBJECT_STRATEGIES, topic_subject
from flowodm.serde._codegen import Encoder
from flowodm.serde._decodegen import ColumnDecoding, RowsDecoder
from flowodm.serde.avro import AvroCodec
from flowodm.serde.keys import avro_key, deserialize_key, serialize_key
from flowodm.serde.registry import SCHEMA_NOT_FOUND, RegistryAdapter, canonical_json
from flowodm.serde.wire import HEADER_SIZE, MAGIC_BYTE, frame_prefix, unframe
from flowodm.settings import ModelSettings, display_name, settings_of

__all__ = ["LOCAL", "OFFLINE", "CodecHost", "ModelCodec", "get_model_codec"]

logger = logging.getLogger("flowodm.serde")

_UNKNOWN = object()

M = TypeVar("M", bound=BaseModel)


class CodecHost(Protocol):
    """What a codec needs from a connection: its registry adapter (or ``None``).

    Codecs are cached per host object through a weak reference, so a host must be weakly
    referenceable and hash by identity (plain classes do; ``Connection`` does).
    """

    @property
    def registry(self) -> RegistryAdapter | None:
        """The Schema Registry adapter, or ``None`` when no registry is configured."""
        ...


class _Offline:
    """The codec host when no connection is configured: no registry, and no silent fallback."""

    registry: RegistryAdapter | None = None

    def __repr__(self) -> str:
        return "OFFLINE"


#: Host of the codecs used while no connection is configured (see the module docstring).
OFFLINE = _Offline()


class _Local:
    """The codec host of checks and dry runs: the plain Avro body, no registry, no warning."""

    registry: RegistryAdapter | None = None

    def __repr__(self) -> str:
        return "LOCAL"


#: Host of codecs that prove values encode without any server: ``validate()`` and dry runs.
#: Values are the Avro body a framed codec writes after its header (keys likewise).
LOCAL = _Local()

_codecs: weakref.WeakKeyDictionary[Any, dict[tuple[type, str | None], ModelCodec[Any]]] = (
    weakref.WeakKeyDictionary()
)
_codecs_lock = threading.Lock()


def get_model_codec(
    model_cls: type[M], host: CodecHost, *, topic: str | None = None
) -> ModelCodec[M]:
    """Return the codec of ``model_cls`` for ``host`` (a connection, or ``OFFLINE``), cached.

    ``topic`` writes to another topic than the model's ``Settings.topic`` (a backfill into a
    staging topic, say); the subject then follows that topic under the topic strategies, as
    Confluent's serializers derive it, so consumers of that topic find the schema.

    Raises:
        SettingsError: the model's settings are invalid (e.g. unreadable ``schema_path``).
        SchemaGenerationError: the model has no Avro form.
    """
    settings = settings_of(model_cls)
    if topic == settings.topic:
        topic = None
    with _codecs_lock:
        per_host = _codecs.setdefault(host, {})
        codec = per_host.get((model_cls, topic))
        if codec is None:
            if topic is not None:
                settings = settings.model_copy(update={"topic": topic})
            codec = ModelCodec(
                model_cls,
                settings,
                host.registry,
                offline=host is OFFLINE,
                local=host is LOCAL,
            )
            per_host[(model_cls, topic)] = codec
    return codec


class ModelCodec(Generic[M]):
    """Turns instances of one model into Kafka value/key bytes and back, for one registry."""

    def __init__(
        self,
        model_cls: type[M],
        settings: ModelSettings,
        registry: RegistryAdapter | None,
        *,
        offline: bool = False,
        local: bool = False,
    ) -> None:
        """Build the schema, the datum converter and the Avro codec now (errors surface early).

        ``offline`` (no connection configured at all) makes values that need the Confluent
        wire format an error instead of plain Avro with a warning; ``local`` (checks and dry
        runs) writes the plain body on purpose, without the warning.

        Raises:
            SettingsError: ``schema_path`` cannot be read as an Avro schema.
            SchemaGenerationError: the model (or the file's schema) has no valid Avro form.
        """
        self.model = model_cls
        self.settings = settings
        self._registry = registry
        self._name = display_name(model_cls)
        # Shared per class with the model's own methods: a schema_path file is read once.
        self.schema: dict[str, Any] = model_schema(model_cls, settings)
        self._converter: DatumConverter[M] = model_converter(model_cls, settings)
        self._avro = AvroCodec(self.schema)
        # The specialised encoder takes obj.__dict__ itself when that gives the same bytes as
        # the datum (no datum is built); dropped for good the first time it refuses one.
        self._direct: Encoder | None = (
            self._avro.specialised_encoder if self._converter.dict_is_datum else None
        )
        self._canonical = canonical_json(self.schema)
        self._is_json = settings.value_serializer == "json"
        self._framed = not self._is_json and settings.confluent_wire_format and registry is not None
        self._lock = threading.Lock()
        self._prefix: bytes | None = None
        self._schema_id: int | None = None
        self._resolved = not self._framed
        self._warned = local  # a local codec writes unframed bodies on purpose
        self._offline = offline
        self._key_codecs: dict[str, tuple[AvroCodec, bytes]] = {}
        self._key_readers: dict[str, AvroCodec] = {}
        # Writer schema per id seen while decoding (``None``: the id is this model's schema).
        self._writers: dict[int, Any] = {}
        self._own_prefixes: set[bytes] = set()  # headers naming this very schema

    @property
    def topic(self) -> str:
        """The model's topic.

        Raises:
            SettingsError: the model's Settings have no topic.
        """
        return self.settings.require_topic(self._name)

    @property
    def subject(self) -> str:
        """The registry subject of the value schema (``schema_subject`` or the strategy's).

        Raises:
            SettingsError: the strategy needs a topic and none is set.
        """
        if self.settings.schema_subject is not None:
            return self.settings.schema_subject
        strategy = self.settings.subject_name_strategy
        topic = self.topic if strategy != "record" else (self.settings.topic or "")
        return SUBJECT_STRATEGIES[strategy](topic, self._full_name(), False)

    @property
    def direct(self) -> bool:
        """Whether values are encoded straight from instance dicts (no datum is built).

        True for models whose dict is their Avro datum, until the first value the specialised
        encoder refuses (a plain ``Enum`` member, say): from then on values take the datum path.
        """
        return self._direct is not None

    @property
    def framed(self) -> bool:
        """Whether values carry the Confluent header (registry configured, wire format on)."""
        return self._framed

    @property
    def schema_id(self) -> int | None:
        """The registry id of ``schema`` (resolved once), or ``None`` when values are unframed.

        Raises:
            SchemaRegistryError: registering or looking up the schema failed.
        """
        if not self._resolved:
            self._resolve()
        return self._schema_id

    def register(self) -> int:
        """Register the schema under ``subject`` now (whatever ``auto_register`` says).

        Raises:
            ConfigurationError: no Schema Registry is configured.
            SchemaRegistryError: the registry refused the schema or could not be reached.
        """
        registry = self._require_registry("register its schema")
        schema_id = registry.register(self.subject, self.schema)
        with self._lock:
            if self._framed:
                self._schema_id, self._prefix, self._resolved = (
                    schema_id,
                    frame_prefix(schema_id),
                    True,
                )
                self._own_prefixes.add(self._prefix)
        return schema_id

    def value_bytes(self, obj: M) -> bytes:
        """Serialize an instance of the model into the Kafka value.

        Raises:
            SerializationError: ``obj`` is not an instance of the model, or a field cannot be
                encoded (names ``Model.field``).
            SchemaRegistryError: the schema id could not be resolved.
        """
        return self.values_bytes((obj,), label=None)[0]

    def values_bytes(self, objs: Iterable[M], *, label: str | None = "objs") -> list[bytes]:
        """Serialize many instances: ``value_bytes`` for each, without per-item overhead.

        Args:
            objs: Instances of the model.
            label: How the input is named in errors (``"models"`` gives ``models[7]``);
                ``None`` leaves the cause's message as it is.

        Raises:
            SerializationError: an item cannot be serialized; the message starts with
                ``<label>[<index>]`` and keeps the model and field of the cause.
            SchemaRegistryError: the schema id could not be resolved.
        """
        out: list[bytes] = []
        append = out.append
        model = self.model
        try:
            if self._is_json:
                for obj in objs:
                    if type(obj) is not model:
                        raise self._foreign(obj)
                    append(obj.model_dump_json().encode("utf-8"))
                return out
            header, direct = self._header(), self._direct
            to_datum, encode = self._converter.to_datum, self._avro.encode
            for obj in objs:
                if type(obj) is not model:
                    raise self._foreign(obj)
                if direct is not None:
                    try:
                        append(header + direct(obj.__dict__))
                        continue
                    except Exception:  # refused (e.g. a plain Enum member): the datum way
                        direct = self._direct = None
                append(header + encode(to_datum(obj)))
        except SerializationError as exc:
            if label is None:
                raise
            raise type(exc)(
                f"{label}[{len(out)}] cannot be serialized: {exc}", model=exc.model, field=exc.field
            ) from exc
        return out

    def datum_bytes(self, datum: dict[str, Any]) -> bytes:
        """Serialize an Avro-ready datum (as ``DatumConverter.to_datum`` returns) into a value.

        Raises:
            SerializationError: the datum does not match the schema.
            SchemaRegistryError: the schema id could not be resolved.
        """
        if self._is_json:
            return self.value_bytes(self._converter.from_datum(datum))
        return self._header() + self._encode(self._avro, datum, "value")

    def key_bytes(self, value: Any) -> bytes | None:
        """Serialize an explicit key with the model's ``key_serializer`` (``None`` → no key).

        Raises:
            SerializationError: the value does not fit the key serializer (names the model).
            SchemaRegistryError: an Avro key schema could not be registered.
        """
        return self._key(value, f"{self._name} key")

    def key_of(self, obj: M) -> bytes | None:
        """Return the key of ``obj`` from ``key_field``, or ``None`` when no key field is set.

        Raises:
            SerializationError: the field's value does not fit the key serializer.
        """
        field = self.settings.key_field
        if field is None:
            return None
        return self._key(getattr(obj, field), f"{self._name}.{field}")

    @property
    def converter(self) -> DatumConverter[M]:
        """The model's datum converter (``from_datums`` validates decoded chunks)."""
        return self._converter

    @property
    def body_decoder(self) -> Callable[[bytes], Any] | None:
        """The schema-specialised decoder of bodies written with exactly this model's schema.

        It raises (any exception) for a body it does not take; ``decode_datum`` then decodes
        it or reports why. ``None`` when the schema is not specialised or values are JSON.
        """
        return None if self._is_json else self._avro.specialised_decoder

    @property
    def column_decoder(self) -> ColumnDecoding | None:
        """The column decoder of bodies of this model's schema (``AvroCodec.column_decoder``).

        For building DataFrames without a dict per row; raises like ``body_decoder``, and then
        appends nothing. ``None`` when the schema is not specialised or values are JSON.
        """
        return None if self._is_json else self._avro.column_decoder

    @property
    def rows_decoder(self) -> RowsDecoder | None:
        """``column_decoder``'s ``decode_into`` over a list (``AvroCodec.rows_decoder``)."""
        return None if self._is_json else self._avro.rows_decoder

    def same_schema_prefix(self, prefix: bytes) -> bool:
        """Whether a 5-byte Confluent header names this model's own schema.

        Lets a consumer hand a body straight to ``body_decoder``. An id not seen yet is looked
        up once (as ``decode_datum`` would), so the first value of a schema counts too.

        Raises:
            DeserializationError: the registry does not have the id.
            SchemaRegistryError: the writer's schema could not be fetched.
        """
        if prefix in self._own_prefixes:
            return True
        if not self._framed or len(prefix) != HEADER_SIZE or prefix[0] != MAGIC_BYTE:
            return False
        schema_id = int.from_bytes(prefix[1:], "big")
        return schema_id not in self._writers and self._writer_schema(schema_id) is None

    @property
    def is_json(self) -> bool:
        """Whether values are JSON (``value_serializer = "json"``) rather than Avro."""
        return self._is_json

    def decode(self, data: bytes) -> M:
        """Decode a Kafka value written for this model (framed or not, per configuration).

        Framed values are decoded with the writer's schema (fetched by id, cached) resolved
        to this model's schema, so older and newer compatible versions both read.

        Raises:
            DeserializationError: the bytes are not a valid value of this model.
            SchemaRegistryError: the writer's schema could not be fetched.
        """
        if self._is_json:
            try:
                return self.model.model_validate_json(data)
            except ValidationError as exc:
                raise DeserializationError(
                    f"JSON value does not validate as {self._name}: {exc}", model=self._name
                ) from None
        return self._converter.from_datum(self.decode_datum(data))

    def decode_datum(self, data: bytes) -> dict[str, Any]:
        """Decode an Avro value into its datum (resolved to this model's schema), unvalidated.

        Raises:
            DeserializationError: the bytes are not a valid Avro value of this model.
            SchemaRegistryError: the writer's schema could not be fetched.
        """
        if not self._warned:
            self._warn_unframed()
        writer: Any = None
        body = data
        if self._framed:
            schema_id, body = unframe(data)
            if schema_id != self._schema_id:
                writer = self._writer_schema(schema_id)
        try:
            datum: dict[str, Any] = self._avro.decode(body, writer_schema=writer)
        except DeserializationError as exc:
            hint = self._name_hint(writer)
            if hint is None:
                raise
            raise DeserializationError(f"{exc}; {hint}", model=self._name) from exc
        except FlowODMError:
            raise
        except Exception as exc:
            raise DeserializationError(
                f"bytes are not a valid Avro {self._name} value: {type(exc).__name__}: {exc}",
                model=self._name,
            ) from None
        return datum

    def _name_hint(self, writer: Any) -> str | None:
        """How to fix a writer record whose name differs from the model's (Avro matches names)."""
        if not isinstance(writer, dict):
            return None
        name, namespace = writer.get("name"), writer.get("namespace")
        full = name if not namespace or "." in str(name) else f"{namespace}.{name}"
        if full == self._full_name():
            return None
        space, _, short = str(full).rpartition(".")
        settings = f"record_name = {short!r}" + (f" and namespace = {space!r}" if space else "")
        return (
            f"the writer's record is {full!r} but {self._name}'s is {self._full_name()!r}, and "
            f"Avro schema resolution matches records by name: set {settings} in "
            f"{self._name}.Settings"
        )

    def decode_key(self, data: bytes | None) -> Any:
        """Decode a message key with the model's ``key_serializer`` (``None`` stays ``None``).

        Avro keys are read with the writer's key schema, fetched by the id in their header.

        Raises:
            DeserializationError: the bytes are not a key of that serializer.
            SchemaRegistryError: an Avro key's schema could not be fetched.
        """
        name = self.settings.key_serializer
        if data is None or name != "avro":
            return deserialize_key(name, data, where=f"{self._name} key")
        if not (self.settings.confluent_wire_format and self._registry is not None):
            raise DeserializationError(
                f"{self._name}: an Avro key without the Confluent header has no schema to read "
                "it with; Avro keys need a Schema Registry and confluent_wire_format = True",
                model=self._name,
            )
        schema_id, body = unframe(data)
        return self._key_reader(self._registry.get_schema(schema_id)).decode(body)

    def _key_reader(self, schema: Any) -> AvroCodec:
        key = canonical_json(schema)
        found = self._key_readers.get(key)
        if found is None:
            found = self._key_readers[key] = AvroCodec(schema, specialise=False)
        return found

    def _writer_schema(self, schema_id: int) -> Any:
        """The writer's schema for ``schema_id``, or ``None`` when it is this model's schema."""
        known = self._writers.get(schema_id, _UNKNOWN)
        if known is _UNKNOWN:
            try:
                writer_schema = self._require_registry("decode").get_schema(schema_id)
            except SchemaRegistryError as exc:
                if exc.error_code != SCHEMA_NOT_FOUND:
                    raise  # the registry failed, not the message: retrying may succeed
                raise DeserializationError(
                    f"the value names writer schema id {schema_id}, which the Schema Registry "
                    f"does not have; it was not written for this registry ({exc})",
                    model=self._name,
                ) from exc
            known = None if canonical_json(writer_schema) == self._canonical else writer_schema
            if known is None:
                self._own_prefixes.add(frame_prefix(schema_id))
            self._writers[schema_id] = known
        return known

    def __repr__(self) -> str:
        state = self._schema_id if self._resolved else "unresolved"
        return f"ModelCodec({self._name}, framed={self._framed}, schema_id={state})"

    def _resolve(self) -> bytes | None:
        """Resolve the schema id once (register or look up) and return the frame prefix."""
        with self._lock:
            if self._resolved:
                return self._prefix
            registry = self._registry
            if registry is None:  # pragma: no cover - _framed implies a registry
                raise ConfigurationError(f"{self._name}: no Schema Registry configured")
            subject = self.subject
            if self.settings.auto_register:
                schema_id = registry.register(subject, self.schema)
            else:
                schema_id = registry.lookup(subject, self.schema)
            self._schema_id, self._prefix = schema_id, frame_prefix(schema_id)
            self._own_prefixes.add(self._prefix)
            self._resolved = True
            return self._prefix

    def _key(self, value: Any, where: str) -> bytes | None:
        name = self.settings.key_serializer
        if name != "avro" or value is None:
            return serialize_key(name, value, where=where)
        schema, datum = avro_key(value, where=where)
        codec, prefix = self._key_codec(schema)
        return prefix + self._encode(codec, datum, where)

    def _key_codec(self, schema: str | dict[str, Any]) -> tuple[AvroCodec, bytes]:
        """Return the Avro codec and frame prefix of a primitive key schema (registered once)."""
        key = canonical_json(schema)
        found = self._key_codecs.get(key)
        if found is None:
            prefix = b""
            if self.settings.confluent_wire_format and self._registry is not None:
                subject = topic_subject(self.topic, "", True)
                prefix = frame_prefix(self._registry.register(subject, schema))
            else:
                self._warn_unframed()
            found = (AvroCodec(schema), prefix)
            self._key_codecs[key] = found
        return found

    def _encode(self, codec: AvroCodec, datum: Any, what: str) -> bytes:
        if not self._warned:
            self._warn_unframed()
        try:
            return codec.encode(datum)
        except FlowODMError:
            raise
        except Exception as exc:
            raise SerializationError(
                f"{self._name}: cannot Avro-encode the {what}: {type(exc).__name__}: {exc}",
                model=self._name,
            ) from None

    def _header(self) -> bytes:
        """The Confluent frame prefix (the schema id resolved once), or ``b""`` when unframed."""
        if not self._warned:
            self._warn_unframed()
        prefix = self._prefix if self._resolved else self._resolve()
        return b"" if prefix is None else prefix

    def _foreign(self, obj: object) -> SerializationError:
        """The error for an object that is not an instance of exactly this model."""
        other = display_name(type(obj))
        return SerializationError(
            f"{self._name} codec cannot serialize a {other}; use {other}'s own codec",
            model=self._name,
        )

    def _warn_unframed(self) -> None:
        """Log once when the model asks for the wire format but no registry is configured.

        Raises:
            ConfigurationError: no connection is configured at all (``OFFLINE``), so the
                wire format cannot be written and nothing says plain Avro is wanted.
        """
        wanted = self.settings.confluent_wire_format and not self._is_json
        if self._warned or not wanted or self._registry is not None:
            self._warned = True
            return
        if self._offline:
            raise ConfigurationError(
                f"{self._name}: no connection is configured, and {self._name} values use the "
                "Confluent wire format, which needs a Schema Registry; call "
                "flowodm.connect(schema_registry_url=...) first (or pass connection=), or set "
                f"confluent_wire_format = False in {self._name}.Settings to write plain Avro"
            )
        self._warned = True
        logger.warning(
            "%s: no Schema Registry is configured, so values are written as plain Avro "
            "without the Confluent header and most consumers (Confluent deserializers, Kafka "
            "UIs) cannot read them. Pass schema_registry_url to connect(), or set "
            "confluent_wire_format = False in %s.Settings to write plain Avro on purpose.",
            self._name,
            self._name,
        )

    def _require_registry(self, action: str) -> RegistryAdapter:
        if self._registry is None:
            raise ConfigurationError(
                f"{self._name}: cannot {action} without a Schema Registry; pass "
                "schema_registry_url to flowodm.connect() or set SCHEMA_REGISTRY_URL"
            )
        return self._registry

    def _full_name(self) -> str:
        namespace = self.schema.get("namespace")
        name = str(self.schema.get("name", self._name))
        return name if "." in name or not namespace else f"{namespace}.{name}"
