"""What happened to every row: validation and produce reports, as data, text and HTML.

Failures are data (as in pandera's ``failure_cases``): each report lists its problems by frame
index, and ``to_frame()`` turns them into a DataFrame that can be joined back onto the input.
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from flowodm.pandas.registry_check import RegistryCheck

__all__ = ["DeliveryFailure", "ProduceReport", "RowError", "ValidationReport"]

_HTML_ROWS = 20  # problems shown inline in a notebook; to_frame() has them all
_ERROR_COLUMNS = ["index", "status", "field", "type", "message", "input"]


@dataclass(frozen=True, slots=True)
class RowError:
    """One reason a row (or, with ``index=None``, the whole frame) did not validate.

    Attributes:
        index: The row's label in the frame's index; ``None`` for a frame-level problem such as
            a missing column.
        field: The model field (or frame column) concerned; ``None`` when it is the whole row.
        message: What is wrong, in words.
        type: A short machine-readable code: pydantic's error type (``int_parsing``), or
            ``missing`` (a missing value in a required field), ``datetime_range`` (a timestamp
            outside years 1 to 9999), ``missing_column``, ``extra_column``, ``missing_key``,
            ``key``, ``serialization`` (valid, but Avro cannot hold the value).
        input: The offending value after coercion, when there is one.
    """

    index: Hashable | None
    field: str | None
    message: str
    type: str
    input: Any = None


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """A valid row the broker did not acknowledge.

    Attributes:
        index: The row's label in the frame's index.
        error: librdkafka's error name and text, e.g. ``_MSG_TIMED_OUT: Local: Message timed out``.
        maybe_written: ``True`` when the broker may have written the row anyway (a timeout or a
            lost response); such a row is "failed, may have been written", never "not sent".
    """

    index: Hashable
    error: str
    maybe_written: bool

    @property
    def status(self) -> str:
        """``failed, may have been written`` or ``failed``."""
        return "failed, may have been written" if self.maybe_written else "failed"


def _problem_frame(errors: Sequence[RowError], failures: Sequence[DeliveryFailure]) -> pd.DataFrame:
    records: list[tuple[Any, ...]] = [
        (e.index, "invalid", e.field, e.type, e.message, e.input) for e in errors
    ]
    records.extend((f.index, f.status, None, "delivery", f.error, None) for f in failures)
    return pd.DataFrame.from_records(records, columns=_ERROR_COLUMNS)


def _html_table(title: str, counts: Sequence[tuple[str, str]], problems: pd.DataFrame) -> str:
    head = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in counts
    )
    parts = [f"<div><strong>{html.escape(title)}</strong><table>{head}</table>"]
    if len(problems):
        shown = problems.head(_HTML_ROWS)
        parts.append(shown.to_html(index=False, escape=True, na_rep=""))
        if len(problems) > _HTML_ROWS:
            parts.append(
                f"<p>{len(problems) - _HTML_ROWS} more problem(s): see <code>.to_frame()</code></p>"
            )
    parts.append("</div>")
    return "".join(parts)


class _InvalidRows:
    """What both reports derive from their ``errors``: the invalid rows, counted once each."""

    errors: tuple[RowError, ...]

    @cached_property
    def _invalid_labels(self) -> tuple[Hashable, ...]:
        """The labels of the invalid rows, once each, computed once (reports are frozen)."""
        return tuple(dict.fromkeys(e.index for e in self.errors if e.index is not None))

    @property
    def invalid_index(self) -> list[Hashable]:
        """Frame index labels of the invalid rows, in first-seen order (use with ``df.loc``)."""
        return list(self._invalid_labels)

    @property
    def invalid(self) -> int:
        """Number of distinct rows with at least one error (none of them sent to the topic)."""
        return len(self._invalid_labels)


@dataclass(frozen=True)
class ValidationReport(_InvalidRows):
    """The result of checking a frame against a model, before (or without) sending anything.

    Attributes:
        model: The model's class name.
        total: Rows checked.
        errors: Every problem found; a row may have several (one per field).
        elapsed: Seconds spent.
        registry: Whether the registry would accept the run's schema (``None``: not checked,
            e.g. no registry configured); a refusal makes the report not ``ok``.
    """

    model: str
    total: int
    errors: tuple[RowError, ...] = ()
    elapsed: float = 0.0
    registry: RegistryCheck | None = None

    @property
    def valid(self) -> int:
        """Rows that validated; 0 when a frame-level problem (e.g. a missing column) stopped it."""
        if any(e.index is None for e in self.errors):
            return 0
        return self.total - self.invalid

    @property
    def ok(self) -> bool:
        """``True`` when no row is invalid and the registry (if checked) accepts the schema."""
        return not self.errors and (self.registry is None or self.registry.ok)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per problem: ``index, status, field, type, message, input``.

        Problems are in the frame's row order, then the model's field order.
        """
        return _problem_frame(self.errors, ())

    def summary(self) -> str:
        """One line: how many rows were checked and how many failed, and the registry's verdict."""
        line = (
            f"{self.model}: {self.total} row(s) checked, {self.valid} valid, "
            f"{self.invalid} invalid, {len(self.errors)} error(s)"
        )
        return line if self.registry is None else f"{line}; {self.registry}"

    def __repr__(self) -> str:
        lines = [f"ValidationReport({self.summary()})"]
        lines.extend(f"  row {e.index!r} {e.field or ''}: {e.message}" for e in self.errors[:10])
        if len(self.errors) > 10:
            lines.append(f"  … {len(self.errors) - 10} more, see .to_frame()")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        counts = [
            ("rows", str(self.total)),
            ("valid", str(self.valid)),
            ("invalid", str(self.invalid)),
            ("elapsed", f"{self.elapsed:.3f} s"),
        ]
        if self.registry is not None:
            counts.append(("registry", str(self.registry)))
        return _html_table(f"Validation of {self.model}", counts, self.to_frame())


