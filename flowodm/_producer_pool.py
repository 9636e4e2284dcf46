"""Idle bulk producers kept per connection, so each bulk send does not pay a producer start.

An idempotent producer needs about 0.5 s before its first delivery (librdkafka waits on a timer
to acquire a producer id), which would dominate a small ``produce_many``. A bulk producer is
configured with ``delivery.report.only.error`` and one global error callback, a ``Route`` that
is pointed at whichever sender currently uses the producer.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from confluent_kafka import KafkaError, Message, Producer

__all__ = ["POOL", "ProducerFactory", "Route", "discard_pooled_producers"]

# Idle producers kept per (connection, message timeout); more are created on demand.
_POOL_SIZE = 2


class ProducerFactory(Protocol):
    """What a bulk sender needs from a connection: a fresh producer with extra settings."""

    def new_producer(self, extra: Mapping[str, Any] | None = None) -> Producer:
        """Return a new confluent ``Producer`` with the connection's settings plus ``extra``."""
        ...


class Route:
    """A bulk producer's global error callback, forwarded to the current ``target``."""

    __slots__ = ("target",)

    def __init__(self) -> None:
        self.target: Callable[[KafkaError, Message], None] | None = None

    def __call__(self, error: KafkaError, message: Message) -> None:
        target = self.target
        if target is not None:
            target(error, message)


class _ProducerPool:
    """Idle producers per connection (weakly keyed) and per ``message.timeout.ms``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: weakref.WeakKeyDictionary[Any, dict[int, list[tuple[Producer, Route]]]]
        self._idle = weakref.WeakKeyDictionary()

    def take(self, connection: ProducerFactory, timeout_ms: int) -> tuple[Producer, Route]:
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
        self, connection: ProducerFactory, timeout_ms: int, producer: Producer, route: Route
    ) -> None:
        """Keep a drained, healthy producer for the next sender (up to ``_POOL_SIZE``)."""
        route.target = None
        with self._lock:
            try:
                if getattr(connection, "closed", False):
                    return
                idle = self._idle.setdefault(connection, {}).setdefault(timeout_ms, [])
            except TypeError:
                return
            if len(idle) < _POOL_SIZE:
                idle.append((producer, route))

    def discard(self, connection: ProducerFactory) -> None:
        """Close and forget every idle producer of ``connection`` (they hold no messages)."""
        with self._lock:
            try:
                idle = self._idle.pop(connection, {})
            except TypeError:
                return
        for producers in idle.values():
            for producer, _ in producers:
                producer.close()


POOL = _ProducerPool()


def discard_pooled_producers(connection: ProducerFactory) -> None:
    """Close the idle bulk producers kept for ``connection`` (``Connection.close()`` calls it)."""
    POOL.discard(connection)
