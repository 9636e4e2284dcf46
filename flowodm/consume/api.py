"""The model-level consume calls (``Model.consume_one`` …), on consumers kept per group.

Each call shape follows upstream flowodm 0.3.1 and hands out models; the consumer behind them
is a ``ModelConsumer`` kept per (connection, model, group, topic), so successive calls continue
where the last one stopped, with ``"after_processing"`` commits: what one call returned counts
as processed when the next call on the same group starts (or at ``Model.commit()``). Closing the
connection closes these consumers. Tombstones (null values) have no model, so these calls skip
them (and count them processed); ``Model.consumer()`` hands them out as ``ConsumedMessage``s
with ``value=None``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from flowodm.consume.consumer import ModelConsumer
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
    return [m.value for m in consumer.batch(max_messages, timeout=timeout) if m.value is not None]


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
    return consumer.iter_models(max_messages=max_messages, timeout=timeout)


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
