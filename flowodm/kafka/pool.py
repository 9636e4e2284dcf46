"""Idle bulk producers kept per connection, so each bulk send does not pay a producer start.

An idempotent producer needs about 0.5 s before its first delivery (librdkafka waits on a timer
to acquire a producer id), which would dominate a small ``produce_many``. A bulk producer is
configured with ``delivery.report.only.error`` and one global error callback, a ``Route`` that
is pointed at whichever sender currently uses the producer.

Lifetime of an idle producer (one that a ``BulkSender`` gave back drained and healthy):

* at most ``MAX_IDLE`` are kept per (connection, ``message.timeout.ms``); one more is closed
  at once;
* one idle for ``idle_seconds`` (default ``IDLE_SECONDS``, 60 s: long enough for the chunks of
  a backfill or the cells of a notebook to reuse it) is closed by a daemon thread
  (``flowodm-pool-reaper``) that runs only while something is pooled;
* ``Connection.close()`` closes every one kept for that connection, and one whose connection
  was garbage-collected is dropped with it;
* one that reported losing every broker (``flowodm.kafka.recovery``) is never kept nor handed
  out again: a restarted broker may refuse its producer id.

They are closed with ``FlowProducer.close_quietly()``: client errors queued while nobody used
the producer (e.g. the broker of a test session that already stopped) are not logged.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import KafkaError, Message

from flowodm.kafka.clients import FlowProducer
from flowodm.kafka.errors import unsent_error
from flowodm.kafka.recovery import lost_its_broker, settle

__all__ = [
    "IDLE_SECONDS",
    "MAX_IDLE",
    "POOL",
    "REAPER_THREAD_NAME",
    "ProducerFactory",
    "Route",
    "discard_pooled_producers",
]

#: Idle producers kept per (connection, message timeout); more are created on demand.
MAX_IDLE = 2
#: Seconds an idle producer is kept before it is closed.
IDLE_SECONDS = 60.0
#: Name of the thread that closes producers idle for too long.
REAPER_THREAD_NAME = "flowodm-pool-reaper"


class ProducerFactory(Protocol):
    """What a bulk sender needs from a connection: a fresh producer with extra settings."""

    def new_producer(self, extra: Mapping[str, Any] | None = None) -> FlowProducer:
        """Return a new ``FlowProducer`` with the connection's settings plus ``extra``."""
        ...


class Route:
    """A bulk producer's global error callback, forwarded to the current ``target``.

    The error of a message that never left the client reaches the target as an
    ``UnsentError`` (``flowodm.kafka.errors.unsent_error``), so it is classified "not written".
    """

    __slots__ = ("target",)

    def __init__(self) -> None:
        self.target: Callable[[KafkaError, Message], None] | None = None

    def __call__(self, error: KafkaError, message: Message) -> None:
        target = self.target
        if target is not None:
            target(unsent_error(error, message), message)


@dataclass(frozen=True)
class _Idle:
    producer: FlowProducer
    route: Route
    until: float  # time.monotonic() after which it is closed


class _ProducerPool:
    """Idle producers per connection (weakly keyed) and per ``message.timeout.ms``.

    Args:
        idle_seconds: How long an idle producer is kept before it is closed.
    """

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._lock = threading.Condition()
        self._idle: weakref.WeakKeyDictionary[Any, dict[int, list[_Idle]]]
        self._idle = weakref.WeakKeyDictionary()
        self._reaper: threading.Thread | None = None

    def take(self, connection: ProducerFactory, timeout_ms: int) -> tuple[FlowProducer, Route]:
        """Return an idle producer for ``connection`` (the most recently used), or a new one.

        An idle producer that lost every broker while it waited (the broker restarted, so it
        may have forgotten the producer's id: ``flowodm.kafka.recovery``) is closed, not
        handed out.
        """
        while True:
            with self._lock:
                try:
                    if getattr(connection, "closed", False):
                        self._idle.pop(connection, None)
                    idle = self._idle.get(connection, {}).get(timeout_ms)
                except TypeError:  # an unhashable or non-weakrefable connection: no pooling
                    idle = None
                if not idle:
                    break
                entry = idle.pop()
            # Nobody polled it while idle: serve the client errors and statistics queued
            # meanwhile, so its broker watch can tell (outside the lock: poll runs callbacks).
            settle(entry.producer)
            if not lost_its_broker(entry.producer):
                return entry.producer, entry.route
            entry.producer.close_quietly()
        route = Route()
        producer = connection.new_producer(
            {
                "delivery.report.only.error": True,
                "on_delivery": route,
                "message.timeout.ms": timeout_ms,
            }
        )
        return producer, route

    def give_back(
        self, connection: ProducerFactory, timeout_ms: int, producer: FlowProducer, route: Route
    ) -> None:
        """Keep a drained, healthy producer for the next sender, or close it if none is kept."""
        route.target = None
        if lost_its_broker(producer):  # a restarted broker may refuse its producer id
            producer.close_quietly()
            return
        kept = False
        with self._lock:
            try:
                if not getattr(connection, "closed", False):
                    idle = self._idle.setdefault(connection, {}).setdefault(timeout_ms, [])
                    if len(idle) < MAX_IDLE:
                        idle.append(_Idle(producer, route, time.monotonic() + self.idle_seconds))
                        kept = True
                        self._wake_reaper()
            except TypeError:
                pass
        if not kept:
            producer.close_quietly()

    def discard(self, connection: ProducerFactory) -> None:
        """Close and forget every idle producer of ``connection`` (they hold no messages)."""
        with self._lock:
            try:
                idle = self._idle.pop(connection, {})
            except TypeError:
                return
        for entries in idle.values():
            for entry in entries:
                entry.producer.close_quietly()

    def _wake_reaper(self) -> None:
        """Start the reaper thread, or make it look at the new deadline (lock held)."""
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap, name=REAPER_THREAD_NAME, daemon=True)
            self._reaper.start()
        else:
            self._lock.notify()

    def _reap(self) -> None:
        """Close producers idle past their deadline; end when nothing is pooled any more."""
        while True:
            with self._lock:
                expired, next_deadline = self._expired(time.monotonic())
                if not expired:
                    if next_deadline is None:
                        self._reaper = None
                        return
                    self._lock.wait(max(0.0, next_deadline - time.monotonic()))
                    continue
            for producer in expired:  # outside the lock: close() serves the queue
                producer.close_quietly()

    def _expired(self, now: float) -> tuple[list[FlowProducer], float | None]:
        """Remove and return the producers idle past ``now``, and the next deadline (lock held)."""
        expired: list[FlowProducer] = []
        next_deadline: float | None = None
        for by_timeout in list(self._idle.values()):
            for timeout_ms, entries in list(by_timeout.items()):
                expired += [e.producer for e in entries if e.until <= now]
                entries[:] = [e for e in entries if e.until > now]
                if not entries:
                    del by_timeout[timeout_ms]
                for entry in entries:
                    if next_deadline is None or entry.until < next_deadline:
                        next_deadline = entry.until
        return expired, next_deadline


POOL = _ProducerPool()


def discard_pooled_producers(connection: ProducerFactory) -> None:
    """Close the idle bulk producers kept for ``connection`` (``Connection.close()`` calls it)."""
    POOL.discard(connection)
