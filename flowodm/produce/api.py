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

Their keyword options are declared once, in ``flowodm._types`` (``ProduceOptions``,
``NowaitOptions``, ``BatchOptions``), and a keyword none of them has is refused with
``ArgumentTypeError`` naming the closest one. Every call takes ``topic=`` to write elsewhere
than ``Settings.topic`` (the codec, and so the subject, follows it); ``produce_many`` also takes
``headers=`` (sent with every message) and ``keys=`` (one per model, instead of
``Settings.key_field``).

Every failure is a FlowODM error: ``SettingsError``/``SerializationError``/
``SchemaRegistryError`` before anything is sent, ``ProducerError`` (with ``kafka_error``) when
Kafka refuses, ``DeliveryTimeoutError`` when no acknowledgement arrives in time. A timeout
quotes the producer's last client error (``client_error``, e.g. a failed SASL handshake),
which librdkafka itself only logs.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from confluent_kafka import KafkaError, Message, Producer

from flowodm._arguments import positive_seconds, reject_unknown
from flowodm._types import (
    UNSET,
    BatchOptions,
    DeliveryCallback,
    MessageOptions,
    NowaitOptions,
    ProduceOptions,
)
from flowodm.exceptions import (
    ArgumentTypeError,
    BulkDeliveryTimeoutError,
    InvalidArgumentError,
    PartialDeliveryError,
    ProducerError,
    SerializationError,
)
from flowodm.kafka.connection import Connection, get_connection
from flowodm.kafka.errors import (
    ClientErrorReport,
    describe_error,
    is_producer_broken,
    may_have_been_written,
)
from flowodm.kafka.poller import POLLER_THREAD_NAME
from flowodm.produce.bulk import CAUSE_WINDOW, BulkSender
from flowodm.produce.interrupt import ProduceInterrupted, interrupt_of
from flowodm.produce.message import Outgoing, check_headers, check_partition, timestamp_ms
from flowodm.produce.reports import FutureReport, NowaitReport, Waiter, mark_broken, shared_producer
from flowodm.produce.results import BulkResult, DeliveryResult, FailedMessage, ProduceManyResult
from flowodm.progress import DeliveryProgress, open_progress
from flowodm.serde.model_codec import ModelCodec, get_model_codec
from flowodm.settings import display_name, settings_of

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "aproduce",
    "aproduce_many",
    "produce",
    "produce_many",
    "produce_nowait",
]

M = TypeVar("M", bound="BaseModel")

# Waiting for room in a full local queue: short naps while the poller thread drains it.
_FULL_QUEUE_NAP = 0.01

_PRODUCE_OPTIONS = ProduceOptions.__optional_keys__
_NOWAIT_OPTIONS = NowaitOptions.__optional_keys__
_BATCH_OPTIONS = BatchOptions.__optional_keys__


def prepare(
    obj: BaseModel, options: MessageOptions, conn: Connection | None = None
) -> tuple[Connection, Outgoing]:
    """Encode ``obj`` (value, key) and check the produce options, sending nothing.

    ``topic`` overrides ``Settings.topic`` (the subject follows it under the topic strategies).
    ``conn`` is the connection the caller already resolved from the options (else resolved here).

    Raises:
        SettingsError: the model has no topic (and none is given).
        SerializationError: the value or key cannot be encoded.
        SchemaRegistryError: the schema id could not be resolved.
        InvalidArgumentError: ``partition``, ``timestamp``, ``headers`` or ``topic`` are wrong.
    """
    topic = options.get("topic")
    if conn is None:
        conn = _connection(options.get("connection"), type(obj), topic)
    codec = _codec(type(obj), conn, topic)
    target = codec.topic
    key = options.get("key", UNSET)
    outgoing = Outgoing(
        topic=target,
        value=codec.value_bytes(obj),
        key=codec.key_of(obj) if key is UNSET else codec.key_bytes(key),
        partition=check_partition(options.get("partition"), target),
        timestamp=timestamp_ms(options.get("timestamp"), target),
        headers=check_headers(options.get("headers"), target),
    )
    return conn, outgoing


def produce(obj: BaseModel, **options: Unpack[ProduceOptions]) -> DeliveryResult:
    """Produce ``obj`` and block until the broker acknowledged it (see ``FlowBaseModel``)."""
    reject_unknown("produce", options, _PRODUCE_OPTIONS)
    if threading.current_thread().name == POLLER_THREAD_NAME:
        raise ProducerError(
            "produce() cannot wait for an acknowledgement inside a delivery callback (the "
            "callback thread is the one that would deliver it); use produce_nowait() there"
        )
    conn, outgoing = prepare(obj, options)
    wait = _timeout(options.get("timeout"), conn)
    started = time.monotonic()
    deadline = started + wait
    waiter = Waiter()
    producer = shared_producer(conn)
    _enqueue_when_room(outgoing, producer, waiter, deadline, wait)
    if not waiter.done.wait(max(0.0, deadline - time.monotonic())):
        raise outgoing.no_ack(wait, _client_cause(producer, started))
    return _outcome(outgoing, waiter.error, waiter.message, producer, started)


def produce_nowait(obj: BaseModel, **options: Unpack[NowaitOptions]) -> None:
    """Enqueue ``obj`` and return at once; ``callback(err, msg)`` runs on the poller thread."""
    reject_unknown("produce_nowait", options, _NOWAIT_OPTIONS)
    conn, outgoing = prepare(obj, options)
    wait = conn.config.produce_timeout
    producer = shared_producer(conn)
    report = NowaitReport(options.get("callback"), producer)
    _enqueue_when_room(outgoing, producer, report, time.monotonic() + wait, wait)


