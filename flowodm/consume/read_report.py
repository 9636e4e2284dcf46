"""What a topic read returned and what it could not: ``ReadReport`` and ``TopicReadError``.

A read (``read_messages``, ``flowodm.read_topic``) never drops a message silently: every message
in the ranges it read is returned, or is a tombstone (counted), or failed to decode (listed with
its partition, offset, field and reason). The report also says which offsets of each partition
were read, and whether the read stopped early (``max_messages``, ``timeout``, Ctrl-C: then the
caller raises ``ReadInterrupted`` with the report and what was read, see ``consume.interrupts``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from flowodm._optional import require
from flowodm.consume.interrupts import ReadInterrupted
from flowodm.exceptions import DeserializationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FAILURE_COLUMNS",
    "PartitionRange",
    "ReadFailure",
    "ReadReport",
    "TopicReadError",
    "interrupted_read",
]

Stop = Literal["max_messages", "timeout", "interrupted"]
#: The columns of ``ReadReport.to_frame()``, one row per message that failed to decode.
FAILURE_COLUMNS = ("topic", "partition", "offset", "field", "message")
_SHOWN = 10  # failures listed in repr(); to_frame() has them all
_HTML_ROWS = 20


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """The offsets of one partition a read covered.

    Attributes:
        partition: The partition.
        start: The first offset the read asked for.
        end: The end offset taken when the read started (exclusive): the partition "as of
            now". ``None`` when following (``follow=True``), which has no end.
        next: The offset after the last one read; equal to ``end`` when the partition was read
            to its end.
    """

    partition: int
    start: int
    end: int | None
    next: int

    @property
    def complete(self) -> bool:
        """Whether every offset from ``start`` to ``end`` was read."""
        return self.end is not None and self.next >= self.end


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """A message that was read but could not be decoded or validated as the model.

    Attributes:
        partition: Its partition.
        offset: Its offset (read it again with ``start={partition: offset}``).
        field: The model field that failed, when known.
        message: Why, in words (the ``DeserializationError``'s text).
    """

    partition: int
    offset: int
    field: str | None
    message: str

    @classmethod
    def of(cls, error: DeserializationError) -> ReadFailure:
        """The failure a located ``DeserializationError`` (from ``consume.decoding``) describes."""
        cause = error.__cause__  # ``located`` keeps the original error, without coordinates
        text = str(cause) if isinstance(cause, DeserializationError) else str(error)
        return cls(error.partition or 0, error.offset or 0, error.field, text)


@dataclass(frozen=True)
class ReadReport:
    """What a read of ``topic`` returned, per message: returned, tombstone, or failed.

    ``returned + tombstones + len(failures) == read`` for ``read_topic`` (tombstones have no
    row); ``read_messages`` returns tombstones too (``value=None``), so there
    ``returned == read - len(failures)``.

    Attributes:
        model: The model's class name.
        topic: The topic read.
        read: Messages read in the ranges (before decoding).
        returned: Messages (or rows) returned.
        failures: Every message that failed to decode, in partition and offset order.
        tombstones: Messages with a null value (deletion markers) among those read.
        partitions: The offsets read, per partition, in partition order.
        stopped: ``"max_messages"``, ``"timeout"`` or ``"interrupted"`` (Ctrl-C) when that
            ended the read before every partition reached its end, else ``None``.
        elapsed: Seconds from the start of the read to its end.
        columnar: Rows decoded straight into columns (``read_topic``'s fast path).
    """

    model: str
    topic: str
    read: int
    returned: int
    failures: tuple[ReadFailure, ...] = ()
    tombstones: int = 0
    partitions: tuple[PartitionRange, ...] = ()
    stopped: Stop | None = None
    elapsed: float = 0.0
    columnar: int = 0

    @property
    def ok(self) -> bool:
        """Whether every message read decoded (tombstones and early stops are not failures)."""
        return not self.failures

    @property
    def complete(self) -> bool:
        """Whether the read reached the end offsets of every partition it read."""
        return self.stopped is None

    @property
    def failed(self) -> int:
        """Number of messages that failed to decode."""
        return len(self.failures)

    @property
    def messages_per_second(self) -> float:
        """Messages read per second."""
        return self.read / self.elapsed if self.elapsed > 0 else 0.0

    def to_frame(self) -> pd.DataFrame:
        """One row per failed message: ``topic, partition, offset, field, message`` (pandas)."""
        pandas = require("pandas", extra="pandas")
        records = [(self.topic, f.partition, f.offset, f.field, f.message) for f in self.failures]
        frame: pd.DataFrame = pandas.DataFrame.from_records(records, columns=list(FAILURE_COLUMNS))
        return frame

    def summary(self) -> str:
        """One line with the counts, how the read ended, elapsed time and rate."""
        stop = {
            None: "to the end offsets",
            "max_messages": "stopped at max_messages",
            "interrupted": "stopped by Ctrl-C before the end offsets",
        }.get(self.stopped, "stopped at the timeout before the end offsets")
        tombstones = f", {self.tombstones} tombstone(s)" if self.tombstones else ""
        return (
            f"{self.model} ← {self.topic}: {self.read} message(s) read {stop}, "
            f"{self.returned} returned, {self.failed} failed to decode{tombstones} in "
            f"{self.elapsed:.3f} s ({self.messages_per_second:,.0f} msg/s)"
        )

    def __repr__(self) -> str:
        lines = [f"ReadReport({self.summary()})"]
        lines += [
            f"  [{f.partition}]@{f.offset} {f.field or ''}: {f.message}"
            for f in self.failures[:_SHOWN]
        ]
        if self.failed > _SHOWN:
            lines.append(f"  … {self.failed - _SHOWN} more, see .to_frame()")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [
            ("topic", self.topic),
            ("read", f"{self.read:,}"),
            ("returned", f"{self.returned:,}"),
            ("failed to decode", f"{self.failed:,}"),
            ("tombstones", f"{self.tombstones:,}"),
            ("complete", "yes" if self.complete else f"no ({self.stopped})"),
            ("elapsed", f"{self.elapsed:.3f} s ({self.messages_per_second:,.0f} msg/s)"),
        ]
        head = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        parts = [f"<div><strong>Read {html.escape(self.model)}</strong><table>{head}</table>"]
        if self.failures:
            cells = "".join(
                f"<tr><td>{f.partition}</td><td>{f.offset}</td><td>{html.escape(f.field or '')}"
                f"</td><td>{html.escape(f.message)}</td></tr>"
                for f in self.failures[:_HTML_ROWS]
            )
            parts.append(
                "<table><tr><th>partition</th><th>offset</th><th>field</th><th>message</th></tr>"
                f"{cells}</table>"
            )
            if self.failed > _HTML_ROWS:
                parts.append(
                    f"<p>{self.failed - _HTML_ROWS} more: see <code>.to_frame()</code></p>"
                )
        return "".join([*parts, "</div>"])

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadReport:
        # Immutable: pandas deep-copies ``df.attrs`` into every derived frame, so sharing the
        # report keeps ``df.head()`` cheap however many failures it lists.
        return self


class TopicReadError(DeserializationError):
    """Messages of a read failed to decode (``on_error="raise"``, the default).

    The message names the first failure's partition and offset; ``report`` lists them all, and
    ``partial`` holds what did decode (the messages, or the DataFrame of ``read_topic``), so
    nothing read is lost.

    Attributes:
        report: The read's ``ReadReport``.
        partial: The decoded messages (``read_messages``) or rows (``read_topic``).
    """

    def __init__(self, report: ReadReport, partial: Any) -> None:
        first = report.failures[0]
        super().__init__(
            f"{report.failed} of {report.read} message(s) read from {report.topic!r} could not "
            f"be decoded as {report.model} (first: partition {first.partition} offset "
            f"{first.offset}: {first.message}); pass on_error='report' to get the other "
            "messages and the report",
            model=report.model,
            field=first.field,
            topic=report.topic,
            partition=first.partition,
            offset=first.offset,
        )
        self.report = report
        self.partial = partial

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.report, self.partial))


def interrupted_read(report: ReadReport, partial: Any) -> ReadInterrupted:
    """The ``ReadInterrupted`` of a read that Ctrl-C stopped, with a note on where to resume."""
    resume = {p.partition: p.next for p in report.partitions}
    error = ReadInterrupted(
        f"reading {report.topic!r} was interrupted: {report.summary()}",
        report=report,
        partial=partial,
    )
    error.add_note(
        f"Interrupted after {report.read} message(s); .partial holds what was read. To read "
        f"the rest, pass start={resume!r}."
    )
    return error
