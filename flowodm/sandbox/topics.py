"""Topic helpers for the sandbox, checks and benchmarks: create a topic, read one back whole.

Tansu wants topics created explicitly (a topic auto-created by a produce can be read only
partly at first), and its ListOffsets under-reports the high watermark, so messages are counted
by consuming them. Nothing here needs pytest; ``flowodm.testing`` builds its fixtures on it.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from flowodm.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message
    from confluent_kafka.admin import AdminClient

__all__ = ["consume_all", "create_topic"]

_TOPIC_TIMEOUT = 15.0
_POLL_SECONDS = 0.2


def consume_all(
    bootstrap_servers: str,
    topic: str,
    expected: int,
    timeout: float = 15.0,
    *,
    linger: float = 0.0,
) -> list[Message]:
    """Read ``topic`` from the start of every partition until ``expected`` messages arrived.

    Messages are counted by consuming them: Tansu's watermarks under-report. With ``linger``,
    reading goes on that many seconds after ``expected`` arrived and any surplus is returned
    too, so a caller can assert that there are no duplicates.

    Raises:
        AssertionError: fewer than ``expected`` arrived within ``timeout`` seconds (says how
            many did, per partition), or the consumer reported an error.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    if expected < 0:
        raise InvalidArgumentError(
            f"expected must be 0 or more messages, got {expected}", argument="expected"
        )

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"flowodm-consume-all-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        topic_meta = metadata.topics.get(topic)
        if topic_meta is None or topic_meta.error is not None or not topic_meta.partitions:
            problem = "missing" if topic_meta is None else (topic_meta.error or "no partitions")
            raise AssertionError(f"topic {topic!r} cannot be read: {problem}")
        consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(topic_meta.partitions)]
        )
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            _poll_into(consumer, messages, expected - len(messages))
        if len(messages) < expected:
            per_partition: dict[int, int] = {}
            for message in messages:
                partition = message.partition()
                assert partition is not None
                per_partition[partition] = per_partition.get(partition, 0) + 1
            raise AssertionError(
                f"consumed {len(messages)} of {expected} messages from {topic!r} within "
                f"{timeout} s (per partition: {per_partition or 'none'})"
            )
        linger_until = time.monotonic() + linger
        while time.monotonic() < linger_until:
            _poll_into(consumer, messages, 1000)
        return messages
    finally:
        consumer.close()


def _poll_into(consumer: Consumer, messages: list[Message], at_most: int) -> None:
    """Append up to ``at_most`` messages that arrive within a short poll."""
    # consume() waits for all num_messages or its timeout: keep both small so a caller's
    # count and deadline are checked often.
    for message in consumer.consume(num_messages=min(at_most, 1000), timeout=_POLL_SECONDS):
        error = message.error()
        if error is not None:
            raise AssertionError(f"consumer error while reading: {error}")
        messages.append(message)


def create_topic(admin: AdminClient, name: str, partitions: int = 1) -> None:
    """Create ``name`` and wait until metadata shows it with every partition led."""
    from confluent_kafka.cimpl import NewTopic

    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1)],
        operation_timeout=10,
        request_timeout=15,
    )
    futures[name].result(timeout=_TOPIC_TIMEOUT)
    deadline = time.monotonic() + _TOPIC_TIMEOUT
    seen = 0
    while time.monotonic() < deadline:
        topic = admin.list_topics(name, timeout=5).topics.get(name)
        if topic is not None and topic.error is None:
            seen = sum(1 for p in topic.partitions.values() if p.leader >= 0)
            if seen == partitions:
                return
        time.sleep(0.05)
    raise AssertionError(
        f"topic {name!r} shows {seen} of {partitions} partitions in metadata "
        f"after {_TOPIC_TIMEOUT} s"
    )