@dataclass(frozen=True)
class ProduceReport(_InvalidRows):
    """What happened to every row of a produce run: delivered, invalid, or failed.

    Every row is in exactly one of those groups, so
    ``delivered + invalid + len(failed) + unconfirmed == total``.

    Attributes:
        model: The model's class name.
        topic: The topic written to.
        total: Rows handed to the run.
        delivered: Rows the broker acknowledged.
        errors: Validation problems of the invalid rows (not sent to ``topic``).
        failed: Valid rows the broker did not acknowledge.
        unconfirmed: Rows sent whose outcome librdkafka never reported, even after a purge
            (only after a stall); count them as failed, may have been written.
        dead_letter_topic: Where invalid rows were copied, if anywhere.
        dead_lettered: Invalid rows acknowledged on ``dead_letter_topic``.
        dead_letter_failed: Invalid rows whose copy to ``dead_letter_topic`` failed.
        dead_letter_unconfirmed: Copies to ``dead_letter_topic`` whose outcome librdkafka never
            reported (only after a stall); they may have been written.
        elapsed: Seconds from the first row to the last acknowledgement.
        columnar: Rows that took the columnar fast path.
        dry_run: Nothing was sent: ``delivered`` counts rows that would have been.
    """

    model: str
    topic: str
    total: int
    delivered: int
    errors: tuple[RowError, ...] = ()
    failed: tuple[DeliveryFailure, ...] = ()
    unconfirmed: int = 0
    dead_letter_topic: str | None = None
    dead_lettered: int = 0
    dead_letter_failed: tuple[DeliveryFailure, ...] = ()
    dead_letter_unconfirmed: int = 0
    elapsed: float = 0.0
    columnar: int = 0
    dry_run: bool = False

    @property
    def maybe_written(self) -> int:
        """Failed rows that may nevertheless be on the topic (timeouts, lost responses)."""
        return sum(1 for f in self.failed if f.maybe_written)

    @property
    def _dead_letter_problems(self) -> int:
        return len(self.dead_letter_failed) + self.dead_letter_unconfirmed

    @property
    def rows_per_second(self) -> float:
        """Throughput over all rows handed to the run."""
        return self.total / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ok(self) -> bool:
        """``True`` when every row was delivered."""
        return self.delivered == self.total

    @property
    def failed_index(self) -> list[Hashable]:
        """Frame index labels of the rows whose delivery failed."""
        return [f.index for f in self.failed]

    def to_frame(self) -> pd.DataFrame:
        """Return one row per problem: ``index, status, field, type, message, input``.

        ``status`` is ``invalid``, ``failed`` or ``failed, may have been written``. The invalid
        rows' problems come first, in the frame's row order (then field order); the failed
        deliveries follow in the order the broker reported them.
        """
        return _problem_frame(self.errors, self.failed)

    def summary(self) -> str:
        """One line with the counts, elapsed time and rate."""
        failed = f"{len(self.failed)} failed"
        if self.maybe_written:
            failed += f" ({self.maybe_written} may have been written)"
        if self.unconfirmed:
            failed += f", {self.unconfirmed} unconfirmed (may have been written)"
        dead = ""
        if self.dead_letter_topic:
            dead = f", {self.dead_lettered} dead-lettered to {self.dead_letter_topic!r}"
            if self.dead_letter_failed or self.dead_letter_unconfirmed:
                dead += f" ({self._dead_letter_problems} copies failed or unconfirmed)"
        verb = "would be delivered (dry run)" if self.dry_run else "delivered"
        return (
            f"{self.model} → {self.topic}: {self.total} row(s), {self.delivered} {verb}, "
            f"{self.invalid} invalid, {failed}{dead} in {self.elapsed:.3f} s "
            f"({self.rows_per_second:,.0f} rows/s)"
        )

    def __repr__(self) -> str:
        lines = [f"ProduceReport({self.summary()})"]
        problems = [f"  row {e.index!r} {e.field or ''}: {e.message}" for e in self.errors[:10]]
        problems.extend(f"  row {f.index!r}: {f.status}: {f.error}" for f in self.failed[:10])
        lines.extend(problems[:10])
        more = len(self.errors) + len(self.failed) - len(problems[:10])
        if more > 0:
            lines.append(f"  … {more} more, see .to_frame()")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        counts = [
            ("topic", self.topic),
            ("rows", str(self.total)),
            ("delivered", str(self.delivered)),
            ("invalid", str(self.invalid)),
            ("failed", f"{len(self.failed)} ({self.maybe_written} may have been written)"),
            ("elapsed", f"{self.elapsed:.3f} s ({self.rows_per_second:,.0f} rows/s)"),
        ]
        if self.unconfirmed:
            counts.append(("unconfirmed", f"{self.unconfirmed} (may have been written)"))
        if self.dead_letter_topic:
            copies = f"{self.dead_lettered} → {self.dead_letter_topic}"
            if self.dead_letter_failed or self.dead_letter_unconfirmed:
                copies += f" ({self._dead_letter_problems} failed or unconfirmed)"
            counts.append(("dead-lettered", copies))
        return _html_table(f"Produce {self.model}", counts, self.to_frame())
