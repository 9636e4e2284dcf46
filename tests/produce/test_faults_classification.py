"""Failures that prove nothing was written are labelled "not written", not "may have been".

Issue 13: a topic name the broker refuses (``TOPIC_EXCEPTION``) and a broker that was never
reachable (the message never left the client's unassigned queue, so its delivery report has
no partition) were both reported as "failed, may have been written".
"""

from __future__ import annotations

import socket

import pytest
from confluent_kafka import KafkaError, Message

from flowodm.exceptions import ProducerError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.kafka.errors import is_settled, may_have_been_written, unsent_error
from flowodm.model import FlowBaseModel

# The local queue gives up on an unreachable broker after this long (the default is 30 s).
_MESSAGE_TIMEOUT_MS = 1000


class Plain(FlowBaseModel):
    """A model that needs no Schema Registry, so a dead broker is the only fault."""

    class Settings:
        topic = "faults"
        confluent_wire_format = False

    n: int


def _dead_port() -> int:
    """A local port nobody listens on (bound once to pick it, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dead_connection() -> Connection:
    """A connection to a broker that never answers, giving up on a message after 1 s."""
    return Connection(
        build_config(
            bootstrap_servers=f"127.0.0.1:{_dead_port()}",
            producer_config={"message.timeout.ms": _MESSAGE_TIMEOUT_MS},
        )
    )


def test_invalid_topic_is_not_written() -> None:
    assert may_have_been_written(KafkaError(KafkaError.TOPIC_EXCEPTION)) is False


@pytest.mark.parametrize("code", [KafkaError._MSG_TIMED_OUT, KafkaError._PURGE_QUEUE])
def test_message_without_partition_was_never_sent(code: int) -> None:
    error = KafkaError(code)
    unassigned = Message(topic="t", error=error)  # partition() is None: never partitioned
    partitioned = Message(topic="t", partition=0, error=error)

    assert may_have_been_written(error, unassigned) is False
    assert may_have_been_written(error, partitioned) is True
    assert may_have_been_written(unsent_error(error, unassigned)) is False
    assert may_have_been_written(unsent_error(error, partitioned)) is True


def test_unsent_error_keeps_code_and_text() -> None:
    error = KafkaError(KafkaError._MSG_TIMED_OUT)
    marked = unsent_error(error, Message(topic="t", error=error))

    assert isinstance(marked, KafkaError)
    assert (marked.code(), marked.name(), marked.str()) == (error.code(), error.name(), error.str())
    assert marked == error


def test_refused_topic_name_is_reported_not_written(conn: Connection) -> None:
    with pytest.raises(ProducerError) as caught:
        Plain(n=1).produce(topic="bad topic!", connection=conn, timeout=10)

    assert caught.value.kafka_error is not None
    assert caught.value.kafka_error.code() == KafkaError.TOPIC_EXCEPTION
    assert "(it was not written)" in str(caught.value)


def test_produce_to_unreachable_broker_is_not_written(dead_connection: Connection) -> None:
    try:
        with pytest.raises(ProducerError) as caught:
            Plain(n=1).produce(connection=dead_connection, timeout=10)
    finally:
        dead_connection.close(0)

    assert caught.value.kafka_error is not None
    assert caught.value.kafka_error.code() == KafkaError._MSG_TIMED_OUT
    assert "(it was not written)" in str(caught.value)


def test_produce_many_to_unreachable_broker_is_not_written(dead_connection: Connection) -> None:
    try:
        result = Plain.produce_many(
            [Plain(n=i) for i in range(5)],
            connection=dead_connection,
            raise_on_error=False,
            timeout=10,
            stall_timeout=30,  # librdkafka's own timeouts report first: no purge races them
        )
    finally:
        dead_connection.close(0)

    assert result.delivered == 0
    assert [f.index for f in result.failed] == [0, 1, 2, 3, 4]
    assert [f.maybe_written for f in result.failed] == [False] * 5


@pytest.mark.parametrize(
    ("code", "settled"),
    [
        (
            KafkaError._MSG_TIMED_OUT,
            False,
        ),  # the client gave up waiting: a dead broker's only answer
        (KafkaError._PURGE_QUEUE, False),
        (KafkaError._PURGE_INFLIGHT, False),
        (KafkaError._TRANSPORT, False),
        (KafkaError._UNKNOWN_TOPIC, True),  # a certain refusal: the broker's metadata said so
        (KafkaError.MSG_SIZE_TOO_LARGE, True),
        (KafkaError.REQUEST_TIMED_OUT, True),  # the broker's own answer, even if a timeout
    ],
)
def test_only_answers_count_as_progress_for_a_bulk_send(code: int, settled: bool) -> None:
    assert is_settled(KafkaError(code)) is settled
