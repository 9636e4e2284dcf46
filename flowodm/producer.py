"""Producing models: blocking, fire-and-forget, asyncio, and bulk.

- ``produce`` enqueues on the connection's shared producer with a per-message delivery
  callback and waits on THIS message's acknowledgement (never a ``flush()`` of the shared
  producer, so concurrent producers in other threads do not slow it down).
- ``produce_nowait`` enqueues and returns; the optional ``callback(err, msg)`` runs on the
  connection's poller thread (``flowodm-poller``).
- ``aproduce`` enqueues synchronously (microseconds) and awaits an asyncio future that the
  poller thread resolves with ``loop.call_soon_threadsafe``: no thread per call.
- ``produce_many`` encodes every model first (a model that cannot be serialized stops the call
  before anything is sent), then hands the bytes to a ``BulkSender``.

Every failure is a FlowODM error: ``SettingsError``/``SerializationError``/
``SchemaRegistryError`` before anything is sent, ``ProducerError`` (with ``kafka_error``) when
Kafka refuses, ``DeliveryTimeoutError`` when no acknowledgement arrives in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from flowodm.bulk import BulkSender, Headers
from flowodm.delivery import (
    UNSET,
    BulkResult,
    DeliveryResult,
    FailedMessage,
    ProduceManyResult,
    describe_error,
    is_producer_broken,
    may_have_been_written,
)
from flowodm.exceptions import (
    BulkDeliveryTimeoutError,
    DeliveryTimeoutError,
    PartialDeliveryError,
    ProducerError,
    SerializationError,
)
from flowodm.progress import DeliveryProgress, ProgressOption, open_progress
from flowodm.serde.model_codec import ModelCodec, get_model_codec
from flowodm.settings import display_name, settings_of

if TYPE_CHECKING:
    from pydantic import BaseModel

    from flowodm.connection import Connection

__all__ = [
    "UNSET",
    "BulkSender",
    "DeliveryCallback",
    "DeliveryResult",
    "ProduceManyResult",
    "aproduce",
    "aproduce_many",
    "produce",
    "produce_many",
    "produce_nowait",
]

logger = logging.getLogger("flowodm.producer")

M = TypeVar("M", bound="BaseModel")
DeliveryCallback = Callable[[KafkaError | None, Message], None]
Timestamp = int | dt.datetime | None

# Waiting for room in a full local queue: short naps while the poller thread drains it.
_FULL_QUEUE_NAP = 0.01


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One encoded message, ready for ``Producer.produce``."""

    topic: str
    value: bytes
    key: bytes | None
    partition: int
    timestamp: int
    headers: Headers | None

    def enqueue(self, producer: Producer, on_delivery: DeliveryCallback | None) -> bool:
        """Hand the message to librdkafka; ``False`` when its local queue is full.

        Raises:
            ProducerError: librdkafka refused it at once (e.g. too large, unknown partition)
                or an argument has the wrong type.
        """
        try:
            producer.produce(
                self.topic,
                self.value,
                self.key,
                self.partition,
                on_delivery=on_delivery,
                timestamp=self.timestamp,
                headers=self.headers,
            )
        except BufferError:
            return False
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            raise ProducerError(
                f"Kafka refused the message for {self.topic!r}: {describe_error(error)}",
                kafka_error=error,
                topic=self.topic,
                key=self.key,
            ) from None
        except (TypeError, ValueError) as exc:
            raise ProducerError(
                f"cannot produce to {self.topic!r}: {exc} (check headers, partition and timestamp)",
                topic=self.topic,
                key=self.key,
            ) from None
        return True

    def queue_full_error(self, waited: float) -> ProducerError:
        return ProducerError(
            f"the local producer queue stayed full for {waited:g} s, so the message for "
            f"{self.topic!r} was not sent; the broker is slow or unreachable, or "
            "queue.buffering.max.messages / queue.buffering.max.kbytes is too small",
            topic=self.topic,
            key=self.key,
        )


def prepare(
    obj: BaseModel,
    *,
    key: Any = UNSET,
    headers: Headers | None = None,
    partition: int | None = None,
    timestamp: Timestamp = None,
    connection: Connection | None = None,
) -> _Outgoing:
    """Encode ``obj`` (value, key) and check the produce arguments, sending nothing.

    Raises:
        SettingsError: the model has no topic.
        SerializationError: the value or key cannot be encoded.
        SchemaRegistryError: the schema id could not be resolved.
        ProducerError: ``partition``, ``timestamp`` or ``headers`` have a wrong type.
    """
    _require_topic(type(obj))
    codec: ModelCodec[Any] = get_model_codec(type(obj), _connection(connection))
    topic = codec.topic
    value = codec.value_bytes(obj)
    key_bytes = codec.key_of(obj) if key is UNSET else codec.key_bytes(key)
    return _Outgoing(
        topic=topic,
        value=value,
        key=key_bytes,
        partition=_check_partition(partition, topic),
        timestamp=_timestamp_ms(timestamp, topic),
        headers=_check_headers(headers, topic),
    )


