"""Per-message delivery reports of the shared producer, and replacing it once it is broken.

- ``Waiter`` wakes the thread blocked in ``produce``; ``FutureReport`` resolves the asyncio
  future of ``aproduce`` on its own loop; ``NowaitReport`` calls ``produce_nowait``'s callback,
  and an exception it raises is logged and counted (``FlowProducer.callback_failed``), never
  raised from ``poll()``/``flush()``.
  They all run on the connection's poller thread (or on a thread calling ``flush()``).
- The error of a message that never left the client (no partition in its report) is handed on
  as an ``UnsentError`` (``flowodm.kafka.errors.unsent_error``), so it reads "not written".
- A report of ``PRODUCER_FENCED`` or a fatal error marks the shared producer broken
  (``mark_broken``); the next produce call gets a fresh one from ``shared_producer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, Message, Producer

from flowodm._types import DeliveryCallback
from flowodm.kafka.clients import FlowProducer
from flowodm.kafka.errors import is_producer_broken, unsent_error

if TYPE_CHECKING:
    from flowodm.kafka.connection import Connection

__all__ = ["FutureReport", "NowaitReport", "Waiter", "mark_broken", "shared_producer"]

logger = logging.getLogger("flowodm.connection")


class Waiter:
    """Per-message delivery callback that wakes the thread blocked in ``produce``."""

    __slots__ = ("done", "error", "message")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: KafkaError | None = None
        self.message: Message | None = None

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        self.error = None if error is None else unsent_error(error, message)
        self.message = message
        self.done.set()


class FutureReport:
    """Per-message delivery callback resolving an asyncio future on its own loop."""

    __slots__ = ("future", "loop")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[tuple[KafkaError | None, Message]],
    ) -> None:
        self.loop, self.future = loop, future

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            error = unsent_error(error, message)
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


class NowaitReport:
    """Delivery callback of ``produce_nowait``: notes a broken producer, then calls the user's."""

    __slots__ = ("callback", "producer")

    def __init__(self, callback: DeliveryCallback | None, producer: Producer) -> None:
        self.callback, self.producer = callback, producer

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            if is_producer_broken(error):
                mark_broken(self.producer)
            error = unsent_error(error, message)
        if self.callback is None:
            return
        try:
            self.callback(error, message)
        except Exception as exc:
            # Caught here, not left to confluent-kafka: it would re-raise it from whichever
            # poll()/flush() served the report (maybe the user's own flush) and keep only one
            # exception per call. Documented: logged and counted, never raised.
            if isinstance(self.producer, FlowProducer):
                self.producer.callback_failed(exc)
            else:
                logger.exception("a produce_nowait delivery callback raised an exception")


# ---------------------------------------------------------------- broken shared producers

# Shared producers that reported PRODUCER_FENCED or a fatal error. Tansu 0.6 fences an
# idempotent producer after any message timeout and never accepts it again, so the next
# produce asks the connection for a fresh producer.
_broken: weakref.WeakSet[Producer] = weakref.WeakSet()
_broken_lock = threading.Lock()


def mark_broken(producer: Producer) -> None:
    with _broken_lock:
        _broken.add(producer)


def shared_producer(connection: Connection) -> Producer:
    """Return the connection's shared producer, replacing it first if it is known broken."""
    producer = connection.producer
    if producer not in _broken:
        return producer
    with _broken_lock:
        _broken.discard(producer)
    return connection.replace_producer(producer)
