"""``FlowBaseModel``: a pydantic model that knows its topic, its Avro schema and how to produce.

Everything about a model class is decided when the class is defined: its inner ``Settings``
class is parsed and validated (``SettingsError`` names the option), and its Avro schema is
generated (``SchemaGenerationError`` names the field whose type has no Avro form). A model
without a topic is fine (an abstract base, a nested record); producing it raises
``SettingsError`` saying how to set one.

The producing methods delegate to ``flowodm.produce.api``; that module is imported on first use
so that defining models never touches Kafka or the connection layer.
"""

from __future__ import annotations

import copy
import types
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, Unpack

from pydantic import BaseModel, ConfigDict

from flowodm.schema.model_schema import model_converter, model_schema
from flowodm.settings import SETTINGS_ATTRIBUTE, ModelSettings, parse_model_settings

if TYPE_CHECKING:
    import pandas as pd

    from flowodm._types import BatchOptions, NowaitOptions, ProduceOptions
    from flowodm.consume.consumer import CommitStrategy, ModelConsumer
    from flowodm.consume.profiles import ConsumerProfile
    from flowodm.consume.read_start import Start
    from flowodm.consume.reader import OnError
    from flowodm.consume.reading import ReadResult
    from flowodm.kafka.connection import Connection
    from flowodm.produce.results import DeliveryResult, ProduceManyResult
    from flowodm.progress import ProgressOption
    from flowodm.serde.model_codec import ModelCodec
    from flowodm.tools.compat import CompatibilityResult

__all__ = ["FlowBaseModel"]


if TYPE_CHECKING:

    class _ClassMethod(classmethod[Any, ..., str]): ...  # generic in the stubs only
else:
    _ClassMethod = classmethod


