"""Types every layer shares: the ``UNSET`` sentinel, message headers and timestamps, callbacks.

Standard library only (confluent's ``KafkaError``/``Message`` appear in annotations, never at
run time), so that importing a model never loads the Kafka client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, TypedDict

if TYPE_CHECKING:
    from confluent_kafka import KafkaError, Message

    from flowodm.kafka.connection import Connection
    from flowodm.progress import ProgressOption

__all__ = [
    "UNSET",
    "BatchOptions",
    "DeliveryCallback",
    "Headers",
    "MessageOptions",
    "NowaitOptions",
    "ProduceOptions",
    "Timestamp",
]


class _Unset:
    """Type of ``UNSET``: "argument not given", distinct from ``None``."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


#: Default of ``key=`` in the produce calls: take the key from ``Settings.key_field``
#: (``key=None`` means "no key").
UNSET: Final = _Unset()


#: Kafka headers: a dict, or a list of ``(name, value)`` pairs when a name repeats.
Headers: TypeAlias = dict[str, str | bytes | None] | list[tuple[str, str | bytes | None]]
#: A message's CreateTime: a datetime (naive = UTC) or milliseconds since the epoch.
Timestamp: TypeAlias = int | dt.datetime | None


class DeliveryCallback(Protocol):
    """``callback(err, msg)`` of ``produce_nowait``: ``err`` is ``None`` once acknowledged.

    A protocol rather than a ``Callable`` alias so that ``typing.get_type_hints`` resolves it
    without importing confluent-kafka here.
    """

    def __call__(self, err: KafkaError | None, msg: Message, /) -> None: ...


class MessageOptions(TypedDict, total=False):
    """Keyword options of every call that produces one message; all may be omitted.

    Attributes:
        key: The message key, serialized with ``Settings.key_serializer``. Omitted: the value of
            ``Settings.key_field`` (or no key). ``None``: no key.
        headers: Kafka headers, a dict or a list of ``(name, str | bytes | None)``.
        partition: The partition to write to (default: the partitioner picks by key).
        timestamp: CreateTime, a datetime (naive = UTC) or milliseconds since the epoch.
        topic: Write to this topic instead of ``Settings.topic`` (e.g. a staging topic). Under
            the topic subject strategies the schema is registered under this topic's subject,
            as Confluent's serializers would.
        connection: A specific connection (default: the current one).
    """

    key: Any
    headers: Headers | None
    partition: int | None
    timestamp: Timestamp
    topic: str | None
    connection: Connection | None


class ProduceOptions(MessageOptions, total=False):
    """Options of ``produce()`` and ``aproduce()``: ``MessageOptions`` and a timeout.

    Attributes:
        timeout: Seconds to wait for the acknowledgement (default: the connection's
            ``produce_timeout``, 35 s; librdkafka gives up after ``message.timeout.ms``, 30 s
            by default).
    """

    timeout: float | None


class NowaitOptions(MessageOptions, total=False):
    """Options of ``produce_nowait()``: ``MessageOptions`` and a delivery callback.

    Attributes:
        callback: ``callback(err, msg)``, called once the broker acknowledged (``err is None``)
            or the delivery failed, on the connection's poller thread: keep it short and
            thread-safe.
    """

    callback: DeliveryCallback | None


class BatchOptions(TypedDict, total=False):
    """Keyword options of ``produce_many()`` and ``aproduce_many()``; all may be omitted.

    Attributes:
        timeout: Seconds librdkafka may take per message (default ``produce_timeout``).
        stall_timeout: Give up when no message is acknowledged for this long (default ``timeout``).
        raise_on_error: Raise ``PartialDeliveryError`` (with ``.result``) if any message failed
            (default); ``False`` returns the result with the failures listed.
        progress: Show a progress bar (``True``, ``"text"``, ``"widget"``, a tqdm class).
        topic: Write to this topic instead of ``Settings.topic``; under the topic subject
            strategies the schema is registered under this topic's subject.
        headers: Kafka headers sent with every message (a dict or a list of
            ``(name, str | bytes | None)``).
        keys: One key per model, serialized with ``Settings.key_serializer`` (``None`` entries:
            no key); overrides ``Settings.key_field``.
        connection: A specific connection (default: the current one).
    """

    timeout: float | None
    stall_timeout: float | None
    raise_on_error: bool
    progress: ProgressOption
    topic: str | None
    headers: Headers | None
    keys: Sequence[Any] | None
    connection: Connection | None
