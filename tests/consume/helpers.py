"""Helpers of the consume tests: committed offsets as the broker has them, unique groups."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, TopicPartition


def new_group(prefix: str = "g") -> str:
    """A consumer group no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def committed(bootstrap: str, group: str, topic: str, partitions: int = 1) -> dict[int, int]:
    """The group's committed next offsets per partition (absent: nothing committed).

    ``committed()`` only asks the group coordinator; the asking consumer never joins the group.
    """
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        asked = [TopicPartition(topic, p) for p in range(partitions)]
        found = probe.committed(asked, timeout=10)
    finally:
        probe.close()
    return {tp.partition: tp.offset for tp in found if tp.offset >= 0}
