"""The model-level consume calls (``Model.consume_one`` …), on consumers kept per group.

Each call shape follows upstream flowodm 0.3.1 and hands out models; the consumer behind them
is a ``ModelConsumer`` kept per (connection, model, group, topic), so successive calls continue
where the last one stopped, with ``"after_processing"`` commits: what one call returned counts
as processed when the next call on the same group starts (or at ``Model.commit()``). Closing the
connection closes these consumers. Tombstones (null values) have no model, so these calls skip
them (and count them processed); ``Model.consumer()`` hands them out as ``ConsumedMessage``s
with ``value=None``.

Ctrl-C while a sync call waits for messages closes its consumer after committing what the
earlier calls (or the iterator's earlier messages) handed out, which the caller processed:
it asked for more. It then raises ``ConsumeInterrupted`` (a ``KeyboardInterrupt``), also when
confluent-kafka wrapped the interrupt in a ``SystemError``. A Ctrl-C in the caller's own code
between two messages is the caller's: the consumer stays open and commits nothing more (the
message in hand and those after it come again); closing the connection closes it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from confluent_kafka import KafkaException
from pydantic import BaseModel

from flowodm.consume.consumer import ModelConsumer
from flowodm.consume.interrupts import ConsumeInterrupted, interrupt_of
from flowodm.exceptions import ConsumerError
from flowodm.kafka.connection import get_connection

if TYPE_CHECKING:
    from flowodm.consume.profiles import ConsumerProfile
    from flowodm.kafka.connection import Connection

__all__ = [
    "aconsume_batch",
    "aconsume_iter",
    "aconsume_one",
    "commit",
    "consume_batch",
    "consume_iter",
    "consume_one",
    "shared_consumer",
]

M = TypeVar("M", bound=BaseModel)

logger = logging.getLogger("flowodm.consume")

_shared: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], ModelConsumer[Any]]] = (
    weakref.WeakKeyDictionary()
)
_shared_lock = threading.Lock()


def shared_consumer(
    model: type[M],
    *,
    group_id: str | None = None,
    topic: str | None = None,
    settings: ConsumerProfile | None = None,
    connection: Connection | None = None,
) -> ModelConsumer[M]:
    """The consumer the model-level calls share for (connection, model, group, topic, profile)."""
    conn = connection if connection is not None else get_connection()
    key = (model, group_id, topic, settings)
    with _shared_lock:
        per_connection = _shared.setdefault(conn, {})
        consumer = per_connection.get(key)
        if consumer is None or consumer.closed:
            consumer = ModelConsumer(
                model, group_id=group_id, topic=topic, settings=settings, connection=conn
            )
            per_connection[key] = consumer
    return consumer


def consume_one(
    model: type[M],
    *,
    timeout: float = 1.0,
    group_id: str | None = None,
    topic: str | None = None,
    settings: ConsumerProfile | None = None,
    connection: Connection | None = None,
) -> M | None:
    """The next model, or ``None`` if none arrives within ``timeout`` seconds."""
    consumer = shared_consumer(
        model, group_id=group_id, topic=topic, settings=settings, connection=connection
    )
    with _interruptible(consumer):
        for found in consumer.iter_models(timeout=timeout):
            return found
    return None


def consume_batch(
    model: type[M],
    max_messages: int,
    *,
    timeout: float = 1.0,
    group_id: str | None = None,
    topic: str | None = None,
    settings: ConsumerProfile | None = None,
    connection: Connection | None = None,
) -> list[M]:
    """Up to ``max_messages`` models: as soon as they arrived, or what came within ``timeout``."""
    consumer = shared_consumer(
        model, group_id=group_id, topic=topic, settings=settings, connection=connection
    )
    with _interruptible(consumer):
        found = consumer.batch(max_messages, timeout=timeout)
    return [m.value for m in found if m.value is not None]


def consume_iter(
    model: type[M],
    *,
    max_messages: int | None = None,
    timeout: float | None = None,
    group_id: str | None = None,
    topic: str | None = None,
    settings: ConsumerProfile | None = None,
    connection: Connection | None = None,
) -> Iterator[M]:
    """Models until ``max_messages`` were yielded or none came for ``timeout`` seconds."""
    consumer = shared_consumer(
        model, group_id=group_id, topic=topic, settings=settings, connection=connection
    )
    return _iter_interruptible(
        consumer, consumer.iter_models(max_messages=max_messages, timeout=timeout)
    )


async def aconsume_one(
    model: type[M],
    *,
    timeout: float = 1.0,
    group_id: str | None = None,
    topic: str | None = None,
    settings: ConsumerProfile | None = None,
    connection: Connection | None = None,
) -> M | None:
    """``consume_one`` without blocking the event loop."""
    consumer = shared_consumer(
        model, group_id=group_id, topic=topic, settings=settings, connection=connection
    )
    async for message in consumer.aiter(max_messages=None, timeout=timeout):
        if message.value is not None:
            return message.value
    return None


async def aconsume_batch(
    model: type[M],
    max_messages: int,
    *,
    timeout: float = 1.0,
    group_id: str | None = None,
    topic: str | None = None,
    settings: ConsumerProfile | None = None,
    connection: Connection | None = None,
) -> list[M]:
    """``consume_batch`` without blocking the event loop."""
    consumer = shared_consumer(
        model, group_id=group_id, topic=topic, settings=settings, connection=connection
    )
    return [
        m.value for m in await consumer.abatch(max_messages, timeout=timeout) if m.value is not None
    ]


async def aconsume_iter(
    model: type[M],
    *,
    max_messages: int | None = None,
    timeout: float | None = None,
    group_id: str | None = None,
    topic: str | None = None,
    settings: ConsumerProfile | None = None,
    connection: Connection | None = None,
) -> AsyncIterator[M]:
    """``consume_iter`` as an async iterator that never blocks the event loop."""
    consumer = shared_consumer(
        model, group_id=group_id, topic=topic, settings=settings, connection=connection
    )
    async for message in consumer.aiter(max_messages=max_messages, timeout=timeout):
        if message.value is not None:
            yield message.value


def commit(
    model: type[M],
    *,
    group_id: str | None = None,
    topic: str | None = None,
    settings: ConsumerProfile | None = None,
    connection: Connection | None = None,
) -> None:
    """Commit now everything the model-level calls handed out for this group."""
    shared_consumer(
        model, group_id=group_id, topic=topic, settings=settings, connection=connection
    ).commit()


@contextlib.contextmanager
def _interruptible(consumer: ModelConsumer[Any]) -> Iterator[None]:
    """Turn Ctrl-C inside a fetch into ``ConsumeInterrupted``, after committing and closing."""
    try:
        yield
    except BaseException as exc:
        interrupt = interrupt_of(exc)
        if interrupt is None:
            raise
        raise _closed_on_interrupt(consumer) from None


def _iter_interruptible(consumer: ModelConsumer[Any], models: Iterator[M]) -> Iterator[M]:
    """``models``, with a Ctrl-C while it fetches turned into ``ConsumeInterrupted``.

    Only the fetches run inside this generator; the caller's loop body runs between its
    ``yield``s, so a Ctrl-C there stays the caller's plain ``KeyboardInterrupt``.
    """
    with _interruptible(consumer):
        yield from models


def _closed_on_interrupt(consumer: ModelConsumer[Any]) -> ConsumeInterrupted:
    """Commit what was handed out, close ``consumer`` and describe it as an interrupt.

    The interrupt came while the caller asked for more, so everything handed out before is
    processed (``commit()`` marks exactly that); a message fetched but not handed out is not.
    """
    failure: Exception | None = None
    try:
        if consumer.assignment():  # nothing to commit before the group assigned partitions
            consumer.commit()
    except (ConsumerError, KafkaException, RuntimeError) as exc:
        # The broker may be why the user pressed Ctrl-C; close() stores and tries again.
        failure = exc
        logger.warning("committing after Ctrl-C for group %s failed: %s", consumer.group_id, exc)
    finally:
        consumer.close()
    error = ConsumeInterrupted(
        f"consuming {consumer.topic!r} in group {consumer.group_id!r} was interrupted",
        group_id=consumer.group_id,
        topic=consumer.topic,
    )
    if failure is None:
        error.add_note(
            f"The consumer is closed; the messages handed out before Ctrl-C are committed, so "
            f"the group {consumer.group_id!r} resumes right after the last one you received."
        )
    else:
        error.add_note(
            f"The consumer is closed, but committing what was handed out failed ({failure}); "
            "closing tried once more (a warning is logged if that failed too). Uncommitted "
            f"messages come again when the group {consumer.group_id!r} resumes: none is lost, "
            "some may come twice."
        )
    return error