async def aproduce(obj: BaseModel, **options: Unpack[ProduceOptions]) -> DeliveryResult:
    """Produce ``obj`` and await its acknowledgement without blocking the event loop."""
    reject_unknown("aproduce", options, _PRODUCE_OPTIONS)
    topic = options.get("topic")
    conn = _connection(options.get("connection"), type(obj), topic)
    codec = _codec(type(obj), conn, topic)
    if codec not in _resolved_codecs:
        # The registry round trip (once per model class) must not block the event loop.
        await asyncio.to_thread(_resolve, codec)
    # Encoding is CPU work of a few microseconds: done inline, it keeps the call order and
    # avoids a thread hop per message.
    conn, outgoing = prepare(obj, options, conn)
    wait = _timeout(options.get("timeout"), conn)
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
    model_cls: type[M], models: Iterable[M], **options: Unpack[BatchOptions]
) -> ProduceManyResult[M]:
    """Produce many models of one class; see ``FlowBaseModel.produce_many``."""
    reject_unknown("produce_many", options, _BATCH_OPTIONS)
    topic = options.get("topic")
    conn = _connection(options.get("connection"), model_cls, topic)
    wait = _timeout(options.get("timeout"), conn)
    stall_timeout = options.get("stall_timeout")
    stall = wait if stall_timeout is None else _timeout(stall_timeout, conn)
    codec = _codec(model_cls, conn, topic)
    target = codec.topic
    items = list(models)
    checked_headers = check_headers(options.get("headers"), target)
    values, key_bytes = _encode_all(codec, items, options.get("keys"))
    bar = DeliveryProgress(
        open_progress(
            options.get("progress", False), total=len(items), desc=f"produce {target}", unit="msg"
        )
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
            f"{exc.reason} Outcome: {result.summary()}",
            result=result,
            topic=target,
            client_error=exc.client_error,
            reason=exc.reason,
        ) from None
    except BaseException as exc:
        bulk = sender.abort()  # e.g. Ctrl-C: do not leave a half-used producer behind
        interrupt = interrupt_of(exc)
        if interrupt is None:
            raise
        result = _many_result(target, bulk, items)
        raise _interrupted_many(result, sender.handed, len(items)) from None
    finally:
        bar.counts(invalid=0, failed=len(sender.failed))
        bar.close()
    result = _many_result(target, bulk, items)
    if options.get("raise_on_error", True) and result.failed:
        cause = sender.client_error if _any_timed_out(result) else None
        why = f" The client last reported {cause.describe()}." if cause is not None else ""
        raise PartialDeliveryError(
            f"{result.summary()}.{why}", result=result, topic=target, client_error=cause
        )
    return result


async def aproduce_many(
    model_cls: type[M], models: Iterable[M], **options: Unpack[BatchOptions]
) -> ProduceManyResult[M]:
    """``produce_many`` in a worker thread, so the event loop keeps running meanwhile."""
    reject_unknown("aproduce_many", options, _BATCH_OPTIONS)
    items = list(models)
    return await asyncio.to_thread(functools.partial(produce_many, model_cls, items, **options))


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
    if not isinstance(topic, str):
        raise ArgumentTypeError(f"topic must be a str or None, got {topic!r}", argument="topic")
    if not topic.strip():
        raise InvalidArgumentError(f"topic must not be empty, got {topic!r}", argument="topic")


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
    return positive_seconds("timeout", timeout)


def _encode_all(
    codec: ModelCodec[M], items: list[M], keys: Sequence[Any] | None = None
) -> tuple[list[bytes], list[bytes | None] | None]:
    """Encode every model (values and keys) before anything is sent.

    ``keys`` (one per model) override ``Settings.key_field``; ``None`` entries mean no key.

    Raises:
        SerializationError: ``models[i]`` or ``keys[i]`` cannot be serialized (nothing was
            sent).
        SchemaRegistryError: the schema id could not be resolved.
        InvalidArgumentError: ``keys`` is not a sequence with one entry per model.
    """
    if keys is not None and (isinstance(keys, str | bytes) or len(keys) != len(items)):
        size = len(keys) if not isinstance(keys, str | bytes) else "a str/bytes, not a list of"
        raise InvalidArgumentError(
            f"keys must hold one key per model: got {size} keys for {len(items)} models "
            f"(topic {codec.topic!r})",
            argument="keys",
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


def _interrupted_many(result: ProduceManyResult[M], handed: int, total: int) -> ProduceInterrupted:
    """The ``KeyboardInterrupt`` for a Ctrl-C in ``produce_many``: the result and where to resume.

    ``handed`` models (``models[:handed]``) were given to librdkafka; the rest never were.
    """
    silent = max(0, handed - result.delivered - len(result.failed))
    no_report = (
        f"; {silent} gave no report even after the purge (they may have been written)"
        if silent
        else ""
    )
    error = ProduceInterrupted(
        f"produce_many to {result.topic!r} was interrupted: {result.delivered} of {total} "
        f"models acknowledged, {len(result.failed)} purged or failed{no_report}",
        result=result,
    )
    error.add_note(
        f"To resume, send models[{handed}:] ({total - handed} never sent) and the failed ones "
        "([f.model for f in exc.result.failed]; those 'may have been written' may already be "
        "on the topic). "
        + (
            f"The other models before index {handed} were acknowledged."
            if not silent
            else f"Of the other models before index {handed}, {silent} cannot be told apart "
            "from the acknowledged ones: resend them only if duplicates are acceptable."
        )
    )
    return error


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
