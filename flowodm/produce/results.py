"""What the produce calls return: one message's ``DeliveryResult``, a batch's results.

Every failure carries ``maybe_written`` (``flowodm.kafka.errors.may_have_been_written``): a
failed delivery report does not prove that the broker did not store the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from confluent_kafka import KafkaError

from flowodm.kafka.errors import describe_error

__all__ = ["BulkResult", "DeliveryResult", "FailedDelivery", "FailedMessage", "ProduceManyResult"]

RefT = TypeVar("RefT")
ModelT = TypeVar("ModelT")


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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

    def summary(self, limit: int = 5) -> str:
        """Return a one-paragraph description naming up to ``limit`` failures."""
        text = f"{self.delivered} of {self.total} messages delivered to {self.topic!r}"
        if not self.failed:
            return text
        shown = "; ".join(str(f) for f in self.failed[:limit])
        more = f"; and {len(self.failed) - limit} more" if len(self.failed) > limit else ""
        return f"{text}, {len(self.failed)} failed: {shown}{more}"
