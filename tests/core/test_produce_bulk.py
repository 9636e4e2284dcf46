"""BulkSender against the sandbox broker: counts, failures mapped to refs, stalls, bounds."""

from __future__ import annotations

import re
import time

import pytest
from confluent_kafka import KafkaError, Message

from flowodm.exceptions import BulkDeliveryTimeoutError, DeliveryTimeoutError, ProducerError
from flowodm.kafka.clients import FlowProducer
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.kafka.pool import MAX_IDLE, POOL
from flowodm.produce.bulk import BulkSender
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.core.helpers import dead_address, wait_until

pytestmark = pytest.mark.integration


def _connection(bootstrap: str, **producer_config: object) -> Connection:
    return Connection(build_config(bootstrap_servers=bootstrap, producer_config=producer_config))


@pytest.fixture
def dead_bootstrap() -> str:
    """An address where nothing listens (bound, then released)."""
    return dead_address()


def test_delivers_every_message_and_reports_progress(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    acked: list[int] = []
    sender: BulkSender[int] = BulkSender(
        conn, topic, timeout=30, stall_timeout=30, on_acked=acked.append
    )
    values = [f"value-{i}".encode() for i in range(5000)]
    seen: list[int] = []  # `delivered` read while sending
    for i, value in enumerate(values):
        sender.send(value, f"k{i % 7}".encode(), i)
        if i % 500 == 499:
            seen.append(sender.delivered)
            assert 0 <= seen[-1] <= i + 1
    result = sender.close()

    assert seen == sorted(seen)  # never decreases
    assert result.delivered == 5000 == sender.delivered
    assert result.failed == []
    assert result.ok
    assert sum(acked) == 5000
    assert all(step > 0 for step in acked)
    # Exactly what was written: lingering would also read any duplicate.
    on_topic = consume_all(sandbox.bootstrap_servers, topic, 5000, linger=0.5)
    assert len(on_topic) == result.delivered
    assert sorted(m.value() or b"" for m in on_topic) == sorted(values)
    assert {m.key() for m in on_topic} == {f"k{i}".encode() for i in range(7)}


def test_close_is_idempotent_and_send_after_close_raises(
    conn: Connection, make_topic: TopicFactory
) -> None:
    sender: BulkSender[str] = BulkSender(conn, make_topic(), timeout=30, stall_timeout=30)
    sender.send(b"only", None, "a")
    first = sender.close()
    assert sender.close() is first
    with pytest.raises(ProducerError, match="closed"):
        sender.send(b"late", None, "b")


def test_messages_rejected_locally_are_failed_with_their_ref(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    with _connection(sandbox.bootstrap_servers, **{"message.max.bytes": 2000}) as connection:
        sender: BulkSender[int] = BulkSender(connection, topic, timeout=30, stall_timeout=30)
        too_large = {3, 10, 17}
        for i in range(20):
            size = 5000 if i in too_large else 20
            sender.send(str(i).encode().ljust(size, b"."), None, i)
        result = sender.close()

    assert result.delivered == 17
    assert {f.ref for f in result.failed} == too_large
    assert {f.kafka_error.code() for f in result.failed} == {KafkaError.MSG_SIZE_TOO_LARGE}
    assert not any(f.maybe_written for f in result.failed)
    assert len(consume_all(sandbox.bootstrap_servers, topic, 17, linger=0.5)) == 17


def test_identical_payloads_to_different_partitions_are_told_apart(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=1)
    sender: BulkSender[str] = BulkSender(conn, topic, timeout=30, stall_timeout=30)
    sender.send(b"same", b"k", "to-p0", partition=0)
    sender.send(b"same", b"k", "to-p5", partition=5)
    sender.send(b"same", b"k", "default")
    result = sender.close()

    assert result.delivered == 2
    assert [(f.ref, f.kafka_error.code()) for f in result.failed] == [
        ("to-p5", KafkaError._UNKNOWN_PARTITION)
    ]
    assert len(consume_all(sandbox.bootstrap_servers, topic, 2)) == 2


def test_duplicates_and_headers_are_delivered(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    sender: BulkSender[int] = BulkSender(conn, topic, timeout=30, stall_timeout=30)
    for i in range(3):
        sender.send(b"dup", b"key", i, headers={"source": "bulk", "n": str(i)})
    result = sender.close()

    assert (result.delivered, result.failed) == (3, [])
    messages = consume_all(sandbox.bootstrap_servers, topic, 3)
    numbers = [dict(m.headers() or [])["n"] for m in messages]
    assert sorted(numbers, key=repr) == [b"0", b"1", b"2"]


def test_failure_reports_map_to_refs_through_the_in_flight_window(
    conn: Connection, make_topic: TopicFactory
) -> None:
    # The error callback is what librdkafka calls for a failed message; drive it directly
    # with two identical messages to check FIFO attribution and the "producer broken" swap.
    topic = make_topic()
    sender: BulkSender[str] = BulkSender(conn, topic, timeout=30, stall_timeout=30)
    sender._window.add(b"v", b"k", "first", None)
    sender._window.add(b"v", b"k", "second", None)
    fenced = KafkaError(KafkaError.PRODUCER_FENCED, "fenced")
    sender._on_error(fenced, Message(topic=topic, partition=0, key=b"k", value=b"v"))
    old_producer = sender.producer

    sender.poll()

    assert [(f.ref, f.maybe_written) for f in sender.failed] == [("first", True)]
    assert sender.tracked == 0  # queue empty: the window was forgotten
    assert sender.producer is not old_producer  # a fenced producer is replaced
    sender.send(b"after", None, "after")
    assert [f.ref for f in sender.close().failed] == ["first"]


def test_in_flight_window_stays_bounded(conn: Connection, make_topic: TopicFactory) -> None:
    sender: BulkSender[int] = BulkSender(
        conn, make_topic(), timeout=30, stall_timeout=30, max_tracked=50
    )
    largest = 0
    for i in range(600):
        sender.send(i.to_bytes(4, "big"), None, i)
        largest = max(largest, sender.tracked)
    assert sender.close().delivered == 600
    assert 50 <= largest <= 50 + 50 // 4


def test_send_many_delivers_and_maps_rejections_to_refs(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    settings = {"message.max.bytes": 2000, "queue.buffering.max.messages": 300}
    with _connection(sandbox.bootstrap_servers, **settings) as connection:
        acked: list[int] = []
        sender: BulkSender[int] = BulkSender(
            connection, topic, timeout=30, stall_timeout=30, on_acked=acked.append
        )
        too_large = {5, 1500, 2999}
        values = [str(i).encode().ljust(5000 if i in too_large else 30, b".") for i in range(3000)]
        keys = [str(i % 10).encode() for i in range(3000)]
        sender.send_many(values, keys, range(3000))
        result = sender.close()

    assert result.delivered == 2997
    assert sum(acked) == 2997
    assert sorted(f.ref for f in result.failed) == sorted(too_large)
    on_topic = consume_all(sandbox.bootstrap_servers, topic, 2997)
    assert sorted(m.value() or b"" for m in on_topic) == sorted(
        v for i, v in enumerate(values) if i not in too_large
    )


def test_send_many_failures_reported_later_map_to_refs(dead_bootstrap: str) -> None:
    with _connection(dead_bootstrap) as connection:
        sender: BulkSender[str] = BulkSender(connection, "nowhere", timeout=1, stall_timeout=30)
        sender.send_many([b"a", b"b", b"a"], None, ["a1", "b", "a2"])
        sender.send(b"c", b"key", "c")
        result = sender.close()

    assert result.delivered == 0
    assert sorted(f.ref for f in result.failed) == ["a1", "a2", "b", "c"]
    assert {f.kafka_error.code() for f in result.failed} == {KafkaError._MSG_TIMED_OUT}


def test_send_many_rejects_mismatched_lengths(conn: Connection) -> None:
    sender: BulkSender[int] = BulkSender(conn, "t", timeout=30, stall_timeout=30)
    with pytest.raises(ValueError, match="same length"):
        sender.send_many([b"a", b"b"], [b"k"], range(2))
    sender.close()


def test_healthy_producer_is_reused_by_the_next_sender(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    first: BulkSender[int] = BulkSender(conn, topic, timeout=30, stall_timeout=30)
    producer = first.producer
    first.send(b"a", None, 0)
    first.close()
    second: BulkSender[int] = BulkSender(conn, topic, timeout=30, stall_timeout=30)
    assert second.producer is producer
    other_timeout: BulkSender[int] = BulkSender(conn, topic, timeout=20, stall_timeout=30)
    assert other_timeout.producer is not producer
    second.close()
    other_timeout.close()


def test_closing_the_connection_closes_its_pooled_producers(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    connection = _connection(sandbox.bootstrap_servers)
    sender: BulkSender[int] = BulkSender(connection, topic, timeout=30, stall_timeout=30)
    pooled = sender.producer
    assert pooled is not None
    sender.send(b"a", None, 0)
    assert sender.close().delivered == 1  # the drained producer goes back to the pool

    connection.close(5)

    with pytest.raises(RuntimeError, match="closed"):
        pooled.produce(topic, b"late")


@pytest.fixture
def closed_quietly(monkeypatch: pytest.MonkeyPatch) -> list[FlowProducer]:
    """Every producer closed through ``close_quietly`` (the pool's way), once it is closed."""
    closed: list[FlowProducer] = []
    close_quietly = FlowProducer.close_quietly

    def recording(self: FlowProducer) -> None:
        close_quietly(self)
        closed.append(self)

    monkeypatch.setattr(FlowProducer, "close_quietly", recording)
    return closed


def test_an_idle_pooled_producer_is_closed_after_idle_seconds(
    conn: Connection,
    make_topic: TopicFactory,
    monkeypatch: pytest.MonkeyPatch,
    closed_quietly: list[FlowProducer],
) -> None:
    monkeypatch.setattr(POOL, "idle_seconds", 0.2)
    sender: BulkSender[int] = BulkSender(conn, make_topic(), timeout=30, stall_timeout=30)
    pooled = sender.producer
    sender.send(b"a", None, 0)
    assert sender.close().delivered == 1

    wait_until(lambda: any(p is pooled for p in closed_quietly), "the idle producer's close")
    assert pooled is not None
    with pytest.raises(RuntimeError, match="closed"):
        pooled.poll(0)
    fresh: BulkSender[int] = BulkSender(conn, "t", timeout=30, stall_timeout=30)
    assert fresh.producer is not pooled
    fresh.close()


def test_at_most_max_idle_producers_are_kept_per_connection(
    conn: Connection, make_topic: TopicFactory, closed_quietly: list[FlowProducer]
) -> None:
    topic = make_topic()
    senders: list[BulkSender[int]] = [
        BulkSender(conn, topic, timeout=30, stall_timeout=30) for _ in range(MAX_IDLE + 1)
    ]
    producers = [s.producer for s in senders]
    for sender in senders:
        sender.close()

    assert closed_quietly == [producers[-1]]  # one more than MAX_IDLE: closed at once
    again: list[BulkSender[int]] = [
        BulkSender(conn, topic, timeout=30, stall_timeout=30) for _ in range(MAX_IDLE)
    ]
    assert {id(s.producer) for s in again} == {id(p) for p in producers[:MAX_IDLE]}
    for sender in again:
        sender.close()


def test_stall_purges_and_reports_what_never_left_the_queue_as_not_written(
    dead_bootstrap: str,
) -> None:
    with _connection(dead_bootstrap) as connection:
        sender: BulkSender[int] = BulkSender(connection, "nowhere", timeout=60, stall_timeout=1)
        for i in range(50):
            sender.send(f"v{i}".encode(), None, i)
        with pytest.raises(BulkDeliveryTimeoutError, match="was acknowledged for") as info:
            sender.close()

    error = info.value
    assert isinstance(error, DeliveryTimeoutError)
    assert error.topic == "nowhere"
    assert error.result.delivered == 0
    assert sorted(f.ref for f in error.result.failed) == list(range(50))
    # Nothing ever reached a broker: every message was purged from the local queue.
    assert {f.kafka_error.code() for f in error.result.failed} == {KafkaError._PURGE_QUEUE}
    # ... and none had a partition yet, which proves it was never sent.
    assert not any(f.maybe_written for f in error.result.failed)
    assert "0 acknowledged; 50 failed and not written" in str(error)
    assert "0 failed and may have been written" in str(error)
    with pytest.raises(ProducerError, match="closed"):
        sender.send(b"late", None, 99)


def test_message_timeout_fails_every_message_without_raising(dead_bootstrap: str) -> None:
    with _connection(dead_bootstrap) as connection:
        sender: BulkSender[int] = BulkSender(connection, "nowhere", timeout=1, stall_timeout=30)
        for i in range(20):
            sender.send(f"v{i}".encode(), None, i)
        result = sender.close()

    assert result.delivered == 0
    assert sorted(f.ref for f in result.failed) == list(range(20))
    assert {f.kafka_error.code() for f in result.failed} == {KafkaError._MSG_TIMED_OUT}
    assert not any(f.maybe_written for f in result.failed)  # never partitioned, never sent


def test_full_queue_waits_for_room(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    topic = make_topic()
    with _connection(
        sandbox.bootstrap_servers, **{"queue.buffering.max.messages": 100}
    ) as connection:
        sender: BulkSender[int] = BulkSender(connection, topic, timeout=30, stall_timeout=30)
        for i in range(2000):
            sender.send(i.to_bytes(4, "big"), None, i)
        assert sender.close().delivered == 2000
    assert len(consume_all(sandbox.bootstrap_servers, topic, 2000)) == 2000


def test_full_queue_against_a_dead_broker_raises_a_stall(dead_bootstrap: str) -> None:
    with _connection(dead_bootstrap, **{"queue.buffering.max.messages": 10}) as connection:
        sender: BulkSender[int] = BulkSender(connection, "nowhere", timeout=60, stall_timeout=1)
        with pytest.raises(BulkDeliveryTimeoutError) as info:
            for i in range(100):
                sender.send(i.to_bytes(4, "big"), None, i)
    assert len(info.value.result.failed) == 10
    assert info.value.result.delivered == 0


def test_rejects_non_positive_timeouts(conn: Connection) -> None:
    with pytest.raises(ValueError, match="positive"):
        BulkSender(conn, "t", timeout=0, stall_timeout=1)


def test_delivered_is_never_negative_while_the_broker_is_unreachable(dead_bootstrap: str) -> None:
    # librdkafka queues a client error event per failed connection attempt; len(producer)
    # counts them, so reading it without serving them first made `delivered` negative.
    with _connection(dead_bootstrap) as connection:
        sender: BulkSender[int] = BulkSender(connection, "nowhere", timeout=5, stall_timeout=5)
        producer = sender.producer
        assert producer is not None
        wait_until(lambda: len(producer) > 0, "a queued client error event")
        assert sender.delivered == 0
        assert sender.close().delivered == 0


def test_stall_with_the_broker_down_counts_only_messages_as_outstanding(
    dead_bootstrap: str,
) -> None:
    with _connection(dead_bootstrap) as connection:
        sender: BulkSender[int] = BulkSender(connection, "nowhere", timeout=60, stall_timeout=1)
        for i in range(50):
            sender.send(f"v{i}".encode(), None, i)
        producer = sender.producer
        assert producer is not None
        # Let connection-error events pile up on the queue next to the 50 messages.
        wait_until(lambda: len(producer) > 50, "client error events queued after the messages")
        assert sender.delivered == 0
        with pytest.raises(BulkDeliveryTimeoutError) as info:
            sender.close()

    message = str(info.value)
    assert re.search(r"\bwith 50 messages outstanding\b", message), message
    assert "gave no report" not in message
    assert info.value.result.delivered == 0
    assert sorted(f.ref for f in info.value.result.failed) == list(range(50))
    assert sender.delivered == 0


def test_abort_counts_delivered_exactly_while_error_events_are_queued(
    dead_bootstrap: str,
) -> None:
    with _connection(dead_bootstrap) as connection:
        sender: BulkSender[int] = BulkSender(connection, "nowhere", timeout=60, stall_timeout=60)
        sender.send_many([b"a", b"b", b"c"], None, range(3))
        time.sleep(0.5)  # error events queue up; nothing is served meanwhile
        result = sender.abort()

    assert result.delivered == 0
    assert sorted(f.ref for f in result.failed) == [0, 1, 2]
    assert {f.kafka_error.code() for f in result.failed} == {KafkaError._PURGE_QUEUE}
    # A purge alone never proves "not written"; a message that had no partition yet does.
    assert not any(f.maybe_written for f in result.failed)
