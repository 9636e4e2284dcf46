"""One message on its way to Kafka: encoded, its produce arguments checked, and its outcome.

``Outgoing`` is what ``produce``/``produce_nowait``/``aproduce`` hand to the shared producer;
the checks here refuse bad ``partition``/``timestamp``/``headers`` values with an
``InvalidArgumentError`` (``ArgumentTypeError`` for a wrong type) naming the argument, before
anything is sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from flowodm._types import DeliveryCallback, Headers, Timestamp
from flowodm.exceptions import (
    ArgumentTypeError,
    DeliveryTimeoutError,
    InvalidArgumentError,
    ProducerError,
)
from flowodm.kafka.errors import ClientErrorReport, describe_error
from flowodm.produce.results import DeliveryResult

__all__ = [
    "Outgoing",
    "check_headers",
    "check_partition",
    "timestamp_ms",
]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One encoded message, ready for ``Producer.produce``."""

    topic: str
    value: bytes
    key: bytes | None
    partition: int
    timestamp: int
    headers: Headers | None

    def enqueue(self, producer: Producer, on_delivery: DeliveryCallback | None) -> bool:
        """Hand the message to librdkafka; ``False`` when its local queue is full.

        Raises:
            ProducerError: librdkafka refused it at once (e.g. too large, unknown partition)
                or an argument has the wrong type.
        """
        try:
            producer.produce(
                self.topic,
                self.value,
                self.key,
                self.partition,
                on_delivery=on_delivery,
                timestamp=self.timestamp,
                headers=self.headers,
            )
        except BufferError:
            return False
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            raise ProducerError(
                f"Kafka refused the message for {self.topic!r}: {describe_error(error)}",
                kafka_error=error,
                topic=self.topic,
                key=self.key,
            ) from None
        except (TypeError, ValueError) as exc:
            raise ProducerError(
                f"cannot produce to {self.topic!r}: {exc} (check headers, partition and timestamp)",
                topic=self.topic,
                key=self.key,
            ) from None
        return True

    def queue_full_error(
        self, waited: float, cause: ClientErrorReport | None = None
    ) -> ProducerError:
        """The error for "the local queue stayed full for ``waited`` seconds".

        ``cause`` is the producer's last client error, quoted because it usually says why.
        """
        why = (
            f"the client last reported {cause.describe()}"
            if cause is not None
            else "the broker is slow or unreachable, or queue.buffering.max.messages / "
            "queue.buffering.max.kbytes is too small"
        )
        return ProducerError(
            f"the local producer queue stayed full for {waited:g} s, so the message for "
            f"{self.topic!r} was not sent (not written); {why}",
            topic=self.topic,
            key=self.key,
            client_error=cause,
        )

    def no_ack(self, waited: float, cause: ClientErrorReport | None = None) -> DeliveryTimeoutError:
        """The error for "no acknowledgement within ``waited`` seconds".

        ``cause`` is the producer's last client error, quoted because it usually says why.
        """
        why = (
            f"the client last reported {cause.describe()}"
            if cause is not None
            else "is the broker reachable?"
        )
        return DeliveryTimeoutError(
            f"no acknowledgement for the message to {self.topic!r} within {waited:g} s; "
            f"{why}. The message may have been written (or may still be, while librdkafka "
            "keeps retrying until message.timeout.ms)",
            kafka_error=KafkaError(KafkaError._MSG_TIMED_OUT, "no acknowledgement in time"),
            topic=self.topic,
            key=self.key,
            client_error=cause,
        )

    def delivered(self, message: Message) -> DeliveryResult:
        """The ``DeliveryResult`` of this message's successful delivery report."""
        kind, stamp = message.timestamp()
        return DeliveryResult(
            topic=message.topic() or self.topic,
            partition=_int(message.partition()),
            offset=_int(message.offset()),
            timestamp=stamp if kind else None,
            key=message.key(),
        )


def check_partition(partition: int | None, topic: str) -> int:
    """Return librdkafka's partition argument (-1: let the partitioner choose)."""
    if partition is None:
        return -1
    if not isinstance(partition, int) or isinstance(partition, bool):
        raise ArgumentTypeError(
            f"partition must be a non-negative int or None, got {partition!r} (topic {topic!r})",
            argument="partition",
        )
    if partition < 0:
        raise InvalidArgumentError(
            f"partition must be a non-negative int or None, got {partition!r} (topic {topic!r})",
            argument="partition",
        )
    return partition


def timestamp_ms(timestamp: Timestamp, topic: str) -> int:
    """Return the CreateTime in ms (0 = "now", librdkafka's convention)."""
    if timestamp is None:
        return 0
    if isinstance(timestamp, dt.datetime):
        # FlowODM's rule everywhere: a naive datetime is UTC, never local time.
        aware = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=dt.UTC)
        return int(aware.timestamp() * 1000)
    wanted = "timestamp must be a datetime or a positive int of milliseconds since the epoch"
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise ArgumentTypeError(
            f"{wanted}, got {timestamp!r} (topic {topic!r})", argument="timestamp"
        )
    if timestamp <= 0:
        raise InvalidArgumentError(
            f"{wanted}, got {timestamp!r} (topic {topic!r})", argument="timestamp"
        )
    return timestamp


def check_headers(headers: Headers | None, topic: str) -> Headers | None:
    """Return ``headers`` if every name is a str and every value str, bytes or None."""
    if headers is None:
        return None
    pairs = headers.items() if isinstance(headers, dict) else headers
    try:
        for name, value in pairs:
            if not isinstance(name, str) or not isinstance(value, str | bytes | type(None)):
                raise TypeError
    except (TypeError, ValueError):
        raise ArgumentTypeError(
            f"headers must be a dict or a list of (str, str | bytes | None) pairs, got "
            f"{headers!r} (topic {topic!r})",
            argument="headers",
        ) from None
    return headers


def _int(value: int | None) -> int:
    return -1 if value is None else value
