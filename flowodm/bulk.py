"""``BulkSender``: produce many pre-encoded messages with no Python work per acknowledgement.

Why it is fast: its producer is configured with ``delivery.report.only.error=true`` and one
global error callback, so librdkafka runs no Python for a message that is delivered. The number
acknowledged is derived from the producer's queue length::

    delivered = enqueued - len(producer) - failures served

and failures are mapped back to the caller's ``ref`` through a map from ``(key, value)`` bytes
to refs. That map only holds the in-flight window: it is cleared whenever the queue drains to
zero, and a drain is forced when it grows past ``max_tracked`` entries, so memory stays bounded.

Why it is safe: the producer's ``message.timeout.ms`` is set from ``timeout``, so librdkafka
reports every message within that time; if nothing completes for ``stall_timeout`` seconds the
sender purges what is outstanding and raises ``BulkDeliveryTimeoutError``, reporting those
messages as "failed, may have been written". A producer that reports ``PRODUCER_FENCED`` or a
fatal error (Tansu fences an idempotent producer after any timeout) is replaced by a new one.

All callbacks run on the thread that calls ``send``/``poll``/``close``; the sender is not
thread-safe and is meant to be used by one thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from flowodm.delivery import (
    BulkResult,
    FailedDelivery,
    describe_error,
    is_producer_broken,
    may_have_been_written,
)
from flowodm.exceptions import BulkDeliveryTimeoutError, ProducerError

__all__ = ["BulkSender", "ProducerFactory", "discard_pooled_producers"]

RefT = TypeVar("RefT")

Headers = dict[str, str | bytes | None] | list[tuple[str, str | bytes | None]]

# Housekeeping (serve error reports, report progress, prune the map) runs every this many sends.
_MAINTAIN_EVERY = 1024
# How long one wait step polls; short enough to notice progress and stalls promptly.
_POLL_STEP = 0.05
# After a stall, how long to wait for the purge reports of outstanding messages.
_PURGE_WAIT = 5.0


class ProducerFactory(Protocol):
    """What ``BulkSender`` needs from a connection: a fresh producer with extra settings."""

    def new_producer(self, extra: dict[str, Any] | None = None) -> Producer:
        """Return a new confluent ``Producer`` with the connection's settings plus ``extra``."""
        ...


_MISSING = object()
# Idle producers kept per (connection, message timeout); more are created on demand.
_POOL_SIZE = 2


class _Route:
    """A pooled producer's global error callback, pointed at the sender currently using it."""

    __slots__ = ("sender",)

    def __init__(self) -> None:
        self.sender: BulkSender[Any] | None = None

    def __call__(self, error: KafkaError, message: Message) -> None:
        sender = self.sender
        if sender is not None:
            sender._on_error(error, message)


