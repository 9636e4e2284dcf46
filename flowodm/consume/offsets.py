"""Which offsets may be committed: those of messages that were handed out and processed.

librdkafka commits what FlowODM *stores* (``enable.auto.offset.store=false``, see
``consume.client``). ``OffsetBook`` collects processed offsets in a dict (one assignment per
message, no librdkafka call) and stores them in one ``store_offsets`` call per batch, or when
``auto.commit.interval.ms`` has passed, so a slow handler still gets its offsets committed.

With concurrent processing (``AsyncConsumerLoop(max_concurrent>1)``) messages finish out of
order; ``InFlight`` keeps the offsets still being processed per partition, so only the offset
below the oldest unfinished message is ever stored and a crash re-delivers everything that
had not finished.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from typing import TYPE_CHECKING

from confluent_kafka import KafkaException, TopicPartition

if TYPE_CHECKING:
    from confluent_kafka import Consumer

__all__ = ["InFlight", "OffsetBook"]

logger = logging.getLogger("flowodm.consume")

Partition = tuple[str, int]


class OffsetBook:
    """Processed offsets waiting to be stored on the consumer (next offset per partition)."""

    def __init__(self, consumer: Consumer, interval: float, *, commit: bool = False) -> None:
        """``commit``: also request an asynchronous commit after each store (for consumers
        whose user turned ``enable.auto.commit`` off, so nothing else would commit)."""
        self._consumer = consumer
        self._interval = interval
        self._commit = commit
        self._pending: dict[Partition, int] = {}
        self._last_store = time.monotonic()
        # Async loops mark offsets on the event loop thread while the worker stores them.
        self._lock = threading.Lock()

    def processed(self, topic: str, partition: int, offset: int) -> None:
        """Mark ``offset`` processed (its partition's next offset to read is ``offset + 1``)."""
        with self._lock:
            self._pending[(topic, partition)] = offset + 1

    def processed_up_to(self, topic: str, partition: int, next_offset: int) -> None:
        """Mark everything below ``next_offset`` processed (for out-of-order completion)."""
        with self._lock:
            self._pending[(topic, partition)] = next_offset

    def store_if_due(self) -> None:
        """Store pending offsets when ``auto.commit.interval.ms`` passed since the last store."""
        if self._pending and time.monotonic() - self._last_store >= self._interval:
            self.store()

    def store(self, partitions: set[Partition] | None = None) -> None:
        """Store pending offsets (of ``partitions`` only, if given) so librdkafka commits them.

        A partition that was revoked meanwhile refuses the store; its messages go to the new
        owner again (at-least-once), so that refusal is only logged at debug level.
        """
        with self._lock:
            pending = self._pending
            if partitions is None:
                chosen, self._pending = pending, {}
            else:
                chosen = {tp: pending.pop(tp) for tp in list(pending) if tp in partitions}
            self._last_store = time.monotonic()
        if not chosen:
            return
        offsets = [TopicPartition(topic, part, off) for (topic, part), off in chosen.items()]
        try:
            self._consumer.store_offsets(offsets=offsets)
        except KafkaException as exc:
            # Partly refused (a revoked partition): store the others one by one.
            logger.debug("store_offsets refused %s: %s; storing one by one", offsets, exc)
            for tp in offsets:
                try:
                    self._consumer.store_offsets(offsets=[tp])
                except KafkaException:
                    logger.debug("offset %s not stored: partition no longer assigned", tp)
        if self._commit:
            try:
                self._consumer.commit(asynchronous=True)
            except KafkaException as exc:
                logger.debug("asynchronous commit refused: %s", exc)

    def forget(self, partitions: set[Partition]) -> None:
        """Drop pending offsets of partitions that are gone (revoked without a store)."""
        with self._lock:
            for tp in partitions:
                self._pending.pop(tp, None)


class InFlight:
    """Offsets being processed per partition; says how far a partition is done in order."""

    def __init__(self) -> None:
        self._open: dict[Partition, list[int]] = {}
        self._done: dict[Partition, set[int]] = {}
        self._highest: dict[Partition, int] = {}

    def start(self, topic: str, partition: int, offset: int) -> None:
        """Record that processing of ``offset`` began."""
        tp = (topic, partition)
        heapq.heappush(self._open.setdefault(tp, []), offset)
        self._highest[tp] = max(self._highest.get(tp, -1), offset)

    def finish(self, topic: str, partition: int, offset: int) -> int | None:
        """Record that ``offset`` is done; return the partition's new committable next offset.

        ``None`` while an older message of the partition is still being processed.
        """
        tp = (topic, partition)
        done = self._done.setdefault(tp, set())
        done.add(offset)
        heap = self._open[tp]
        advanced = False
        while heap and heap[0] in done:
            done.discard(heapq.heappop(heap))
            advanced = True
        if not advanced:
            return None
        return heap[0] if heap else self._highest[tp] + 1

    def __len__(self) -> int:
        return sum(len(heap) for heap in self._open.values())
