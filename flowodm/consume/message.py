"""``ConsumedMessage``: one decoded Kafka message, its model and where it came from.

The confluent ``Message`` is kept and read lazily (timestamp, headers, raw bytes), so handing
out a message costs one small object; only the value and key are decoded up front.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from confluent_kafka import Message

__all__ = ["ConsumedMessage", "coordinates"]

M = TypeVar("M", bound=BaseModel)

_TIMESTAMP_KINDS = {1: "create_time", 2: "log_append_time"}


def coordinates(message: Message) -> tuple[str, int, int]:
    """``(topic, partition, offset)`` of a fetched message (never ``None`` for one)."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    assert topic is not None and partition is not None and offset is not None
    return topic, partition, offset


class ConsumedMessage(Generic[M]):
    """A consumed message: ``value`` (the model, ``None`` for a tombstone), ``key`` and coordinates.

    Attributes:
        value: The decoded, validated model; ``None`` when the message is a tombstone (a null
            value, Kafka's deletion marker on compacted topics).
        key: The key as the model's ``key_serializer`` reads it (``str`` for ``string``,
            the value for ``json`` and ``avro``, ``bytes`` for ``bytes``), or ``None``.
        message: The confluent ``Message`` itself (raw bytes, headers, leader epoch …).
    """

    __slots__ = ("key", "message", "value")

    def __init__(self, value: M | None, key: Any, message: Message) -> None:
        self.value = value
        self.key = key
        self.message = message

    @property
    def topic(self) -> str:
        """The topic the message was read from."""
        return coordinates(self.message)[0]

    @property
    def partition(self) -> int:
        """Its partition."""
        return coordinates(self.message)[1]

    @property
    def offset(self) -> int:
        """Its offset in the partition."""
        return coordinates(self.message)[2]

    @property
    def timestamp(self) -> dt.datetime | None:
        """The message timestamp as an aware UTC datetime, or ``None`` if the broker has none."""
        kind, millis = self.message.timestamp()
        if kind not in _TIMESTAMP_KINDS:
            return None
        return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)

    @property
    def timestamp_type(self) -> str | None:
        """``"create_time"`` (set by the producer), ``"log_append_time"`` (broker) or ``None``."""
        return _TIMESTAMP_KINDS.get(self.message.timestamp()[0])

    @property
    def headers(self) -> list[tuple[str, bytes | None]]:
        """The message headers in order (a name may repeat); empty when there are none."""
        headers: Any = self.message.headers() or ()  # a list of pairs for consumed messages
        return list(headers)

    @property
    def raw_value(self) -> bytes | None:
        """The value bytes as they are on the topic (with the Confluent header, if any)."""
        value: bytes | None = self.message.value()
        return value

    @property
    def raw_key(self) -> bytes | None:
        """The key bytes as they are on the topic."""
        key: bytes | None = self.message.key()
        return key

    @property
    def is_tombstone(self) -> bool:
        """Whether the value is null (a deletion marker): ``value`` is then ``None``."""
        return self.message.value() is None

    def __repr__(self) -> str:
        where = f"{self.topic}[{self.partition}]@{self.offset}"
        return f"ConsumedMessage({where}, key={self.key!r}, value={self.value!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConsumedMessage):
            return NotImplemented
        return (self.coordinates, self.key, self.value) == (
            other.coordinates,
            other.key,
            other.value,
        )

    def __hash__(self) -> int:
        return hash(self.coordinates)

    @property
    def coordinates(self) -> tuple[str, int, int]:
        """``(topic, partition, offset)``: where the message is, enough to read it again."""
        return coordinates(self.message)
