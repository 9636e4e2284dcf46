"""How a Kafka error is classified: may the message be written, must the client be replaced.

A failed delivery report does not prove a message was not written (a timed-out request may
still have been appended by the broker), so every failure carries ``maybe_written``: ``False``
only for errors that mean the broker never accepted the message, and for a message that never
left the client: librdkafka keeps a message in the topic's unassigned queue until it learns
the topic's partitions, so a delivery report with no partition (``message.partition()`` is
``None``) proves the message was never in a produce request, whatever the error (the broker was
never reachable, the topic never appeared). confluent-kafka does not expose librdkafka's
per-message persistence status, so this is the one per-message proof available.
``ClientErrorReport`` is the
last client-level error a producer reported (a refused connection, a failed SASL handshake):
timeout errors quote it, because it is usually the real cause.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message

__all__ = [
    "ClientErrorReport",
    "UnsentError",
    "describe_error",
    "is_producer_broken",
    "may_have_been_written",
    "unsent_error",
]

# Errors after which the message is known not to be on the topic: librdkafka refused it before
# sending (size, unknown partition or topic, a bad argument, a full queue), the broker refused
# it deterministically (size, format, timestamp, authorization: every attempt gets the same
# answer). Everything else (``_MSG_TIMED_OUT``, both purge codes, fencing, transport errors,
# retriable broker errors) is reported as "may have been written". ``_PURGE_QUEUE`` belongs there
# too: librdkafka puts a sent batch whose answer was lost back in the local queue to retry it, so
# a message purged "from the queue" may already be on the topic (reproduced against Tansu with a
# proxy that drops Produce responses), and the Python client cannot tell the two cases apart.
_NEVER_WRITTEN: frozenset[int] = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.INVALID_RECORD,
        KafkaError.INVALID_TIMESTAMP,
        KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT,
        KafkaError._UNKNOWN_PARTITION,
        KafkaError._UNKNOWN_TOPIC,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.TOPIC_EXCEPTION,  # "Invalid topic": the broker refuses the name itself
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.INVALID_REQUIRED_ACKS,
        KafkaError._INVALID_ARG,
        KafkaError._QUEUE_FULL,
    }
)

# Errors that leave a producer unable to send again: fatal errors and, on Tansu 0.6, the
# PRODUCER_FENCED answer an idempotent producer gets after any message timeout (the bumped
# epoch is never accepted), so the producer must be replaced.
_BREAKS_PRODUCER: frozenset[int] = frozenset(
    {KafkaError.PRODUCER_FENCED, KafkaError._FENCED, KafkaError._FATAL}
)

# What to check for the client errors that usually explain a timeout.
_CLIENT_ERROR_HINTS: dict[int, str] = {
    KafkaError._AUTHENTICATION: (
        "check security_protocol, sasl_mechanism, sasl_username/sasl_password and the SSL "
        "settings against the broker's listener"
    ),
    KafkaError._SSL: "check the SSL settings (ssl_ca_location, certificates) and security_protocol",
    KafkaError._TRANSPORT: "check bootstrap_servers and that the broker is running and reachable",
    KafkaError._ALL_BROKERS_DOWN: (
        "check bootstrap_servers and that the broker is running and reachable"
    ),
    KafkaError._RESOLVE: "check the host names in bootstrap_servers",
}


class UnsentError(KafkaError):
    """A ``KafkaError`` of a message that never left the client (its report had no partition).

    The same code, text and flags as librdkafka's error, so it compares equal to it and reads
    the same; only ``may_have_been_written`` treats it differently. FlowODM's delivery
    callbacks hand it on in place of the original (``unsent_error``), so code that keeps only
    the error still knows the message was not written. Pickled, it becomes a plain
    ``KafkaError`` (the ``maybe_written`` flags of results are recorded before that).
    """

    __slots__ = ()


def unsent_error(error: KafkaError, message: Message) -> KafkaError:
    """Return ``error`` as an ``UnsentError`` if ``message`` never left the client, else itself.

    A message without a partition was still in librdkafka's unassigned queue when it failed:
    the client never learnt the topic's partitions (no broker answered, or the topic does not
    exist), so no produce request ever carried it.
    """
    if isinstance(error, UnsentError) or message.partition() is not None:
        return error
    return UnsentError(
        error.code(), error.str(), error.fatal(), error.retriable(), error.txn_requires_abort()
    )


def may_have_been_written(error: KafkaError, message: Message | None = None) -> bool:
    """Return whether a message that failed with ``error`` may still be on the topic.

    Args:
        error: The delivery report's error.
        message: The reported message, if at hand: one without a partition was never sent.
    """
    if isinstance(error, UnsentError) or (message is not None and message.partition() is None):
        return False
    return error.code() not in _NEVER_WRITTEN


def is_settled(error: KafkaError) -> bool:
    """Return whether ``error`` is an answer, not the client giving up on waiting for one.

    An error of the broker's own (a code of 0 or more) or a refusal that proves the message was
    never written is an answer. A timeout, a purge or a transport error is the client's own:
    a dead broker produces nothing else, so a bulk send's stall watch must not take it for
    progress.
    """
    code = error.code()
    return code >= 0 or code in _NEVER_WRITTEN


def is_producer_broken(error: KafkaError) -> bool:
    """Return whether ``error`` means the producer that reported it must be replaced."""
    return bool(error.fatal()) or error.code() in _BREAKS_PRODUCER


def describe_error(error: KafkaError) -> str:
    """Return ``NAME: reason`` for a KafkaError, the form used in every FlowODM message."""
    return f"{error.name()}: {error.str()}"


@dataclass(frozen=True, slots=True)
class ClientErrorReport:
    """A client-level error a producer reported through librdkafka's error callback.

    Attributes:
        code: The ``KafkaError`` code (e.g. ``KafkaError._AUTHENTICATION``).
        name: The code's name, e.g. ``"_AUTHENTICATION"``.
        reason: librdkafka's description, with known secrets masked.
        fatal: Whether librdkafka flagged the error as fatal for the producer.
        at: When it was reported, in ``time.monotonic()`` seconds.
    """

    code: int
    name: str
    reason: str
    fatal: bool
    at: float

    @property
    def age(self) -> float:
        """Seconds since the error was reported."""
        return max(0.0, time.monotonic() - self.at)

    @property
    def hint(self) -> str | None:
        """What to check for this kind of error, or ``None`` when there is nothing specific."""
        return _CLIENT_ERROR_HINTS.get(self.code)

    def describe(self) -> str:
        """Return ``NAME: reason (2.1 s ago)`` followed by what to check, if known."""
        reason = self.reason.rstrip(" .")
        text = f"{self.name}: {reason} ({self.age:.1f} s ago)"
        return f"{text}; {self.hint}" if self.hint else text

    def __str__(self) -> str:
        return self.describe()