def produce(
    obj: BaseModel,
    *,
    key: Any = UNSET,
    headers: Headers | None = None,
    partition: int | None = None,
    timestamp: Timestamp = None,
    timeout: float | None = None,
    connection: Connection | None = None,
) -> DeliveryResult:
    """Produce ``obj`` and block until the broker acknowledged it (see ``FlowBaseModel``)."""
    conn = _connection(connection, type(obj))
    outgoing = prepare(
        obj, key=key, headers=headers, partition=partition, timestamp=timestamp, connection=conn
    )
    wait = _timeout(timeout, conn)
    deadline = time.monotonic() + wait
    waiter = _Waiter()
    producer = _shared_producer(conn)
    while not outgoing.enqueue(producer, waiter):
        if time.monotonic() >= deadline:
            raise outgoing.queue_full_error(wait)
        time.sleep(_FULL_QUEUE_NAP)
    if not waiter.done.wait(max(0.0, deadline - time.monotonic())):
        raise _no_ack(outgoing, wait)
    return _outcome(outgoing, waiter.error, waiter.message, producer, conn)


def produce_nowait(
    obj: BaseModel,
    *,
    key: Any = UNSET,
    headers: Headers | None = None,
    partition: int | None = None,
    timestamp: Timestamp = None,
    callback: DeliveryCallback | None = None,
    connection: Connection | None = None,
) -> None:
    """Enqueue ``obj`` and return at once; ``callback(err, msg)`` runs on the poller thread."""
    conn = _connection(connection, type(obj))
    outgoing = prepare(
        obj, key=key, headers=headers, partition=partition, timestamp=timestamp, connection=conn
    )
    wait = conn.config.produce_timeout
    deadline = time.monotonic() + wait
    producer = _shared_producer(conn)
    report = _NowaitReport(callback, producer)
    while not outgoing.enqueue(producer, report):
        if time.monotonic() >= deadline:
            raise outgoing.queue_full_error(wait)
        time.sleep(_FULL_QUEUE_NAP)


async def aproduce(
    obj: BaseModel,
    *,
    key: Any = UNSET,
    headers: Headers | None = None,
    partition: int | None = None,
    timestamp: Timestamp = None,
    timeout: float | None = None,
    connection: Connection | None = None,
) -> DeliveryResult:
    """Produce ``obj`` and await its acknowledgement without blocking the event loop."""
    conn = _connection(connection, type(obj))
    codec: ModelCodec[Any] = get_model_codec(type(obj), conn)
    if codec not in _resolved_codecs:
        # The registry round trip (once per model class) must not block the event loop.
        await asyncio.to_thread(_resolve, codec)
    # Encoding is CPU work of a few microseconds: done inline, it keeps the call order and
    # avoids a thread hop per message.
    outgoing = prepare(
        obj, key=key, headers=headers, partition=partition, timestamp=timestamp, connection=conn
    )
    wait = _timeout(timeout, conn)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    future: asyncio.Future[tuple[KafkaError | None, Message]] = loop.create_future()
    producer = _shared_producer(conn)
    on_delivery = _FutureReport(loop, future)
    while not outgoing.enqueue(producer, on_delivery):
        if loop.time() >= deadline:
            raise outgoing.queue_full_error(wait)
        await asyncio.sleep(_FULL_QUEUE_NAP)
    try:
        error, message = await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
    except TimeoutError:
        raise _no_ack(outgoing, wait) from None
    return _outcome(outgoing, error, message, producer, conn)


