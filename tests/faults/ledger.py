"""The row ledger of a fault scenario: what the client reported per row, checked against the topic.

Every row has a unique key. After a scenario the topic is read back from offset 0 on every
partition and compared with what the entry point reported:

- **silent loss**: a row reported delivered but missing from the topic, or a row handed over
  that was neither reported delivered nor reported failed. The suite asserts there are none.
- **wrongly "not written"**: a row reported "failed, not written" that is on the topic (the
  status promised it is safe to send again). Counted with the silent losses.
- **duplicates**: extra copies of a key on the topic (the producer is idempotent).
- a row reported "failed, may have been written" may or may not be on the topic: both are
  allowed, and ``failed_on_topic`` counts those that are.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

__all__ = ["Ledger", "Outcome", "read_keys"]

# Reading goes on this long after the last new message (and after the delivered count arrived).
_READ_LINGER = 0.5
_READ_DEADLINE = 20.0


@dataclass
class Ledger:
    """What one entry point reported for the rows of one scenario.

    Attributes:
        handed: Keys of the rows handed to the entry point (rows a stopped loop never reached,
            or a backfill never read, are not handed).
        delivered: Keys reported acknowledged.
        not_written: Keys reported "failed" (not written: safe to send again).
        maybe_written: Keys reported "failed, may have been written".
        unreported: Rows the entry point's counts say were neither delivered nor failed (only
            a count is known, not which).
        fault_at: ``time.monotonic()`` when the fault was applied (``None``: no fault yet).
        first_error_at: ``time.monotonic()`` when the first error surfaced to the caller.
        errors: Distinct error names seen (``_MSG_TIMED_OUT``, ``PRODUCER_FENCED``, ...).
        recovered_s: Seconds from the heal until a row sent afterwards on the same connection
            was acknowledged (``None``: not measured, or it never was).
    """

    handed: list[str] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)
    not_written: set[str] = field(default_factory=set)
    maybe_written: set[str] = field(default_factory=set)
    unreported: int = 0
    fault_at: float | None = None
    first_error_at: float | None = None
    errors: set[str] = field(default_factory=set)
    recovered_s: float | None = None

    def error_seen(self, name: str | None = None) -> None:
        """Record that an error (named ``name``) surfaced now; the first sets ``first_error_at``."""
        if name is not None:
            self.errors.add(name)
        if self.first_error_at is None:
            self.first_error_at = time.monotonic()

    def fail(self, key: str, maybe_written: bool) -> None:
        """Record one row reported failed, with its status."""
        (self.maybe_written if maybe_written else self.not_written).add(key)

    def outcome(self, scenario: str, entry: str, on_topic: Counter[str], bound: float) -> Outcome:
        """Compare the reports with the keys read back from the topic."""
        handed = set(self.handed)
        reported = self.delivered | self.not_written | self.maybe_written
        missing = self.delivered - set(on_topic)
        never_reported = handed - reported
        first = None
        if self.first_error_at is not None and self.fault_at is not None:
            first = round(self.first_error_at - self.fault_at, 2)
        return Outcome(
            scenario=scenario,
            entry=entry,
            rows=len(handed),
            delivered=len(self.delivered),
            failed_not_written=len(self.not_written),
            failed_maybe_written=len(self.maybe_written),
            on_topic=sum(on_topic[k] for k in handed),
            silent_losses=len(missing) + max(len(never_reported), self.unreported),
            wrongly_not_written=len(self.not_written & set(on_topic)),
            double_reported=len(self.delivered & (self.not_written | self.maybe_written))
            + len(self.not_written & self.maybe_written),
            duplicates=sum(count - 1 for count in on_topic.values() if count > 1),
            failed_on_topic=len(self.maybe_written & set(on_topic)),
            strangers=len(set(on_topic) - handed),
            first_error_s=first,
            bound_s=bound,
            errors=sorted(self.errors),
            recovered_s=self.recovered_s,
        )


@dataclass(frozen=True)
class Outcome:
    """The figures of one scenario, as written to the JSON file and the reliability table."""

    scenario: str
    entry: str
    rows: int
    delivered: int
    failed_not_written: int
    failed_maybe_written: int
    on_topic: int
    silent_losses: int
    wrongly_not_written: int
    double_reported: int
    duplicates: int
    failed_on_topic: int
    strangers: int
    first_error_s: float | None
    bound_s: float
    errors: list[str]
    recovered_s: float | None

    def to_json(self) -> dict[str, Any]:
        """The outcome as a JSON object."""
        return asdict(self)


def read_keys(bootstrap: str, topic: str, at_least: int) -> Counter[str]:
    """Read ``topic`` from offset 0 of every partition and count each message key.

    Reads until ``at_least`` messages arrived and then ``_READ_LINGER`` s more with nothing new
    (so surplus copies are counted), or ``_READ_DEADLINE`` s passed. Watermarks are not used:
    Tansu's under-report.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"fault-readback-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = sorted(metadata.topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        keys: Counter[str] = Counter()
        deadline = time.monotonic() + _READ_DEADLINE
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=1000, timeout=0.2)
            for message in batch:
                error = message.error()
                if error is not None:
                    raise AssertionError(f"consumer error while reading back {topic!r}: {error}")
                raw = message.key()
                keys[raw.decode() if raw is not None else ""] += 1
            now = time.monotonic()
            if batch:
                last_new = now
            elif sum(keys.values()) >= at_least and now - last_new >= _READ_LINGER:
                break
        return keys
    finally:
        consumer.close()


def keys_of(rows: Iterable[int]) -> list[str]:
    """Keys of the given row numbers (see ``tests.faults.rows.row_key``)."""
    from tests.faults.rows import row_key

    return [row_key(n) for n in rows]
