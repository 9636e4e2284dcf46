"""The ledger of a consumer fault scenario: what was handed to the handler, checked against offsets.

Every message has a unique key. After a scenario the topic is read once (no fault) to learn
each key's partition and offset; the ledger then compares:

- **missing**: a produced message never handed to the handler (at-least-once broken).
- **duplicates**: extra hand-outs of a key (allowed: at-least-once re-delivers after a fault
  or a rebalance; counted).
- **committed past unprocessed**: an offset below a committed offset whose message had not
  been processed when the committed offsets were read (the group would skip it). Sampled
  mid-stream (``probe``) and at the end, checked once the offsets are known; must be 0.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from flowodm.consume.reading import read_messages
from flowodm.kafka.connection import Connection
from tests.consume.helpers import committed
from tests.faults.rows import FaultRow

__all__ = ["ConsumerLedger", "ConsumerOutcome", "locate"]


def locate(conn: Connection, topic: str) -> dict[str, tuple[int, int]]:
    """Each key's ``(partition, offset)`` in ``topic``, read with no fault applied."""
    result = read_messages(FaultRow, topic=topic, connection=conn, timeout=20)
    assert result.report.complete, result.report
    return {m.value.key: (m.partition, m.offset) for m in result if m.value is not None}


@dataclass
class ConsumerLedger:
    """What one consumer entry point handed to its handler in one scenario.

    Attributes:
        expected: How many messages the scenario produces.
        where: Each key's ``(partition, offset)`` (``locate``, at the end).
        handed: Keys handed to the handler, in order, repeats included.
        fault_at: ``time.monotonic()`` when the fault started.
        healed_at: When the fault ended (the proxy passes again).
        first_after_heal: When the first message after the heal was handed out.
        samples: Committed offsets read, each with the keys processed by then.
        longest_call_s: The longest single ``consume_batch`` call (``None``: not measured).
    """

    expected: int
    where: dict[str, tuple[int, int]] = field(default_factory=dict)
    handed: list[str] = field(default_factory=list)
    fault_at: float | None = None
    healed_at: float | None = None
    first_after_heal: float | None = None
    samples: list[tuple[dict[int, int], set[str]]] = field(default_factory=list)
    longest_call_s: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hand(self, key: str) -> None:
        """Record one message handed to (and processed by) the handler."""
        with self._lock:
            self.handed.append(key)
            healed, now = self.healed_at, time.monotonic()
            if healed is not None and now >= healed and self.first_after_heal is None:
                self.first_after_heal = now

    @property
    def done(self) -> bool:
        """Whether every message was handed out at least once."""
        with self._lock:
            return len(set(self.handed)) >= self.expected

    def probe(self, bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
        """Read the group's committed offsets and keep them with the keys processed by then.

        The processed set is taken after the offsets were read: it can only have grown since,
        so a violation found is a real one.
        """
        offsets = committed(bootstrap, group, topic, partitions)
        with self._lock:
            self.samples.append((offsets, set(self.handed)))
        return offsets

    def _violations(self) -> int:
        found = 0
        for offsets, keys in self.samples:
            processed = {self.where[k] for k in keys}
            for partition, next_offset in offsets.items():
                found += sum(1 for o in range(next_offset) if (partition, o) not in processed)
        return found

    def outcome(self, scenario: str, entry: str, final: dict[int, int]) -> ConsumerOutcome:
        """The figures of the scenario, with the committed offsets read at its end."""
        counts = Counter(self.handed)
        recovered = None
        if self.first_after_heal is not None and self.healed_at is not None:
            recovered = round(self.first_after_heal - self.healed_at, 2)
        return ConsumerOutcome(
            scenario=scenario,
            entry=entry,
            messages=len(self.where),
            handed=len(self.handed),
            duplicates=sum(n - 1 for n in counts.values() if n > 1),
            missing=len(set(self.where) - set(counts)),
            committed=sum(final.values()),
            committed_unprocessed=self._violations(),
            probes=len(self.samples),
            recovered_s=recovered,
            longest_call_s=self.longest_call_s,
        )


@dataclass(frozen=True)
class ConsumerOutcome:
    """The figures of one consumer scenario, as written to the JSON file and the table."""

    scenario: str
    entry: str
    messages: int
    handed: int
    duplicates: int
    missing: int
    committed: int
    committed_unprocessed: int
    probes: int
    recovered_s: float | None
    longest_call_s: float | None

    def to_json(self) -> dict[str, Any]:
        """The outcome as a JSON object."""
        return asdict(self)