class _ClassOrInstanceMethod(_ClassMethod):
    """A method bound to the instance when called on one, else to the class.

    Jupyter displays a class through ``_repr_html_`` only when it is bound to the class, and an
    instance through its own: one descriptor serves both (a ``classmethod``, which pydantic
    leaves alone).
    """

    def __get__(self, obj: object, objtype: type | None = None) -> Callable[[], str]:
        bound: Callable[[], str] = (
            super().__get__(obj, objtype) if obj is None else types.MethodType(self.__func__, obj)
        )
        return bound


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

    @_ClassOrInstanceMethod
    def _repr_html_(cls_or_self: Any) -> str:
        """A notebook's display: the Avro schema as a field table (an instance adds values)."""
        from flowodm.widgets.schema_table import model_html

        return model_html(cls_or_self)

    @classmethod
    def register_schema(cls, *, connection: Connection | None = None) -> int:
        """Register the schema under the model's subject now and return its id.

        Raises:
            ConfigurationError: no Schema Registry is configured.
            SchemaRegistryError: the registry refused the schema or could not be reached.
        """
        return _codec_of(cls, connection).register()

    @classmethod
    def check_compatibility(
        cls,
        subject: str | None = None,
        level: str | None = None,
        *,
        connection: Connection | None = None,
    ) -> CompatibilityResult:
        """Would the registry accept this model's schema? Checks without registering.

        ``subject`` defaults to the model's, ``level`` to the subject's own; another level is
        checked against the subject's live versions without changing the subject. The result
        names each incompatible field and why (``flowodm.tools.check_compatibility``).

        Raises:
            ConfigurationError: no Schema Registry is configured.
            SchemaRegistryError: the registry failed or could not be reached.
            InvalidArgumentError: an unknown level.
        """
        from flowodm.tools.check import check_model_compatibility

        return check_model_compatibility(cls, subject=subject, level=level, connection=connection)

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
    # The keyword options are declared and documented once, in flowodm._types.

    def produce(self, **options: Unpack[ProduceOptions]) -> DeliveryResult:
        """Produce this message and block until the broker acknowledged it.

        Waits for this message only (a per-message delivery callback), never for everything
        else queued in the shared producer. Options (``key``, ``headers``, ``partition``,
        ``timestamp``, ``timeout``, ``topic``, ``connection``): ``flowodm.ProduceOptions``.

        Returns:
            Where the message was written (topic, partition, offset, timestamp, key).

        Raises:
            SettingsError: the model has no topic.
            SerializationError: the value or key cannot be encoded.
            SchemaRegistryError: the schema could not be registered or looked up.
            InvalidArgumentError: an option has a wrong value (``ArgumentTypeError``: a wrong
                type or an unknown option).
            ProducerError: Kafka refused or failed the message (``kafka_error`` says why; for
                a timeout, ``client_error`` is the client's last error, e.g. a failed SASL
                handshake, when there was one).
            DeliveryTimeoutError: no acknowledgement within ``timeout``; the message may
                still have been written.
        """
        from flowodm.produce import api

        return api.produce(self, **options)

    def produce_nowait(self, **options: Unpack[NowaitOptions]) -> None:
        """Enqueue this message and return at once (fire-and-forget).

        ``callback(err, msg)`` is called once the broker acknowledged (``err is None``) or
        the delivery failed, on the connection's poller thread. Call
        ``flowodm.get_producer().flush()`` to wait for everything queued. Options:
        ``flowodm.NowaitOptions`` (``ProduceOptions`` with ``callback`` for ``timeout``).

        Raises:
            SettingsError, SerializationError, SchemaRegistryError, InvalidArgumentError: as
                for ``produce``.
            ProducerError: Kafka refused the message at once, or the local queue stayed full
                for ``produce_timeout`` seconds.
        """
        from flowodm.produce import api

        api.produce_nowait(self, **options)

    async def aproduce(self, **options: Unpack[ProduceOptions]) -> DeliveryResult:
        """Produce this message and await its acknowledgement without blocking the loop.

        Same options (``flowodm.ProduceOptions``), result and errors as ``produce``. Many
        concurrent calls (e.g. with ``asyncio.gather``) share the producer's batches; no
        thread is started per call.
        """
        from flowodm.produce import api

        return await api.aproduce(self, **options)

    @classmethod
    def produce_many(
        cls, models: Iterable[Self], **options: Unpack[BatchOptions]
    ) -> ProduceManyResult[Self]:
        """Produce many messages fast and wait until each is acknowledged or failed.

        Every model is serialized first: if one cannot be, ``SerializationError`` names its
        index and nothing is sent. Keys come from ``Settings.key_field`` unless ``keys`` is
        given. Options (``timeout``, ``stall_timeout``, ``raise_on_error``, ``progress``,
        ``topic``, ``headers``, ``keys``, ``connection``): ``flowodm.BatchOptions``.

        Returns:
            ``ProduceManyResult``: ``delivered`` count and ``failed`` entries (index, model,
            ``kafka_error``, ``maybe_written``).

        Raises:
            PartialDeliveryError: some messages failed and ``raise_on_error`` is true.
            BulkDeliveryTimeoutError: nothing acknowledged for ``stall_timeout`` seconds; what
                was outstanding is purged and listed in ``result`` as "may have been written"
                (a purged message may be a retry of a batch the broker already stored).
                ``client_error`` is the client's last error (usually the cause), if any.
            InvalidArgumentError: ``headers``, ``topic``, ``keys`` or another option is
                malformed (nothing sent).
        """
        from flowodm.produce import api

        return api.produce_many(cls, models, **options)

    @classmethod
    async def aproduce_many(
        cls, models: Iterable[Self], **options: Unpack[BatchOptions]
    ) -> ProduceManyResult[Self]:
        """``produce_many`` run in a worker thread, awaited without blocking the event loop.

        Same options (``flowodm.BatchOptions``), result and errors as ``produce_many``.
        """
        from flowodm.produce import api

        return await api.aproduce_many(cls, models, **options)

    # ------------------------------------------------------------------ consuming
    # Upstream's call shapes; the consumer behind them is kept per (connection, group, topic),
    # so successive calls continue where the last stopped (flowodm.consume.api).

    @classmethod
    def consumer(
        cls,
        *,
        group_id: str | None = None,
        topic: str | None = None,
        settings: ConsumerProfile | None = None,
        consumer_config: Mapping[str, Any] | None = None,
        commit: CommitStrategy | None = None,
        connection: Connection | None = None,
    ) -> ModelConsumer[Self]:
        """A consumer of its own in ``group_id`` that hands out ``ConsumedMessage``s.

        Each message carries the model (``value``; ``None`` for a tombstone), the decoded
        ``key``, ``headers``, ``topic``, ``partition``, ``offset`` and ``timestamp``. Use it as
        a context manager: leaving the block without an exception commits what was handed
        out. ``commit``: ``"after_processing"`` (at-least-once, the default unless the
        profile commits on receipt), ``"before_processing"`` (at-most-once) or ``"manual"``;
        see ``docs/consuming.md``.

        Raises:
            SettingsError: no group (``group_id`` or ``Settings.consumer_group``) or no topic.
            ConfigurationError: a bad consumer setting (named as written).
        """
        from flowodm.consume.consumer import ModelConsumer

        return ModelConsumer(
            cls,
            group_id=group_id,
            topic=topic,
            settings=settings,
            consumer_config=consumer_config,
            commit=commit,
            connection=connection,
        )

    @classmethod
    def consume_one(
        cls,
        timeout: float = 1.0,
        *,
        group_id: str | None = None,
        settings: ConsumerProfile | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> Self | None:
        """The next message as a model, or ``None`` when none arrives within ``timeout`` s.

        What an earlier call returned counts as processed (and is committed) once this call
        starts. Tombstones are skipped; use ``consumer()`` to see them and message metadata.

        Raises:
            DeserializationError: the message cannot be decoded; names topic, partition,
                offset and field. Calling again carries on after it.
            ConsumerError: Kafka reported an error (e.g. the topic does not exist).
            SettingsError: no group or no topic is configured.
        """
        from flowodm.consume import api

        return api.consume_one(
            cls,
            timeout=timeout,
            group_id=group_id,
            settings=settings,
            topic=topic,
            connection=connection,
        )

    @classmethod
    def consume_batch(
        cls,
        max_messages: int,
        timeout: float = 1.0,
        *,
        group_id: str | None = None,
        settings: ConsumerProfile | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> list[Self]:
        """Up to ``max_messages`` models: as soon as they arrived, or what came in ``timeout``.

        Same commits and errors as ``consume_one`` (a bad message ends the batch before it
        and is raised by the next call).
        """
        from flowodm.consume import api

        return api.consume_batch(
            cls,
            max_messages,
            timeout=timeout,
            group_id=group_id,
            settings=settings,
            topic=topic,
            connection=connection,
        )

    @classmethod
    def consume_iter(
        cls,
        timeout: float | None = None,
        *,
        max_messages: int | None = None,
        group_id: str | None = None,
        settings: ConsumerProfile | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> Iterator[Self]:
        """Models until ``max_messages`` were yielded or none arrived for ``timeout`` seconds.

        ``timeout=None`` (default) waits forever. Asking for the next model marks the previous
        one processed; breaking out leaves the last one uncommitted (re-delivered after a
        crash, handed out again only by a new consumer). Errors as ``consume_one``.
        """
        from flowodm.consume import api

        return api.consume_iter(
            cls,
            max_messages=max_messages,
            timeout=timeout,
            group_id=group_id,
            settings=settings,
            topic=topic,
            connection=connection,
        )

    @classmethod
    def commit(
        cls,
        *,
        group_id: str | None = None,
        topic: str | None = None,
        settings: ConsumerProfile | None = None,
        connection: Connection | None = None,
    ) -> None:
        """Commit now what ``consume_one/batch/iter`` handed out for this group.

        Raises:
            ConsumerError: the broker refused the commit.
        """
        from flowodm.consume import api

        api.commit(cls, group_id=group_id, topic=topic, settings=settings, connection=connection)

    @classmethod
    async def aconsume_one(
        cls,
        timeout: float = 1.0,
        *,
        group_id: str | None = None,
        settings: ConsumerProfile | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> Self | None:
        """``consume_one`` without blocking the event loop (the wait runs on a worker thread)."""
        from flowodm.consume import api

        return await api.aconsume_one(
            cls,
            timeout=timeout,
            group_id=group_id,
            settings=settings,
            topic=topic,
            connection=connection,
        )

    @classmethod
    async def aconsume_batch(
        cls,
        max_messages: int,
        timeout: float = 1.0,
        *,
        group_id: str | None = None,
        settings: ConsumerProfile | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> list[Self]:
        """``consume_batch`` without blocking the event loop."""
        from flowodm.consume import api

        return await api.aconsume_batch(
            cls,
            max_messages,
            timeout=timeout,
            group_id=group_id,
            settings=settings,
            topic=topic,
            connection=connection,
        )

    @classmethod
    def aconsume_iter(
        cls,
        timeout: float | None = None,
        *,
        max_messages: int | None = None,
        group_id: str | None = None,
        settings: ConsumerProfile | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> AsyncIterator[Self]:
        """``consume_iter`` as an async iterator (``async for``) that never blocks the loop."""
        from flowodm.consume import api

        return api.aconsume_iter(
            cls,
            max_messages=max_messages,
            timeout=timeout,
            group_id=group_id,
            settings=settings,
            topic=topic,
            connection=connection,
        )

    # ------------------------------------------------------------------ reading (no group)

    @classmethod
    def read_messages(
        cls,
        *,
        start: Start = "earliest",
        max_messages: int | None = None,
        timeout: float | None = None,
        follow: bool = False,
        topic: str | None = None,
        connection: Connection | None = None,
        consumer_config: Mapping[str, Any] | None = None,
        on_error: OnError = "raise",
        progress: ProgressOption = False,
    ) -> ReadResult[Self]:
        """The topic as it is now, as ``ConsumedMessage``s: ``flowodm.consume.read_messages``.

        Reads without a consumer group and commits nothing, so no service's offsets move.
        """
        from flowodm.consume.reading import read_messages

        return read_messages(
            cls,
            start=start,
            max_messages=max_messages,
            timeout=timeout,
            follow=follow,
            topic=topic,
            connection=connection,
            consumer_config=consumer_config,
            on_error=on_error,
            progress=progress,
        )

    @classmethod
    def consume_dataframe(
        cls,
        *,
        start: Start = "earliest",
        max_messages: int | None = None,
        timeout: float | None = None,
        follow: bool = False,
        topic: str | None = None,
        connection: Connection | None = None,
        consumer_config: Mapping[str, Any] | None = None,
        metadata: bool | Sequence[str] = False,
        on_error: OnError = "raise",
        progress: ProgressOption = None,
        columnar: bool = True,
    ) -> pd.DataFrame:
        """The topic as it is now, as a DataFrame: ``flowodm.read_topic(cls, ...)``.

        Reads without a consumer group and commits nothing; the arguments are
        ``read_topic``'s, and so is the report at ``df.attrs["flowodm_report"]``.

        Raises:
            MissingExtraError: pandas is not installed (``pip install flowodm[pandas]``).
        """
        from flowodm._optional import require

        require("pandas", extra="pandas")
        from flowodm.pandas.read import read_topic

        return read_topic(
            cls,
            start=start,
            max_messages=max_messages,
            timeout=timeout,
            follow=follow,
            topic=topic,
            connection=connection,
            consumer_config=consumer_config,
            metadata=metadata,
            on_error=on_error,
            progress=progress,
            columnar=columnar,
        )


M = TypeVar("M", bound=FlowBaseModel)


def _codec_of(model_cls: type[M], connection: Connection | None) -> ModelCodec[M]:
    """The model's codec for ``connection`` (default: the current one, or offline if none)."""
    from flowodm.kafka.connection import codec_host
    from flowodm.serde.model_codec import get_model_codec

    return get_model_codec(model_cls, connection if connection is not None else codec_host())