def produce_many(
    model_cls: type[M],
    models: Iterable[M],
    *,
    timeout: float | None = None,
    stall_timeout: float | None = None,
    raise_on_error: bool = True,
    progress: ProgressOption = False,
    connection: Connection | None = None,
) -> ProduceManyResult[M]:
    """Produce many models of one class; see ``FlowBaseModel.produce_many``."""
    _require_topic(model_cls)
    conn = _connection(connection)
    codec: ModelCodec[M] = get_model_codec(model_cls, conn)
    topic = codec.topic
    items = list(models)
    values, keys = _encode_all(codec, items)
    wait = _timeout(timeout, conn)
    bar = DeliveryProgress(
        open_progress(progress, total=len(items), desc=f"produce {topic}", unit="msg")
    )
    sender: BulkSender[int] = BulkSender(
        conn,
        topic,
        timeout=wait,
        stall_timeout=wait if stall_timeout is None else stall_timeout,
        on_acked=bar.acked,
    )
    try:
        sender.send_many(values, keys, range(len(values)))
        bulk = sender.close()
    except BulkDeliveryTimeoutError as exc:
        result = _many_result(topic, exc.result, items)
        raise BulkDeliveryTimeoutError(
            f"{exc} ({result.summary()})", result=result, topic=topic
        ) from None
    except BaseException:
        sender.abort()  # e.g. KeyboardInterrupt: do not leave a half-used producer behind
        raise
    finally:
        bar.counts(invalid=0, failed=len(sender.failed))
        bar.close()
    result = _many_result(topic, bulk, items)
    if raise_on_error and result.failed:
        raise PartialDeliveryError(result.summary(), result=result, topic=topic)
    return result


async def aproduce_many(
    model_cls: type[M],
    models: Iterable[M],
    *,
    timeout: float | None = None,
    stall_timeout: float | None = None,
    raise_on_error: bool = True,
    connection: Connection | None = None,
) -> ProduceManyResult[M]:
    """``produce_many`` in a worker thread, so the event loop keeps running meanwhile."""
    items = list(models)
    return await asyncio.to_thread(
        produce_many,
        model_cls,
        items,
        timeout=timeout,
        stall_timeout=stall_timeout,
        raise_on_error=raise_on_error,
        connection=connection,
    )


# ---------------------------------------------------------------------------- helpers


def _connection(connection: Connection | None, model_cls: type | None = None) -> Connection:
    """The given connection or the current one; a model without topic fails first."""
    if model_cls is not None:
        _require_topic(model_cls)
    if connection is not None:
        return connection
    from flowodm.connection import get_connection  # the connection layer sits above this one

    return get_connection()


# Codecs whose schema id is resolved, so ``aproduce`` encodes on the loop without blocking.
_resolved_codecs: weakref.WeakSet[ModelCodec[Any]] = weakref.WeakSet()


def _resolve(codec: ModelCodec[Any]) -> None:
    _ = codec.schema_id
    _resolved_codecs.add(codec)


def _require_topic(model_cls: type) -> str:
    return settings_of(model_cls).require_topic(display_name(model_cls))


def _timeout(timeout: float | None, connection: Connection) -> float:
    if timeout is None:
        return connection.config.produce_timeout
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def _encode_all(
    codec: ModelCodec[M], items: list[M]
) -> tuple[list[bytes], list[bytes | None] | None]:
    """Encode every model (values and keys) before anything is sent."""
    _ = codec.schema_id  # resolve the registry id once, so its errors surface unwrapped
    value_bytes = codec.value_bytes
    values: list[bytes] = []
    keys: list[bytes | None] | None = None
    try:
        for obj in items:
            values.append(value_bytes(obj))
        if codec.settings.key_field is not None:
            key_of = codec.key_of
            keys = []
            for obj in items:
                keys.append(key_of(obj))
    except SerializationError as exc:
        index = len(values) if keys is None else len(keys)
        raise type(exc)(
            f"models[{index}] cannot be serialized, so nothing was sent: {exc}",
            model=exc.model,
            field=exc.field,
        ) from exc
    return values, keys


def _many_result(topic: str, bulk: BulkResult[int], items: list[M]) -> ProduceManyResult[M]:
    failed = sorted(
        (FailedMessage(f.ref, items[f.ref], f.kafka_error, f.maybe_written) for f in bulk.failed),
        key=lambda failure: failure.index,
    )
    return ProduceManyResult(topic=topic, delivered=bulk.delivered, failed=failed)


def _check_partition(partition: int | None, topic: str) -> int:
    if partition is None:
        return -1
    if not isinstance(partition, int) or isinstance(partition, bool) or partition < 0:
        raise ProducerError(
            f"partition must be a non-negative int or None, got {partition!r}", topic=topic
        )
    return partition


def _timestamp_ms(timestamp: Timestamp, topic: str) -> int:
    """Return the CreateTime in ms (0 = "now", librdkafka's convention)."""
    if timestamp is None:
        return 0
    if isinstance(timestamp, dt.datetime):
        # FlowODM's rule everywhere: a naive datetime is UTC, never local time.
        aware = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=dt.UTC)
        return int(aware.timestamp() * 1000)
    if isinstance(timestamp, int) and not isinstance(timestamp, bool) and timestamp > 0:
        return timestamp
    raise ProducerError(
        "timestamp must be a datetime or a positive int of milliseconds since the epoch, "
        f"got {timestamp!r}",
        topic=topic,
    )


