"""What the produce calls return: one message's ``DeliveryResult``, a batch's results.

Every failure carries ``maybe_written`` (``flowodm.kafka.errors.may_have_been_written``): a
failed delivery report does not prove that the broker did not store the message.

Reprs are bounded, whatever the data: a batch result shows its counts and the first
``REPR_ITEMS`` failures, and a model, key or ref longer than ``REPR_VALUE_LIMIT`` characters
is cut (saying how long it was), so displaying a result of 100,000 failed 2 MB models in a
notebook prints a few lines. The attributes still hold everything.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from confluent_kafka import KafkaError

from flowodm.kafka.errors import describe_error

__all__ = [
    "REPR_ITEMS",
    "REPR_VALUE_LIMIT",
    "BulkResult",
    "DeliveryResult",
    "FailedDelivery",
    "FailedMessage",
    "ProduceManyResult",
]

RefT = TypeVar("RefT")
ModelT = TypeVar("ModelT")

#: Failures shown in the repr of a batch result; the rest are counted.
REPR_ITEMS = 3
#: Characters of a value's repr (a model, a key, a ref) shown before it is cut.
REPR_VALUE_LIMIT = 200


def _short(value: object) -> str:
    """``repr(value)``, cut to ``REPR_VALUE_LIMIT`` characters with a note of its full size."""
    if isinstance(value, bytes | bytearray) and len(value) > REPR_VALUE_LIMIT:
        # Cut before repr: a multi-megabyte key need not be escaped to be summarised.
        return f"{bytes(value[:REPR_VALUE_LIMIT])!r}... ({len(value)} bytes)"
    text = repr(value)
    if len(text) <= REPR_VALUE_LIMIT:
        return text
    return f"{text[:REPR_VALUE_LIMIT]}... ({len(text)} chars)"


def _html_rows(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """A notebook's display of a result: a two-column table, every text escaped."""
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<div><strong>{html.escape(title)}</strong><table>{body}</table></div>"


def _failures_repr(failed: Sequence[object], show: Callable[[Any], str]) -> str:
    """``N failed: first; second; third; and M more`` (or ``failed=[]`` when none failed)."""
    if not failed:
        return "failed=[]"
    shown = "; ".join(show(failure) for failure in failed[:REPR_ITEMS])
    more = f"; and {len(failed) - REPR_ITEMS} more" if len(failed) > REPR_ITEMS else ""
    return f"{len(failed)} failed: {shown}{more}"


@dataclass(frozen=True, slots=True, repr=False)
class DeliveryResult:
    """Where the broker wrote one acknowledged message.

    Attributes:
        topic: The topic written to.
        partition: The partition written to.
        offset: The message's offset in that partition.
        timestamp: The message timestamp in milliseconds since the epoch (UTC), or ``None``
            when the broker did not report one.
        key: The key bytes sent, or ``None`` for a message without key.
    """

    topic: str
    partition: int
    offset: int
    timestamp: int | None
    key: bytes | None

    def __repr__(self) -> str:
        return (
            f"DeliveryResult(topic={self.topic!r}, partition={self.partition}, "
            f"offset={self.offset}, timestamp={self.timestamp}, key={_short(self.key)})"
        )

    def _repr_html_(self) -> str:
        return _html_rows(
            "Delivered",
            [
                ("topic", self.topic),
                ("partition", str(self.partition)),
                ("offset", str(self.offset)),
                ("timestamp", "" if self.timestamp is None else str(self.timestamp)),
                ("key", _short(self.key)),
            ],
        )


@dataclass(frozen=True, slots=True, repr=False)
class FailedDelivery(Generic[RefT]):
    """One message of a bulk send that was not acknowledged.

    Attributes:
        ref: The caller's reference passed to ``BulkSender.send`` (an index, a row label...).
        kafka_error: librdkafka's error for this message.
        maybe_written: ``True`` unless the error proves the broker never stored the message
            (a timeout, for instance, leaves it unknown).
    """

    ref: RefT
    kafka_error: KafkaError
    maybe_written: bool

    def __repr__(self) -> str:
        return (
            f"FailedDelivery(ref={_short(self.ref)}, kafka_error={self.kafka_error.name()}, "
            f"maybe_written={self.maybe_written})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class BulkResult(Generic[RefT]):
    """Outcome of a ``BulkSender``: how many messages were acknowledged, and each failure.

    Attributes:
        delivered: Number of messages the broker acknowledged.
        failed: One entry per message that was not acknowledged, in the order errors arrived.
    """

    delivered: int
    failed: list[FailedDelivery[RefT]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every message was acknowledged."""
        return not self.failed

    def __repr__(self) -> str:
        return f"BulkResult(delivered={self.delivered}, {_failures_repr(self.failed, repr)})"


@dataclass(frozen=True, slots=True, repr=False)
class FailedMessage(Generic[ModelT]):
    """One model of ``produce_many`` that was not acknowledged.

    Attributes:
        index: Position of the model in the input sequence.
        model: The model itself, so failures can be retried with ``produce_many``.
        kafka_error: librdkafka's error for this message.
        maybe_written: ``True`` unless the error proves the broker never stored the message.
    """

    index: int
    model: ModelT
    kafka_error: KafkaError
    maybe_written: bool

    def __str__(self) -> str:
        written = "may have been written" if self.maybe_written else "not written"
        return f"#{self.index}: {describe_error(self.kafka_error)} ({written})"

    def __repr__(self) -> str:
        return (
            f"FailedMessage(index={self.index}, model={_short(self.model)}, "
            f"kafka_error={self.kafka_error.name()}, maybe_written={self.maybe_written})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class ProduceManyResult(Generic[ModelT]):
    """Outcome of ``Model.produce_many``.

    Attributes:
        topic: The topic written to.
        delivered: Number of models the broker acknowledged.
        failed: One entry per model that was not acknowledged, sorted by index.
    """

    topic: str
    delivered: int
    failed: list[FailedMessage[ModelT]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every model was acknowledged."""
        return not self.failed

    @property
    def total(self) -> int:
        """Number of models handed to ``produce_many``."""
        return self.delivered + len(self.failed)

    def __repr__(self) -> str:
        return (
            f"ProduceManyResult(topic={self.topic!r}, delivered={self.delivered}, "
            f"{_failures_repr(self.failed, str)})"
        )

    def _repr_html_(self) -> str:
        rows = [("topic", self.topic), ("delivered", f"{self.delivered:,}")]
        rows += [("failed", f"{len(self.failed):,}")]
        rows += [(f"#{f.index}", str(f)) for f in self.failed[:REPR_ITEMS]]
        if len(self.failed) > REPR_ITEMS:
            rows.append(("…", f"and {len(self.failed) - REPR_ITEMS} more, see .failed"))
        return _html_rows("Produced", rows)

    def summary(self, limit: int = 5) -> str:
        """Return a one-paragraph description naming up to ``limit`` failures."""
        text = f"{self.delivered} of {self.total} messages delivered to {self.topic!r}"
        if not self.failed:
            return text
        shown = "; ".join(str(f) for f in self.failed[:limit])
        more = f"; and {len(self.failed) - limit} more" if len(self.failed) > limit else ""
        return f"{text}, {len(self.failed)} failed: {shown}{more}"
