"""``BulkSender``: produce many pre-encoded messages with no Python work per acknowledgement.

Why it is fast: its producer is configured with ``delivery.report.only.error=true`` and one
global error callback, so librdkafka runs no Python for a message that is delivered. The number
acknowledged is derived from the producer's queue length::

    delivered = enqueued - outstanding - failures served

``len(producer)`` counts the messages not yet acknowledged or reported (queued, in flight, or
failed with the report not served yet) plus the events not yet served: failure reports and
client errors (a broker that is down queues one per reconnect attempt). So every producer is
polled (``poll(0)``, serving those events) right before its length is read: ``outstanding`` is
then exact except for events that arrived in the microseconds between the two calls, which can
only make it larger. ``delivered`` is therefore a lower bound that never decreases (it is the
maximum of what it was and what is computed now) and never exceeds ``enqueued - failures``;
it is exact when nothing is outstanding, i.e. after ``close()`` returns normally.

A failure is mapped back to the caller's ``ref`` by its ``(key, value)`` bytes through the
in-flight window (``flowodm.produce.inflight``), which is indexed only when a failure arrives. The
window is forgotten whenever the queue drains to zero, and a drain is forced when it holds more
than ``max_tracked`` messages, so memory stays bounded. Producers are reused across senders
(``flowodm.kafka.pool``): an idempotent producer takes ~0.5 s to start.

Why it is safe: the producer's ``message.timeout.ms`` is set from ``timeout``, so librdkafka
reports every message within that time; if nothing is acknowledged (or refused by the broker)
for ``stall_timeout`` seconds the
sender purges what is outstanding and raises ``BulkDeliveryTimeoutError``. Each purged message
is classified by its report: both ``_PURGE_QUEUE`` and ``_PURGE_INFLIGHT`` are "failed, may
have been written" (a batch whose answer was lost goes back to the local queue for a retry, so
even a queued message may be on the topic). The
error quotes the producers' last client error (``client_error``: a refused connection, a failed
SASL handshake), which is usually why nothing was acknowledged. Timeouts do not count as
progress: a dead broker only times messages out. A producer that reports
``PRODUCER_FENCED`` or a fatal error (Tansu fences an idempotent producer after any timeout) is
replaced by a new one.

Error callbacks and ``on_acked`` run on the thread that calls ``send``/``poll``/``close``; a
sender is meant to be used by one thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from flowodm._types import Headers
from flowodm.exceptions import BulkDeliveryTimeoutError, ProducerError
from flowodm.kafka.clients import FlowProducer
from flowodm.kafka.errors import (
    ClientErrorReport,
    is_producer_broken,
    is_settled,
    may_have_been_written,
)
from flowodm.kafka.pool import POOL, ProducerFactory, Route
from flowodm.produce.inflight import InflightWindow
from flowodm.produce.results import BulkResult, FailedDelivery

__all__ = ["BulkSender", "ProducerFactory"]

RefT = TypeVar("RefT")


# Housekeeping (serve error reports, report progress, prune the window) every this many sends.
_MAINTAIN_EVERY = 1024
# How long one wait step polls at most / at first: short enough to notice progress promptly.
_POLL_STEP = 0.05
_FIRST_STEP = 0.001
# After a stall, how long to wait for the purge reports of outstanding messages.
_PURGE_WAIT = 5.0
# A client error reported this long before a sender started may still explain its failures
# (librdkafka backs off reconnecting for up to 10 s and reports each failed attempt).
CAUSE_WINDOW = 30.0


class BulkSender(Generic[RefT]):
    """Produce many pre-encoded messages to one topic and account for every one of them.

    Args:
        connection: Supplies producers (``Connection.new_producer``).
        topic: Topic every message goes to.
        timeout: Seconds librdkafka may take to deliver each message (``message.timeout.ms``);
            a message not acknowledged by then fails with ``_MSG_TIMED_OUT``.
        stall_timeout: Seconds without a single acknowledged (or refused) message, while
            messages are outstanding, after which the sender gives up and raises.
        on_acked: Called with the number of NEWLY acknowledged messages whenever that number
            grows (e.g. a progress bar's ``update``); runs on the calling thread.
        max_tracked: Messages kept in the in-flight window (exceeded by at most 25%, or by
            one ``send_many`` batch); past it the sender waits for the producer to drain.

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
                "timeout and stall_timeout must be positive seconds "
                f"(got timeout={timeout!r}, stall_timeout={stall_timeout!r})"
            )
        self.topic = topic
        self.timeout = timeout
        self.stall_timeout = stall_timeout
        self._connection = connection
        self._on_acked = on_acked
        self._max_tracked = max_tracked
        self._maintain_every = max(1, min(_MAINTAIN_EVERY, max_tracked // 4))
        self._window = InflightWindow()
        self._failed: list[FailedDelivery[RefT]] = []
        self._enqueued = 0  # messages accepted by a producer's queue
        self._report_failures = 0  # failures served from delivery reports (part of _enqueued)
        self._answered = 0  # of which were answers (``is_settled``): progress, as acks are
        self._maybe = 0  # of which may have been written (a timeout in flight, a lost answer)
        self._acked = 0  # acknowledged so far: monotonic, never above enqueued - failures
        self._rejected = 0  # refused synchronously by librdkafka (never enqueued)
        # The ref of a message an interrupt left half-sent: enqueued only if it reports.
        self._uncertain: tuple[RefT] | None = None
        self._since_maintenance = 0
        self._stalled = False
        self._replace_producer = False
        self._retired: list[FlowProducer] = []
        self._result: BulkResult[RefT] | None = None
        self._last_settled = 0  # acknowledged + answered when progress was last seen
        self._last_local = 0  # failures the client reported itself (timeouts...), at that time
        self._started = self._last_progress = time.monotonic()
        self._client_error: ClientErrorReport | None = None
        self._timeout_ms = max(1, round(timeout * 1000))
        self._producer: FlowProducer | None = None
        self._route = Route()
        self._take_producer()

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
        producer = self._require_open()
        try:
            if headers is None and partition is None:
                producer.produce(self.topic, value, key)
            else:
                producer.produce(
                    self.topic, value, key, -1 if partition is None else partition, headers=headers
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
        self._window.add(value, key, ref, partition)
        self._since_maintenance += 1
        if self._since_maintenance >= self._maintain_every:
            self._maintain()

    def send_many(
        self,
        values: Sequence[bytes],
        keys: Sequence[bytes | None] | None,
        refs: Sequence[RefT],
        headers: Headers | None = None,
    ) -> None:
        """Enqueue ``values[i]`` with key ``keys[i]`` (``None``: no keys) and ref ``refs[i]``.

        The fast path for lists (``refs`` may be a ``range``): no per-message bookkeeping.
        ``headers`` (optional) go with every message. The sender keeps references to the
        three sequences until the messages are accounted for, so do not modify them meanwhile.
        Same errors as ``send``.
        """
        if (keys is not None and len(keys) != len(values)) or len(refs) != len(values):
            raise ValueError(
                f"values, keys and refs must have the same length "
                f"({len(values)}, {None if keys is None else len(keys)}, {len(refs)})"
            )
        position, total = 0, len(values)
        while position < total:
            stop = min(position + self._maintain_every, total)
            position = self._send_run(values, keys, refs, position, stop, headers)
            self._maintain()

    def _send_run(
        self,
        values: Sequence[bytes],
        keys: Sequence[bytes | None] | None,
        refs: Sequence[RefT],
        start: int,
        stop: int,
        headers: Headers | None,
    ) -> int:
        """Produce ``values[start:stop]``; return where to go on (stops after a full queue).

        The counters and the window are updated before anything that can raise, so a stall
        raised while waiting for room accounts for every message sent so far. An interrupt
        (Ctrl-C) in the loop counts the messages before the current one; the current one is
        tracked as uncertain (its ``produce`` may or may not have completed): it counts as
        handed only if a report for it arrives, so ``delivered`` never counts it unproven.
        """
        produce = self._require_open().produce
        topic = self.topic
        skipped: set[int] = set()
        i, tracked = start, False

        def track(end: int) -> None:
            # Only the refused messages before ``end`` (after an interrupt one may lie at it).
            gaps = {s for s in skipped if s < end - start} if skipped else skipped
            self._enqueued += end - start - len(gaps)
            keys_run = None if keys is None else keys[start:end]
            self._window.add_many(values[start:end], keys_run, refs[start:end], gaps)

        try:
            for i in range(start, stop):
                key = None if keys is None else keys[i]
                try:
                    if headers is None:
                        produce(topic, values[i], key)
                    else:
                        produce(topic, values[i], key, headers=headers)
                except BufferError:
                    track(i)
                    tracked = True
                    # Uncertain until the retry returns: an interrupt may land after it
                    # enqueued the message and before this frame counts it.
                    self._uncertain = (refs[i],)
                    self._window.add(values[i], key, refs[i], None)
                    enqueued = self._send_when_room(values[i], key, refs[i], headers, None)
                    self._uncertain = None
                    self._enqueued += enqueued
                    return i + 1
                except KafkaException as exc:
                    self._record_rejected(refs[i], exc)
                    skipped.add(i - start)
        except BaseException:
            if not tracked:  # e.g. KeyboardInterrupt: account for what was produced
                track(i)
                if i < stop:
                    self._uncertain = (refs[i],)
                    self._window.add(values[i], None if keys is None else keys[i], refs[i], None)
            raise
        track(stop)
        return stop

    def poll(self, timeout: float = 0.0) -> int:
        """Serve pending error reports, report progress, and return the acknowledged count."""
        self._require_open()
        self._serve(timeout)
        self._maintain()
        return self._acked

    def close(self) -> BulkResult[RefT]:
        """Wait until every message is acknowledged or failed, and return the outcome.

        Returns within about ``timeout`` seconds of the last ``send`` (librdkafka fails any
        message not acknowledged by then), or earlier by raising on a stall. Calling it again
        returns the same result.

        Raises:
            BulkDeliveryTimeoutError: nothing acknowledged for ``stall_timeout`` seconds; the
                outstanding messages were purged and the exception's ``result`` lists each
                one (``maybe_written`` for those that were in flight).
        """
        if self._result is not None:
            return self._result
        self._drain()
        return self._finish()

    def abort(self) -> BulkResult[RefT]:
        """Purge whatever is outstanding and close; purged messages are reported as failed.

        Purged messages (``_PURGE_QUEUE``, ``_PURGE_INFLIGHT``) fail as "may have been
        written": a queued message may be a retry of a batch the broker already stored.
        """
        if self._result is not None:
            return self._result
        self._stalled = True
        self._purge()
        return self._finish()

    @property
    def delivered(self) -> int:
        """Number of messages acknowledged so far (after serving pending reports).

        Never decreases and never exceeds the messages enqueued minus those failed; exact once
        nothing is outstanding (see the module docstring). After ``close()`` it is the result's.
        """
        if self._result is not None:
            return self._result.delivered
        self._count_acked(self._outstanding())
        return self._acked

    @property
    def handed(self) -> int:
        """Messages ``send``/``send_many`` took so far: enqueued, or refused at once.

        After an interrupted ``send_many``, the messages of that call from position
        ``handed - (handed before the call)`` on were never given to librdkafka.
        """
        return self._enqueued + self._rejected

    @property
    def failed(self) -> list[FailedDelivery[RefT]]:
        """Failures recorded so far (a copy)."""
        return list(self._failed)

    @property
    def producer(self) -> FlowProducer | None:
        """The producer sending for this sender now (pooled, replaced after fencing), or ``None``
        once the sender is closed."""
        return self._producer

    @property
    def tracked(self) -> int:
        """Messages sent and not yet known to be acknowledged, kept to attribute failures.

        Bounded by ``max_tracked`` (plus a quarter), whatever the batch size.
        """
        return self._window.size

    @property
    def client_error(self) -> ClientErrorReport | None:
        """The last client-level error of this sender's producers, if it may explain failures.

        Only errors reported since shortly before the sender started count (see
        ``CAUSE_WINDOW``); after ``close()`` it is the one seen when the sender finished.
        """
        if self._result is not None:
            return self._client_error
        return self._latest_client_error()

    # ---------------------------------------------------------------- reports

    def _on_error(self, error: KafkaError, message: Message) -> None:
        """Global delivery callback: only failures reach it (``delivery.report.only.error``)."""
        self._report_failures += 1
        ref = self._window.pop_ref(message.key(), message.value(), message.partition())
        if self._uncertain is not None and ref == self._uncertain[0]:
            self._enqueued += 1  # the interrupted produce() had enqueued it after all
            self._uncertain = None
        maybe_written = may_have_been_written(error)
        self._answered += is_settled(error)
        self._maybe += maybe_written
        self._failed.append(FailedDelivery(ref, error, maybe_written))
        if is_producer_broken(error):
            self._replace_producer = True

    def _record_rejected(self, ref: RefT, exc: KafkaException) -> None:
        """Record a message librdkafka refused synchronously (never enqueued)."""
        error: KafkaError = exc.args[0]
        self._rejected += 1
        self._failed.append(FailedDelivery(ref, error, may_have_been_written(error)))

    # ---------------------------------------------------------------- bookkeeping

    def _producers(self) -> list[FlowProducer]:
        current = [self._producer] if self._producer is not None else []
        return current + self._retired

    def _outstanding(self) -> int:
        """Messages neither acknowledged nor reported yet (serves pending reports first)."""
        return sum(_queued(p) for p in self._producers())

    def _count_acked(self, outstanding: int) -> None:
        """Raise the acknowledged count to what ``outstanding`` implies; tell ``on_acked``."""
        ceiling = self._enqueued - self._report_failures
        acked = min(ceiling, max(self._acked, ceiling - outstanding))
        if acked > self._acked and self._on_acked is not None:
            self._on_acked(acked - self._acked)
        self._acked = acked

    def _serve(self, timeout: float) -> None:
        """Poll every producer (serving error reports) and drop retired ones that drained."""
        if self._retired:
            self._retired = [old for old in self._retired if _queued(old)]
        if self._producer is not None:
            self._producer.poll(timeout)
        if self._replace_producer and self._producer is not None:
            # The old producer keeps routing to this sender: its queued messages still report
            # (as failures) and must be accounted for.
            self._retired.append(self._producer)
            self._replace_producer = False
            self._take_producer()

    def _maintain(self) -> None:
        """Serve errors, report progress, and keep the in-flight window bounded."""
        self._since_maintenance = 0
        self._serve(0)
        outstanding = self._outstanding()
        self._note_progress(outstanding)
        if outstanding == 0:
            self._window.clear()
        elif self._window.size >= self._max_tracked:
            self._drain()

    def _note_progress(self, outstanding: int) -> None:
        """Report newly acknowledged messages; raise if nothing settled for too long.

        Settled means acknowledged, or failed with an answer (``is_settled``: the broker's own
        error, or a certain refusal). The client's own timeouts, purges and transport errors
        are not progress: a dead broker only ever times messages out (sent or not), and
        counting those let a large send feed a dead broker for minutes, one
        ``message.timeout.ms`` after another (issue 13, defect 3).
        """
        self._count_acked(outstanding)
        settled = self._acked + self._answered
        local = self._report_failures - self._answered
        now = time.monotonic()
        # An empty queue restarts the clock only if it emptied without timeouts: one that
        # timed out to empty is still waiting for a broker that answers nothing.
        idle = outstanding == 0 and local == self._last_local
        if settled > self._last_settled or idle:
            self._last_settled, self._last_local = settled, local
            self._last_progress = now
        elif outstanding and now - self._last_progress > self.stall_timeout:
            self._raise_stalled(outstanding)

    def _drain(self) -> None:
        """Wait until no message is outstanding, then forget the in-flight window."""
        # With only error reports, poll() sleeps its whole timeout when all goes well, so
        # start with short steps (a drained queue is noticed within a millisecond) and back
        # off while nothing completes.
        step = _FIRST_STEP
        while True:
            self._serve(step)
            before = self._last_settled
            outstanding = self._outstanding()
            self._note_progress(outstanding)
            if outstanding == 0:
                self._window.clear()
                return
            step = _FIRST_STEP if self._last_settled > before else min(step * 2, _POLL_STEP)

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
            producer = self._require_open()
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

    # ---------------------------------------------------------------- giving up

    def _raise_stalled(self, outstanding: int) -> None:
        self._stalled = True
        self._purge()
        result = self._finish()
        maybe = sum(1 for failure in result.failed if failure.maybe_written)
        not_written = len(result.failed) - maybe
        unaccounted = self._enqueued - self._report_failures - result.delivered
        silent = (
            f"; {unaccounted} gave no report even after the purge (they may have been written)"
            if unaccounted
            else ""
        )
        cause = self._client_error
        why = (
            f"The client last reported {cause.describe()}."
            if cause is not None
            else "Is the broker down or stalled?"
        )
        reason = (
            f"no message to {self.topic!r} was acknowledged for {self.stall_timeout:g} s with "
            f"{outstanding} messages outstanding, so the send was stopped and they were "
            f"purged. {why}"
        )
        raise BulkDeliveryTimeoutError(
            f"{reason} Outcome: {result.delivered} acknowledged; {not_written} failed "
            "and not written (refused by the client or the broker: safe to send again); "
            f"{maybe} failed and may have been written (purged or timed out: check the "
            f"topic, or rely on idempotent consumers, before sending them again){silent}.",
            result=result,
            topic=self.topic,
            client_error=cause,
            reason=reason,
        )

    def _latest_client_error(self) -> ClientErrorReport | None:
        """The newest client error of the producers in use, if reported since about the start."""
        latest: ClientErrorReport | None = None
        for producer in self._producers():
            log = producer.error_log
            found = None if log is None else log.last
            if found is not None and (latest is None or found.at > latest.at):
                latest = found
        if latest is None or latest.at < self._started - CAUSE_WINDOW:
            return None
        return latest

    def _purge(self) -> None:
        """Purge queued and in-flight messages so each gets a (failure) report, then serve."""
        for producer in self._producers():
            producer.purge(in_queue=True, in_flight=True, blocking=False)
        deadline = time.monotonic() + _PURGE_WAIT
        while self._outstanding() and time.monotonic() < deadline:
            self._serve(_POLL_STEP)

    def _finish(self) -> BulkResult[RefT]:
        # Counted before the producers are dropped: a message still queued is not delivered.
        self._count_acked(self._outstanding())
        self._client_error = self._latest_client_error()
        result = BulkResult(delivered=self._acked, failed=list(self._failed))
        self._result = result
        producer = self._producer
        # A drained, healthy producer goes back to the pool; one that stalled, was purged or
        # broke is dropped (freed with its last reference, without serving its queue). So is
        # one with a failure that may have been written (a timeout in flight): its idempotence
        # state is suspect (Tansu fences it; the next user's first message failed with
        # PRODUCER_FENCED).
        healthy = not self._stalled and not self._replace_producer and not self._maybe
        if producer is not None and healthy and _queued(producer) == 0:
            POOL.give_back(self._connection, self._timeout_ms, producer, self._route)
        self._route.target = None
        self._producer = None
        self._retired = []
        self._window.clear()
        return result

    def _require_open(self) -> FlowProducer:
        if self._producer is None:
            raise ProducerError(
                "this BulkSender is closed; create a new one to send more", topic=self.topic
            )
        return self._producer

    def _take_producer(self) -> None:
        self._producer, self._route = POOL.take(self._connection, self._timeout_ms)
        self._route.target = self._on_error

    def __repr__(self) -> str:
        state = "closed" if self._result is not None else "open"
        return (
            f"BulkSender(topic={self.topic!r}, {state}, enqueued={self._enqueued}, "
            f"failed={len(self._failed)})"
        )


def _queued(producer: Producer) -> int:
    """Messages on ``producer`` not yet acknowledged or reported, after serving its events.

    ``len()`` also counts unserved events (client errors, failure reports); serving them first
    leaves only those that arrive in between.
    """
    producer.poll(0)
    return len(producer)