def _check_headers(headers: Headers | None, topic: str) -> Headers | None:
    if headers is None:
        return None
    pairs = headers.items() if isinstance(headers, dict) else headers
    try:
        for name, value in pairs:
            if not isinstance(name, str) or not isinstance(value, str | bytes | type(None)):
                raise TypeError
    except (TypeError, ValueError):
        raise ProducerError(
            f"headers must be a dict or a list of (str, str | bytes | None) pairs, got {headers!r}",
            topic=topic,
        ) from None
    return headers


def _no_ack(outgoing: _Outgoing, waited: float) -> DeliveryTimeoutError:
    return DeliveryTimeoutError(
        f"no acknowledgement for the message to {outgoing.topic!r} within {waited:g} s; it "
        "may have been written (or may still be, while librdkafka keeps retrying until "
        "message.timeout.ms); is the broker reachable?",
        kafka_error=KafkaError(KafkaError._MSG_TIMED_OUT, "no acknowledgement in time"),
        topic=outgoing.topic,
        key=outgoing.key,
    )


def _outcome(
    outgoing: _Outgoing,
    error: KafkaError | None,
    message: Message | None,
    producer: Producer,
    connection: Connection,
) -> DeliveryResult:
    """Turn a delivery report into a ``DeliveryResult`` or a ``ProducerError``."""
    if error is not None or message is None:
        if error is not None and is_producer_broken(error):
            _mark_broken(producer)
        written = (
            " (it may have been written)" if error is None or may_have_been_written(error) else ""
        )
        raise ProducerError(
            f"delivery to {outgoing.topic!r} failed: "
            f"{describe_error(error) if error is not None else 'no report'}{written}",
            kafka_error=error,
            topic=outgoing.topic,
            key=outgoing.key,
        )
    kind, stamp = message.timestamp()
    return DeliveryResult(
        topic=message.topic() or outgoing.topic,
        partition=_int(message.partition()),
        offset=_int(message.offset()),
        timestamp=stamp if kind else None,
        key=message.key(),
    )


def _int(value: int | None) -> int:
    return -1 if value is None else value


class _Waiter:
    """Per-message delivery callback that wakes the thread blocked in ``produce``."""

    __slots__ = ("done", "error", "message")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: KafkaError | None = None
        self.message: Message | None = None

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        self.error, self.message = error, message
        self.done.set()


class _FutureReport:
    """Per-message delivery callback resolving an asyncio future on its own loop."""

    __slots__ = ("future", "loop")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[tuple[KafkaError | None, Message]],
    ) -> None:
        self.loop, self.future = loop, future

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        # RuntimeError: the loop is closed, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_settle, self.future, error, message)


def _settle(
    future: asyncio.Future[tuple[KafkaError | None, Message]],
    error: KafkaError | None,
    message: Message,
) -> None:
    if not future.done():  # it may have timed out or been cancelled meanwhile
        future.set_result((error, message))


class _NowaitReport:
    """Delivery callback of ``produce_nowait``: notes a broken producer, then calls the user's."""

    __slots__ = ("callback", "producer")

    def __init__(self, callback: DeliveryCallback | None, producer: Producer) -> None:
        self.callback, self.producer = callback, producer

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is not None and is_producer_broken(error):
            _mark_broken(self.producer)
        if self.callback is not None:
            self.callback(error, message)


# ---------------------------------------------------------------- broken shared producers

# Shared producers that reported PRODUCER_FENCED or a fatal error. Tansu 0.6 fences an
# idempotent producer after any message timeout and never accepts it again, so the next
# produce asks the connection for a fresh producer.
_broken: weakref.WeakSet[Producer] = weakref.WeakSet()
_broken_lock = threading.Lock()


def _mark_broken(producer: Producer) -> None:
    with _broken_lock:
        _broken.add(producer)


def _shared_producer(connection: Connection) -> Producer:
    """Return the connection's shared producer, replacing it first if it is known broken."""
    producer = connection.producer
    if producer not in _broken:
        return producer
    replace = getattr(connection, "replace_producer", None)
    if not callable(replace):
        logger.error(
            "the shared Kafka producer was fenced or hit a fatal error and this connection "
            "cannot replace it; call flowodm.connect(...) again to get a fresh producer"
        )
        return producer
    with _broken_lock:
        _broken.discard(producer)
    replace(producer)
    return connection.producer
