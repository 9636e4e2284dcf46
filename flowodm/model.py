"""``FlowBaseModel``: a pydantic model that knows its topic, its Avro schema and how to produce.

Everything about a model class is decided when the class is defined: its inner ``Settings``
class is parsed and validated (``SettingsError`` names the option), and its Avro schema is
generated (``SchemaGenerationError`` names the field whose type has no Avro form). A model
without a topic is fine (an abstract base, a nested record); producing it raises
``SettingsError`` saying how to set one.

The producing methods delegate to ``flowodm.producer``; that module is imported on first use
so that defining models never touches Kafka or the connection layer.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from flowodm.delivery import UNSET
from flowodm.schema.model_schema import model_converter, model_schema
from flowodm.settings import SETTINGS_ATTRIBUTE, ModelSettings, parse_model_settings

if TYPE_CHECKING:
    from flowodm.bulk import Headers
    from flowodm.connection import Connection
    from flowodm.delivery import DeliveryResult, ProduceManyResult
    from flowodm.outgoing import DeliveryCallback, Timestamp
    from flowodm.progress import ProgressOption
    from flowodm.serde.model_codec import ModelCodec

__all__ = ["FlowBaseModel"]


class FlowBaseModel(BaseModel):
    """Base class for Kafka message models.

    Declare the topic and options in an inner ``Settings`` class; a subclass inherits its
    parent's options and may override single ones::

        class OrderEvent(FlowBaseModel):
            class Settings:
                topic = "orders"
                key_field = "order_id"

            order_id: str
            amount: float

        OrderEvent(order_id="ORD-001", amount=99.99).produce()

    Unknown constructor arguments are rejected (``extra="forbid"``), so a typo in a field name
    fails where it is made instead of silently producing a record without it.
    """

    model_config = ConfigDict(extra="forbid")

    __flowodm_settings__: ClassVar[ModelSettings] = ModelSettings()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Parse ``Settings`` and build the Avro schema when the class is defined."""
        super().__pydantic_init_subclass__(**kwargs)
        parent = next(
            (
                base.__dict__[SETTINGS_ATTRIBUTE]
                for base in cls.__mro__[1:]
                if SETTINGS_ATTRIBUTE in base.__dict__
            ),
            None,
        )
        settings = parse_model_settings(cls, parent)
        setattr(cls, SETTINGS_ATTRIBUTE, settings)
        # A model with forward references is completed later (model_rebuild), and a generic
        # model (``Page[T]``, ``Page[int]``) has no Avro name until it is subclassed: their
        # schemas are built on first use.
        generic = cls.__pydantic_generic_metadata__
        if cls.__pydantic_complete__ and not generic["parameters"] and generic["origin"] is None:
            model_schema(cls)
            if settings.schema_path is not None:
                model_converter(cls)  # the file's schema must describe the model: check it now

    # ------------------------------------------------------------------ settings & schema

    @classmethod
    def flow_settings(cls) -> ModelSettings:
        """Return the model's parsed, validated ``Settings`` (topic, key_field, ...)."""
        return cls.__flowodm_settings__

    @classmethod
    def avro_schema(cls) -> dict[str, Any]:
        """Return the model's Avro schema (from ``schema_path`` if set, else generated).

        Raises:
            SchemaGenerationError: a field has no Avro form.
            SettingsError: ``schema_path`` cannot be read.
        """
        return copy.deepcopy(model_schema(cls))

    @classmethod
    def register_schema(cls, *, connection: Connection | None = None) -> int:
        """Register the schema under the model's subject now and return its id.

        Raises:
            ConfigurationError: no Schema Registry is configured.
            SchemaRegistryError: the registry refused the schema or could not be reached.
        """
        return _codec_of(cls, connection).register()

    # ------------------------------------------------------------------ conversion

    def to_avro_dict(self) -> dict[str, Any]:
        """Return this instance as an Avro datum (enums as values, datetimes as aware UTC...).

        Raises:
            SerializationError: a value cannot be represented; names the field.
        """
        return model_converter(type(self)).to_datum(self)

    @classmethod
    def from_avro_dict(cls, datum: dict[str, Any]) -> Self:
        """Build an instance from an Avro datum (as fastavro decodes it).

        Raises:
            DeserializationError: the datum does not validate against the model.
        """
        instance: Self = model_converter(cls).from_datum(datum)
        return instance

    def serialize(self, *, connection: Connection | None = None) -> bytes:
        """Return the Kafka value exactly as ``produce()`` writes it.

        With a Schema Registry configured (and ``confluent_wire_format`` on) the bytes are
        magic byte 0, the 4-byte schema id and the Avro body; otherwise the plain Avro body.
        No connection is needed when no registry is (``confluent_wire_format = False`` or
        ``value_serializer = "json"``), so models can be unit-tested offline.

        Raises:
            SerializationError: a field cannot be encoded.
            SchemaRegistryError: the schema id could not be resolved.
            ConfigurationError: the value needs a Schema Registry and no connection is
                configured (the message says to ``connect(schema_registry_url=...)`` or to
                set ``confluent_wire_format = False``).
        """
        return _codec_of(type(self), connection).value_bytes(self)

    @classmethod
    def deserialize(cls, data: bytes, *, connection: Connection | None = None) -> Self:
        """Decode a Kafka value written for this model (by FlowODM or a Confluent serializer).

        Framed values are read with the writer's schema (fetched by id) resolved to this
        model's schema, so compatible older and newer versions decode. Like ``serialize``, it
        needs no connection when the model's values need no registry.

        Raises:
            DeserializationError: the bytes are not a valid value of this model.
            SchemaRegistryError: the writer's schema could not be fetched.
            ConfigurationError: the value needs a Schema Registry and no connection is
                configured.
        """
        return _codec_of(cls, connection).decode(data)

    # ------------------------------------------------------------------ producing

    def produce(
        self,
        *,
        key: Any = UNSET,
        headers: Headers | None = None,
        partition: int | None = None,
        timestamp: Timestamp = None,
        timeout: float | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> DeliveryResult:
        """Produce this message and block until the broker acknowledged it.

        Waits for this message only (a per-message delivery callback), never for everything
        else queued in the shared producer.

        Args:
            key: Message key, serialized with ``Settings.key_serializer``. Omitted: the value
                of ``Settings.key_field`` (or no key). ``None``: no key.
            headers: Kafka headers, a dict or a list of ``(name, str | bytes | None)``.
            partition: Partition to write to (default: the partitioner picks by key).
            timestamp: CreateTime, a datetime (naive = UTC) or ms since the epoch.
            timeout: Seconds to wait for the acknowledgement (default: the connection's
                ``produce_timeout``, 35 s; librdkafka gives up after ``message.timeout.ms``,
                30 s by default).
            topic: Write to this topic instead of ``Settings.topic`` (e.g. a staging topic).
                Under the topic subject strategies the schema is registered under this
                topic's subject, as Confluent's serializers would.
            connection: A specific connection (default: the current one).

        Returns:
            Where the message was written (topic, partition, offset, timestamp, key).

        Raises:
            SettingsError: the model has no topic.
            SerializationError: the value or key cannot be encoded.
            SchemaRegistryError: the schema could not be registered or looked up.
            ProducerError: Kafka refused or failed the message (``kafka_error`` says why; for
                a timeout, ``client_error`` is the client's last error, e.g. a failed SASL
                handshake, when there was one).
            DeliveryTimeoutError: no acknowledgement within ``timeout``; the message may
                still have been written.
        """
        from flowodm import producer

        return producer.produce(
            self,
            key=key,
            headers=headers,
            partition=partition,
            timestamp=timestamp,
            timeout=timeout,
            topic=topic,
            connection=connection,
        )

    def produce_nowait(
        self,
        *,
        key: Any = UNSET,
        headers: Headers | None = None,
        partition: int | None = None,
        timestamp: Timestamp = None,
        callback: DeliveryCallback | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> None:
        """Enqueue this message and return at once (fire-and-forget).

        ``callback(err, msg)`` is called once the broker acknowledged (``err is None``) or
        the delivery failed; it runs on the connection's poller thread, so keep it short and
        thread-safe. Call ``flowodm.get_producer().flush()`` to wait for everything queued.
        ``key``, ``headers``, ``partition``, ``timestamp``, ``topic`` and ``connection`` are
        as for ``produce``.

        Raises:
            SettingsError, SerializationError, SchemaRegistryError: as for ``produce``.
            ProducerError: Kafka refused the message at once, or the local queue stayed full
                for ``produce_timeout`` seconds.
        """
        from flowodm import producer

        producer.produce_nowait(
            self,
            key=key,
            headers=headers,
            partition=partition,
            timestamp=timestamp,
            callback=callback,
            topic=topic,
            connection=connection,
        )

    async def aproduce(
        self,
        *,
        key: Any = UNSET,
        headers: Headers | None = None,
        partition: int | None = None,
        timestamp: Timestamp = None,
        timeout: float | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> DeliveryResult:
        """Produce this message and await its acknowledgement without blocking the loop.

        Same arguments (``topic=`` included), result and errors as ``produce``. Many
        concurrent calls (e.g. with ``asyncio.gather``) share the producer's batches; no
        thread is started per call.
        """
        from flowodm import producer

        return await producer.aproduce(
            self,
            key=key,
            headers=headers,
            partition=partition,
            timestamp=timestamp,
            timeout=timeout,
            topic=topic,
            connection=connection,
        )

    @classmethod
    def produce_many(
        cls,
        models: Iterable[Self],
        *,
        timeout: float | None = None,
        stall_timeout: float | None = None,
        raise_on_error: bool = True,
        progress: ProgressOption = False,
        topic: str | None = None,
        headers: Headers | None = None,
        keys: Sequence[Any] | None = None,
        connection: Connection | None = None,
    ) -> ProduceManyResult[Self]:
        """Produce many messages fast and wait until each is acknowledged or failed.

        Every model is serialized first: if one cannot be, ``SerializationError`` names its
        index and nothing is sent. Keys come from ``Settings.key_field`` unless ``keys`` is
        given.

        Args:
            models: Instances of this class.
            timeout: Seconds librdkafka may take per message (default ``produce_timeout``).
            stall_timeout: Give up when no delivery completes for this long (default
                ``timeout``).
            raise_on_error: Raise ``PartialDeliveryError`` (with ``.result``) if any message
                failed; ``False`` returns the result with the failures listed.
            progress: Show a progress bar (``True``, ``"text"``, ``"widget"``, a tqdm class).
            topic: Write to this topic instead of ``Settings.topic``; under the topic subject
                strategies the schema is registered under this topic's subject.
            headers: Kafka headers sent with every message (a dict or a list of
                ``(name, str | bytes | None)``).
            keys: One key per model, serialized with ``Settings.key_serializer`` (``None``
                entries: no key); overrides ``Settings.key_field``.
            connection: A specific connection (default: the current one).

        Returns:
            ``ProduceManyResult``: ``delivered`` count and ``failed`` entries (index, model,
            ``kafka_error``, ``maybe_written``).

        Raises:
            PartialDeliveryError: some messages failed and ``raise_on_error`` is true.
            BulkDeliveryTimeoutError: nothing completed for ``stall_timeout`` seconds; what
                was outstanding is purged and listed in ``result`` as "may have been written"
                (a purged message may be a retry of a batch the broker already stored).
                ``client_error`` is the client's last error (usually the cause), if any.
            ProducerError: ``headers``, ``topic`` or ``keys`` are malformed (nothing sent).
        """
        from flowodm import producer

        return producer.produce_many(
            cls,
            models,
            timeout=timeout,
            stall_timeout=stall_timeout,
            raise_on_error=raise_on_error,
            progress=progress,
            topic=topic,
            headers=headers,
            keys=keys,
            connection=connection,
        )

    @classmethod
    async def aproduce_many(
        cls,
        models: Iterable[Self],
        *,
        timeout: float | None = None,
        stall_timeout: float | None = None,
        raise_on_error: bool = True,
        progress: ProgressOption = False,
        topic: str | None = None,
        headers: Headers | None = None,
        keys: Sequence[Any] | None = None,
        connection: Connection | None = None,
    ) -> ProduceManyResult[Self]:
        """``produce_many`` run in a worker thread, awaited without blocking the event loop.

        Same arguments (``topic``, ``headers`` and ``keys`` included), result and errors as
        ``produce_many``.
        """
        from flowodm import producer

        return await producer.aproduce_many(
            cls,
            models,
            timeout=timeout,
            stall_timeout=stall_timeout,
            raise_on_error=raise_on_error,
            progress=progress,
            topic=topic,
            headers=headers,
            keys=keys,
            connection=connection,
        )


M = TypeVar("M", bound=FlowBaseModel)


def _codec_of(model_cls: type[M], connection: Connection | None) -> ModelCodec[M]:
    """The model's codec for ``connection`` (default: the current one, or offline if none)."""
    from flowodm.connection import codec_host
    from flowodm.serde.model_codec import get_model_codec

    return get_model_codec(model_cls, connection if connection is not None else codec_host())
