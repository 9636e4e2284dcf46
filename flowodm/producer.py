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

Every call takes ``topic=`` to write elsewhere than ``Settings.topic`` (the codec, and so the
subject, follows it); ``produce_many`` also takes ``headers=`` (sent with every message) and
``keys=`` (one per model, instead of ``Settings.key_field``).

Every failure is a FlowODM error: ``SettingsError``/``SerializationError``/
``SchemaRegistryError`` before anything is sent, ``ProducerError`` (with ``kafka_error``) when
Kafka refuses, ``DeliveryTimeoutError`` when no acknowledgement arrives in time. A timeout
quotes the producer's last client error (``client_error``, e.g. a failed SASL handshake),
which librdkafka itself only logs.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from confluent_kafka import KafkaError, Message, Producer

from flowodm._delivery_reports import (
    FutureReport,
    NowaitReport,
    Waiter,
    mark_broken,
    shared_producer,
)
from flowodm._poller import POLLER_THREAD_NAME
from flowodm.bulk import CAUSE_WINDOW, BulkSender, Headers
from flowodm.delivery import (
    UNSET,
    BulkResult,
    ClientErrorReport,
    DeliveryResult,
    FailedMessage,
    ProduceManyResult,
    describe_error,
    is_producer_broken,
    may_have_been_written,
)
from flowodm.exceptions import (
    BulkDeliveryTimeoutError,
    PartialDeliveryError,
    ProducerError,
    SerializationError,
)
from flowodm.outgoing import (
    DeliveryCallback,
    Outgoing,
    Timestamp,
    check_headers,
    check_partition,
    timestamp_ms,
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

M = TypeVar("M", bound="BaseModel")

# Waiting for room in a full local queue: short naps while the poller thread drains it.
_FULL_QUEUE_NAP = 0.01


def prepare(
    obj: BaseModel,
    *,
    key: Any = UNSET,
    headers: Headers | None = None,
    partition: int | None = None,
    timestamp: Timestamp = None,
    topic: str | None = None,
    connection: Connection | None = None,
) -> Outgoing:
    """Encode ``obj`` (value, key) and check the produce arguments, sending nothing.

    ``topic`` overrides ``Settings.topic`` (the subject follows it under the topic strategies).

    Raises:
        SettingsError: the model has no topic (and none is given).
        SerializationError: the value or key cannot be encoded.
        SchemaRegistryError: the schema id could not be resolved.
        ProducerError: ``partition``, ``timestamp``, ``headers`` or ``topic`` have a wrong type.
    """
    codec = _codec(type(obj), _connection(connection, type(obj), topic), topic)
    topic = codec.topic
    value = codec.value_bytes(obj)
    key_bytes = codec.key_of(obj) if key is UNSET else codec.key_bytes(key)
    return Outgoing(
        topic=topic,
        value=value,
        key=key_bytes,
        partition=check_partition(partition, topic),
        timestamp=timestamp_ms(timestamp, topic),
        headers=check_headers(headers, topic),
    )


def produce(
    obj: BaseModel,
    *,
    key: Any = UNSET,
    headers: Headers | None = None,
    partition: int | None = None,
    timestamp: Timestamp = None,
    timeout: float | None = None,
    topic: str | None = None,
    connection: Connection | None = None,
) -> DeliveryResult:
    """Produce ``obj`` and block until the broker acknowledged it (see ``FlowBaseModel``)."""
    if threading.current_thread().name == POLLER_THREAD_NAME:
        raise ProducerError(
            "produce() cannot wait for an acknowledgement inside a delivery callback (the "
            "callback thread is the one that would deliver it); use produce_nowait() there"
        )
    conn = _connection(connection, type(obj), topic)
    outgoing = prepare(
        obj,
        key=key,
        headers=headers,
        partition=partition,
        timestamp=timestamp,
        topic=topic,
        connection=conn,
    )
    wait = _timeout(timeout, conn)
    started = time.monotonic()
    deadline = started + wait
    waiter = Waiter()
    producer = shared_producer(conn)
    _enqueue_when_room(outgoing, producer, waiter, deadline, wait)
    if not waiter.done.wait(max(0.0, deadline - time.monotonic())):
        raise outgoing.no_ack(wait, _client_cause(producer, started))
    return _outcome(outgoing, waiter.error, waiter.message, producer, started)


def produce_nowait(
    obj: BaseModel,
    *,
    key: Any = UNSET,
    headers: Headers | None = None,
    partition: int | None = None,
    timestamp: Timestamp = None,
    callback: DeliveryCallback | None = None,
    topic: str | None = None,
    connection: Connection | None = None,
) -> None:
    """Enqueue ``obj`` and return at once; ``callback(err, msg)`` runs on the poller thread."""
    conn = _connection(connection, type(obj), topic)
    outgoing = prepare(
        obj,
        key=key,
        headers=headers,
        partition=partition,
        timestamp=timestamp,
        topic=topic,
        connection=conn,
    )
    wait = conn.config.produce_timeout
    producer = shared_producer(conn)
    report = NowaitReport(callback, producer)
    _enqueue_when_room(outgoing, producer, report, time.monotonic() + wait, wait)


async def aproduce(
    obj: BaseModel,
    *,
    key: Any = UNSET,
    headers: Headers | None = None,
    partition: int | None = None,
    timestamp: Timestamp = None,
    timeout: float | None = None,
    topic: str | None = None,
    connection: Connection | None = None,
) -> DeliveryResult:
    """Produce ``obj`` and await its acknowledgement without blocking the event loop."""
    conn = _connection(connection, type(obj), topic)
    codec = _codec(type(obj), conn, topic)
    if codec not in _resolved_codecs:
        # The registry round trip (once per model class) must not block the event loop.
        await asyncio.to_thread(_resolve, codec)
    # Encoding is CPU work of a few microseconds: done inline, it keeps the call order and
    # avoids a thread hop per message.
    outgoing = prepare(
        obj,
        key=key,
        headers=headers,
        partition=partition,
        timestamp=timestamp,
        topic=topic,
        connection=conn,
    )
    wait = _timeout(timeout, conn)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    deadline = loop.time() + wait
    future: asyncio.Future[tuple[KafkaError | None, Message]] = loop.create_future()
    producer = shared_producer(conn)
    on_delivery = FutureReport(loop, future)
    while not outgoing.enqueue(producer, on_delivery):
        if loop.time() >= deadline:
            raise outgoing.queue_full_error(wait, _client_cause(producer, started))
        await asyncio.sleep(_FULL_QUEUE_NAP)
    try:
        error, message = await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
    except TimeoutError:
        raise outgoing.no_ack(wait, _client_cause(producer, started)) from None
    return _outcome(outgoing, error, message, producer, started)


def produce_many(
    model_cls: type[M],
    models: Iterable[M],
    *,
    timeout: float | None = None,
    stall_timeout: float | None = None,
    raise_on_error: bool = True,
    progress: ProgressOption = False,
    topic: str | None = None,
    headers: Headers | None = None,
    keys: Sequence[Any] | None = None,
    connection: Connection | None = None,
) -> ProduceManyResult[M]:
    """Produce many models of one class; see ``FlowBaseModel.produce_many``."""
    conn = _connection(connection, model_cls, topic)
    wait = _timeout(timeout, conn)
    stall = wait if stall_timeout is None else _timeout(stall_timeout, conn)
    codec = _codec(model_cls, conn, topic)
    target = codec.topic
    items = list(models)
    checked_headers = check_headers(headers, target)
    values, key_bytes = _encode_all(codec, items, keys)
    bar = DeliveryProgress(
        open_progress(progress, total=len(items), desc=f"produce {target}", unit="msg")
    )
    sender: BulkSender[int] = BulkSender(
        conn,
        target,
        timeout=wait,
        stall_timeout=stall,
        on_acked=bar.acked,
    )
    try:
        sender.send_many(values, key_bytes, range(len(values)), checked_headers)
        bulk = sender.close()
    except BulkDeliveryTimeoutError as exc:
        result = _many_result(target, exc.result, items)
        raise BulkDeliveryTimeoutError(
            f"{exc} ({result.summary()})",
            result=result,
            topic=target,
            client_error=exc.client_error,
        ) from None
    except BaseException:
        sender.abort()  # e.g. KeyboardInterrupt: do not leave a half-used producer behind
        raise
    finally:
        bar.counts(invalid=0, failed=len(sender.failed))
        bar.close()
    result = _many_result(target, bulk, items)
    if raise_on_error and result.failed:
        cause = sender.client_error if _any_timed_out(result) else None
        why = f" The client last reported {cause.describe()}." if cause is not None else ""
        raise PartialDeliveryError(
            f"{result.summary()}.{why}", result=result, topic=target, client_error=cause
        )
    return result


async def aproduce_many(
    model_cls: type[M],
    models: Iterable[M],
    *,
    timeout: float | None = None,
    stall_timeout: float | None = None,
    raise_on_error: bool = True,
    progress: ProgressOption = False,
    topic: str | None = None,
    headers: Headers | None = None,
    keys: Sequence[Any] | None = None,
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
        progress=progress,
        topic=topic,
        headers=headers,
        keys=keys,
        connection=connection,
    )


# ---------------------------------------------------------------------------- helpers


def _connection(
    connection: Connection | None, model_cls: type | None = None, topic: str | None = None
) -> Connection:
    """The given connection or the current one; a model without topic fails first."""
    if model_cls is not None:
        if topic is None:
            _require_topic(model_cls)
        else:
            _check_topic(topic)
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


def _check_topic(topic: object) -> None:
    """Refuse a ``topic=`` override that is not a non-empty str."""
    if not isinstance(topic, str) or not topic.strip():
        raise ProducerError(f"topic must be a non-empty str or None, got {topic!r}")


def _codec(model_cls: type[M], connection: Connection, topic: str | None) -> ModelCodec[M]:
    """The codec of ``model_cls`` for ``connection``, writing to ``topic`` when it is given."""
    return get_model_codec(model_cls, connection, topic=topic)


def _client_cause(producer: Producer, since: float) -> ClientErrorReport | None:
    """The producer's last client error, if it was reported about when ``since`` began."""
    log = getattr(producer, "error_log", None)
    last: ClientErrorReport | None = None if log is None else log.last
    if last is None or last.at < since - CAUSE_WINDOW:
        return None
    return last


def _any_timed_out(result: ProduceManyResult[Any]) -> bool:
    return any(f.kafka_error.code() == KafkaError._MSG_TIMED_OUT for f in result.failed)


def _timeout(timeout: float | None, connection: Connection) -> float:
    """The given timeout (checked), or the connection's ``produce_timeout``."""
    if timeout is None:
        return connection.config.produce_timeout
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def _encode_all(
    codec: ModelCodec[M], items: list[M], keys: Sequence[Any] | None = None
) -> tuple[list[bytes], list[bytes | None] | None]:
    """Encode every model (values and keys) before anything is sent.

    ``keys`` (one per model) override ``Settings.key_field``; ``None`` entries mean no key.

    Raises:
        SerializationError: ``models[i]`` or ``keys[i]`` cannot be serialized (nothing was
            sent).
        SchemaRegistryError: the schema id could not be resolved.
        ProducerError: ``keys`` is not a sequence with one entry per model.
    """
    if keys is not None and (isinstance(keys, str | bytes) or len(keys) != len(items)):
        size = len(keys) if not isinstance(keys, str | bytes) else "a str/bytes, not a list of"
        raise ProducerError(
            f"keys must hold one key per model: got {size} keys for {len(items)} models",
            topic=codec.topic,
        )
    out: list[bytes | None] | None = None
    label = "models"
    try:
        values = codec.values_bytes(items, label="models")
        if keys is not None:
            label, out = "keys", []
            key_bytes = codec.key_bytes
            for key in keys:
                out.append(key_bytes(key))
        elif codec.settings.key_field is not None:
            out = []
            key_of = codec.key_of
            for obj in items:
                out.append(key_of(obj))
    except SerializationError as exc:
        where = "" if out is None else f"{label}[{len(out)}] cannot be serialized: "
        raise type(exc)(
            f"{where}{exc} (nothing was sent)", model=exc.model, field=exc.field
        ) from exc
    return values, out


def _many_result(topic: str, bulk: BulkResult[int], items: list[M]) -> ProduceManyResult[M]:
    failed = sorted(
        (FailedMessage(f.ref, items[f.ref], f.kafka_error, f.maybe_written) for f in bulk.failed),
        key=lambda failure: failure.index,
    )
    return ProduceManyResult(topic=topic, delivered=bulk.delivered, failed=failed)


def _enqueue_when_room(
    outgoing: Outgoing,
    producer: Producer,
    on_delivery: DeliveryCallback,
    deadline: float,
    wait: float,
) -> None:
    """Enqueue, napping while the poller thread drains a full local queue (until ``deadline``).

    Raises:
        ProducerError: the queue stayed full until ``deadline``, or Kafka refused the message.
    """
    while not outgoing.enqueue(producer, on_delivery):
        if time.monotonic() >= deadline:
            raise outgoing.queue_full_error(wait, _client_cause(producer, deadline - wait))
        time.sleep(_FULL_QUEUE_NAP)


def _outcome(
    outgoing: Outgoing,
    error: KafkaError | None,
    message: Message | None,
    producer: Producer,
    started: float,
) -> DeliveryResult:
    """Turn a delivery report into a ``DeliveryResult`` or a ``ProducerError``.

    A timed-out message quotes the producer's last client error (reported since about
    ``started``): librdkafka only says "timed out", the client error says why.
    """
    if error is not None or message is None:
        if error is not None and is_producer_broken(error):
            mark_broken(producer)
        maybe = error is None or may_have_been_written(error)
        written = "it may have been written" if maybe else "it was not written"
        cause = None
        if error is not None and error.code() == KafkaError._MSG_TIMED_OUT:
            cause = _client_cause(producer, started)
        why = f"; the client last reported {cause.describe()}" if cause is not None else ""
        raise ProducerError(
            f"delivery to {outgoing.topic!r} failed: "
            f"{describe_error(error) if error is not None else 'no report'}{why} ({written})",
            kafka_error=error,
            topic=outgoing.topic,
            key=outgoing.key,
            client_error=cause,
        )
    return outgoing.delivered(message)