class _ProducerPool:
    """Idle bulk producers per connection, so each bulk send does not pay a producer's start.

    An idempotent producer needs ~0.5 s before its first delivery (librdkafka waits on a timer
    to acquire a producer id), which would dominate small ``produce_many`` calls.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: weakref.WeakKeyDictionary[Any, dict[int, list[tuple[Producer, _Route]]]]
        self._idle = weakref.WeakKeyDictionary()

    def take(self, connection: ProducerFactory, timeout_ms: int) -> tuple[Producer, _Route]:
        """Return an idle producer for ``connection``, or a new one."""
        with self._lock:
            try:
                if getattr(connection, "closed", False):
                    self._idle.pop(connection, None)
                idle = self._idle.get(connection, {}).get(timeout_ms)
            except TypeError:  # an unhashable or non-weakrefable connection: no pooling
                idle = None
            if idle:
                return idle.pop()
        route = _Route()
        producer = connection.new_producer(
            {
                "delivery.report.only.error": True,
                "on_delivery": route,
                "message.timeout.ms": timeout_ms,
            }
        )
        return producer, route

    def give_back(
        self, connection: ProducerFactory, timeout_ms: int, producer: Producer, route: _Route
    ) -> None:
        """Keep a drained, healthy producer for the next sender (up to ``_POOL_SIZE``)."""
        with self._lock:
            try:
                idle = self._idle.setdefault(connection, {}).setdefault(timeout_ms, [])
            except TypeError:
                return
            if len(idle) < _POOL_SIZE:
                idle.append((producer, route))

    def discard(self, connection: ProducerFactory) -> None:
        """Drop every idle producer of ``connection`` (call when the connection closes)."""
        with self._lock, contextlib.suppress(TypeError):
            self._idle.pop(connection, None)


_POOL = _ProducerPool()


def discard_pooled_producers(connection: ProducerFactory) -> None:
    """Drop the idle bulk producers kept for ``connection`` (its ``close()`` should call this)."""
    _POOL.discard(connection)


class _Refs(list[Any]):
    """Refs of identical ``(key, value)`` messages in flight at the same time (rare)."""


class BulkSender(Generic[RefT]):
    """Produce many pre-encoded messages to one topic and account for every one of them.

    Args:
        connection: Supplies producers (``Connection.new_producer``).
        topic: Topic every message goes to.
        timeout: Seconds librdkafka may take to deliver each message (``message.timeout.ms``);
            a message not acknowledged by then fails with ``_MSG_TIMED_OUT``.
        stall_timeout: Seconds without a single completed delivery (while messages are
            outstanding) after which the sender gives up and raises.
        on_acked: Called with the number of NEWLY acknowledged messages whenever that number
            grows (e.g. ``tqdm.update``); runs on the calling thread.
        max_tracked: Bound on the failure-mapping window (exceeded by at most 25%); past it
            ``send`` waits for the producer to drain before tracking more.

    Example::

        sender = BulkSender(conn, "orders", timeout=30, stall_timeout=30)
        for i, (key, value) in enumerate(pairs):
            sender.send(value, key, i)
        result = sender.close()   # BulkResult(delivered=..., failed=[FailedDelivery(...)])
    """

    def __init__(
        self,
        connection: ProducerFactory,
        topic: str,
        *,
        timeout: float,
        stall_timeout: float,
        on_acked: Callable[[int], None] | None = None,
        max_tracked: int = 100_000,
    ) -> None:
        if timeout <= 0 or stall_timeout <= 0:
            raise ValueError(
                f"timeout and stall_timeout must be positive seconds "
                f"(got timeout={timeout!r}, stall_timeout={stall_timeout!r})"
            )
        self.topic = topic
        self.timeout = timeout
        self.stall_timeout = stall_timeout
        self._connection = connection
        self._on_acked = on_acked
        self._max_tracked = max_tracked
        # Housekeeping often enough that the map never exceeds max_tracked by more than 25%.
        self._maintain_every = max(1, min(_MAINTAIN_EVERY, max_tracked // 4))
        self._inflight: dict[tuple[Any, ...], Any] = {}
        self._failed: list[FailedDelivery[RefT]] = []
        self._enqueued = 0  # messages accepted by a producer's queue
        self._report_failures = 0  # failures served from delivery reports (part of _enqueued)
        self._acked_reported = 0
        self._since_maintenance = 0
        self._stalled = False
        self._replace_producer = False
        self._retired: list[Producer] = []
        self._result: BulkResult[RefT] | None = None
        self._last_completed = 0
        self._last_progress = time.monotonic()
        self._route = _Route()
        self._producer: Producer | None = self._new_producer()

    # ---------------------------------------------------------------- sending

    def send(
        self,
        value: bytes,
        key: bytes | None,
        ref: RefT,
        headers: Headers | None = None,
        partition: int | None = None,
    ) -> None:
        """Enqueue one message; ``ref`` identifies it in the result if it fails.

        A message librdkafka rejects at once (e.g. ``MSG_SIZE_TOO_LARGE``) is recorded as a
        failure, not raised. A full local queue is waited out (bounded by ``stall_timeout``).

        Raises:
            BulkDeliveryTimeoutError: the queue stayed full with no delivery progress for
                ``stall_timeout`` seconds (outstanding messages were purged and reported).
            ProducerError: the sender is closed, or librdkafka refused the arguments.
        """
        producer = self._producer
        if producer is None:
            raise ProducerError(
                "this BulkSender is closed; create a new one to send more", topic=self.topic
            )
        try:
            if headers is None and partition is None:
                producer.produce(self.topic, value, key)
            else:
                producer.produce(
                    self.topic,
                    value,
                    key,
                    -1 if partition is None else partition,
                    headers=headers,
                )
        except BufferError:
            if not self._send_when_room(value, key, ref, headers, partition):
                return
        except KafkaException as exc:
            self._record_rejected(ref, exc)
            return
        except (TypeError, ValueError) as exc:
            raise ProducerError(
                f"cannot produce message {ref!r} to {self.topic!r}: {exc}", topic=self.topic
            ) from exc
        self._enqueued += 1
        # An explicit partition is part of the identity, so identical payloads sent to
        # different partitions are told apart when one of them fails.
        pair: tuple[Any, ...] = (key, value) if partition is None else (key, value, partition)
        inflight = self._inflight
        if pair in inflight:
            self._track_duplicate(pair, ref)
        else:
            inflight[pair] = ref
        self._since_maintenance += 1
        if self._since_maintenance >= self._maintain_every:
            self._maintain()

    def poll(self, timeout: float = 0.0) -> int:
        """Serve pending error reports, report progress, and return the acknowledged count."""
        self._require_open()
        self._serve(timeout)
        self._maintain()
        return self._acked()

    def close(self) -> BulkResult[RefT]:
        """Wait until every message is acknowledged or failed, and return the outcome.

        Returns within about ``timeout`` seconds of the last ``send`` (librdkafka fails any
        message not acknowledged by then), or earlier by raising on a stall. Calling it again
        returns the same result.

        Raises:
            BulkDeliveryTimeoutError: nothing completed for ``stall_timeout`` seconds; the
                exception's ``result`` lists outstanding messages as ``maybe_written``.
        """
        if self._result is not None:
            return self._result
        self._drain()
        return self._finish()

    def abort(self) -> BulkResult[RefT]:
        """Purge whatever is outstanding (reported as failed, maybe written) and close."""
        if self._result is not None:
            return self._result
        self._stalled = True
        self._purge()
        return self._finish()

    @property
    def delivered(self) -> int:
        """Number of messages acknowledged so far (as of the last housekeeping)."""
        return self._acked()

    @property
    def failed(self) -> list[FailedDelivery[RefT]]:
        """Failures recorded so far (a copy)."""
        return list(self._failed)

    # ---------------------------------------------------------------- callbacks

    def _on_error(self, error: KafkaError, message: Message) -> None:
        """Global delivery callback: only failures reach it (``delivery.report.only.error``)."""
        self._report_failures += 1
        key, value = message.key(), message.value()
        ref = self._untrack((key, value, message.partition()), (key, value))
        maybe = True if self._stalled else may_have_been_written(error)
        self._failed.append(FailedDelivery(ref, error, maybe))
        if is_producer_broken(error):
            self._replace_producer = True

    # ---------------------------------------------------------------- bookkeeping

    def _track_duplicate(self, pair: tuple[Any, ...], ref: RefT) -> None:
        existing = self._inflight[pair]
        if isinstance(existing, _Refs):
            existing.append(ref)
        else:
            self._inflight[pair] = _Refs((existing, ref))

    def _untrack(self, *candidates: tuple[Any, ...]) -> Any:
        """Pop the ref of a failed message; identical messages are interchangeable (FIFO)."""
        inflight = self._inflight
        for pair in candidates:
            entry = inflight.get(pair, _MISSING)
            if entry is _MISSING:
                continue
            if isinstance(entry, _Refs):
                ref = entry.pop(0)
                if len(entry) == 1:
                    inflight[pair] = entry[0]
                return ref
            del inflight[pair]
            return entry
        # Cannot happen while the map is only pruned at an empty queue; ``None`` keeps the
        # failure counted even if a caller passed a non-bytes value (msg.value() is bytes).
        return None

    def _producers(self) -> list[Producer]:
        current = [self._producer] if self._producer is not None else []
        return current + self._retired

    def _outstanding(self) -> int:
        return sum(len(p) for p in self._producers())

    def _acked(self) -> int:
        return self._enqueued - self._outstanding() - self._report_failures

    def _serve(self, timeout: float) -> None:
        """Poll every producer (serving error reports) and drop retired ones that drained."""
        if self._retired:
            for old in self._retired:
                old.poll(0)
            self._retired = [old for old in self._retired if len(old)]
        if self._producer is not None:
            self._producer.poll(timeout)

    def _maintain(self) -> None:
        """Serve errors, swap a broken producer, report progress and bound the map."""
        self._since_maintenance = 0
        self._serve(0)
        self._swap_broken_producer()
        outstanding = self._outstanding()
        self._note_progress(outstanding)
        if outstanding == 0:
            self._inflight.clear()
        elif len(self._inflight) >= self._max_tracked:
            self._drain()

    def _note_progress(self, outstanding: int) -> None:
        """Report newly acknowledged messages and raise if nothing completed for too long."""
        completed = self._enqueued - outstanding
        now = time.monotonic()
        if completed > self._last_completed or outstanding == 0:
            self._last_completed = completed
            self._last_progress = now
        elif now - self._last_progress > self.stall_timeout:
            self._raise_stalled(outstanding)
        acked = completed - self._report_failures
        if self._on_acked is not None and acked > self._acked_reported:
            self._on_acked(acked - self._acked_reported)
        self._acked_reported = max(self._acked_reported, acked)

    def _drain(self) -> None:
        """Wait until no message is outstanding, then forget the in-flight map."""
        while True:
            self._serve(_POLL_STEP)
            self._swap_broken_producer()
            outstanding = self._outstanding()
            self._note_progress(outstanding)
            if outstanding == 0:
                self._inflight.clear()
                return

    def _send_when_room(
        self,
        value: bytes,
        key: bytes | None,
        ref: RefT,
        headers: Headers | None,
        partition: int | None,
    ) -> bool:
        """Retry a produce refused with a full queue; return whether it was enqueued."""
        while True:
            self._serve(_POLL_STEP)
            self._note_progress(self._outstanding())
            producer = self._producer
            if producer is None:  # pragma: no cover - only _finish closes, and it raises
                raise ProducerError("this BulkSender is closed", topic=self.topic)
            try:
                producer.produce(
                    self.topic, value, key, -1 if partition is None else partition, headers=headers
                )
                return True
            except BufferError:
                continue
            except KafkaException as exc:
                self._record_rejected(ref, exc)
                return False

    def _record_rejected(self, ref: RefT, exc: KafkaException) -> None:
        """Record a message librdkafka refused synchronously (never enqueued, never written)."""
        error: KafkaError = exc.args[0]
        self._failed.append(FailedDelivery(ref, error, may_have_been_written(error)))

    # ---------------------------------------------------------------- giving up

    def _raise_stalled(self, outstanding: int) -> None:
        self._stalled = True
        self._purge()
        unaccounted = self._outstanding()
        result = self._finish()
        extra = f"; {unaccounted} more gave no report even after a purge" if unaccounted else ""
        raise BulkDeliveryTimeoutError(
            f"no delivery to {self.topic!r} completed for {self.stall_timeout:g} s with "
            f"{outstanding} messages outstanding (is the broker down or stalled?); "
            f"{result.delivered} were acknowledged, {len(result.failed)} are reported failed, "
            f"of which those not acknowledged may still have been written{extra}",
            result=result,
            topic=self.topic,
        )

    def _purge(self) -> None:
        """Purge queued and in-flight messages so each gets a (failure) report, then serve."""
        for producer in self._producers():
            producer.purge(in_queue=True, in_flight=True, blocking=False)
        deadline = time.monotonic() + _PURGE_WAIT
        while self._outstanding() and time.monotonic() < deadline:
            self._serve(_POLL_STEP)

    def _finish(self) -> BulkResult[RefT]:
        # Computed before the producers are dropped: a message still queued is not delivered.
        result = BulkResult(delivered=self._acked(), failed=list(self._failed))
        if self._on_acked is not None and result.delivered > self._acked_reported:
            self._on_acked(result.delivered - self._acked_reported)
            self._acked_reported = result.delivered
        self._result = result
        producer, route = self._producer, self._route
        route.sender = None
        # A drained, healthy producer goes back to the pool (an idempotent producer costs
        # ~0.5 s to start); one that stalled, was purged or broke is dropped.
        healthy = not self._stalled and not self._replace_producer
        if producer is not None and healthy and len(producer) == 0:
            _POOL.give_back(self._connection, self._producer_key(), producer, route)
        self._producer = None
        self._retired = []
        self._inflight.clear()
        return result

    def _require_open(self) -> None:
        if self._producer is None:
            raise ProducerError("this BulkSender is closed", topic=self.topic)

    def _swap_broken_producer(self) -> None:
        """Replace a producer that reported PRODUCER_FENCED or a fatal error; keep serving it."""
        if self._replace_producer and self._producer is not None:
            # The old producer keeps its route to this sender: its queued messages still
            # report (as failures) and must be accounted for.
            self._retired.append(self._producer)
            self._producer = self._new_producer()
            self._replace_producer = False

    def _producer_key(self) -> int:
        return max(1, round(self.timeout * 1000))

    def _new_producer(self) -> Producer:
        producer, route = _POOL.take(self._connection, self._producer_key())
        route.sender = self
        self._route = route
        return producer

    def __repr__(self) -> str:
        state = "closed" if self._result is not None else "open"
        return (
            f"BulkSender(topic={self.topic!r}, {state}, enqueued={self._enqueued}, "
            f"failed={len(self._failed)})"
        )


def describe_failures(failed: list[FailedDelivery[Any]], limit: int = 5) -> str:
    """Return ``ref: NAME: reason`` for up to ``limit`` failures, for error messages."""
    shown = "; ".join(f"{f.ref!r}: {describe_error(f.kafka_error)}" for f in failed[:limit])
    more = f"; and {len(failed) - limit} more" if len(failed) > limit else ""
    return shown + more
