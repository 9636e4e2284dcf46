"""The combined reports of a Dask run: the pandas reports, rows named by (partition, label).

Why: a Dask frame's index is usually not unique across partitions (``read_csv`` and
``read_parquet`` restart it at 0 in each), so a row is identified by its partition number and
its label there. ``DaskProduceReport`` and ``DaskValidationReport`` are the pandas
``ProduceReport`` and ``ValidationReport`` (same counts, same ``ok``, same raise rule) whose row
indexes are ``(partition, label)`` pairs, plus ``partitions``: one ``PartitionCounts`` per
partition, also as a frame (``partition_frame()``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import pandas as pd

from flowodm.pandas.reports import DeliveryFailure, ProduceReport, RowError, ValidationReport

__all__ = [
    "DaskProduceReport",
    "DaskValidationReport",
    "PartitionCounts",
    "combine_produce",
    "combine_validation",
]

_SHOWN = 10  # problems listed in a repr; to_frame() has them all


@dataclass(frozen=True, slots=True)
class PartitionCounts:
    """What happened to one partition's rows.

    Attributes:
        partition: The Dask partition number.
        rows: Rows in the partition.
        delivered: Rows acknowledged (validation: rows valid).
        invalid: Rows that did not validate.
        failed: Rows not acknowledged (including rows never sent, and ``unconfirmed``).
        dead_lettered: Invalid rows acknowledged on the dead-letter topic.
        attempts: How many times the partition's task started (more than 1: a worker died or
            lost the result, and every row of the partition may have been written more than
            once).
        worker: The address of the worker that ran the last attempt (``""`` off distributed).
        error: Why the partition's run ended early, or ``None``.
        elapsed: Seconds the last attempt took on its worker.
    """

    partition: int
    rows: int
    delivered: int
    invalid: int
    failed: int
    dead_lettered: int = 0
    attempts: int = 1
    worker: str = ""
    error: str | None = None
    elapsed: float = 0.0


def _partition_frame(partitions: Sequence[PartitionCounts]) -> pd.DataFrame:
    columns = [f.name for f in dataclasses.fields(PartitionCounts)]
    return pd.DataFrame.from_records([dataclasses.astuple(p) for p in partitions], columns=columns)


def _split_index(problems: pd.DataFrame) -> pd.DataFrame:
    """Turn the ``(partition, label)`` index column into ``partition`` and ``index`` columns."""
    pairs = problems["index"].tolist()
    problems.insert(0, "partition", [p[0] if isinstance(p, tuple) else None for p in pairs])
    problems["index"] = [p[1] if isinstance(p, tuple) else p for p in pairs]
    return problems


def _where(index: Hashable) -> str:
    if isinstance(index, tuple) and len(index) == 2:
        return f"partition {index[0]} row {index[1]!r}"
    return f"row {index!r}"


@dataclass(frozen=True, repr=False)
class DaskProduceReport(ProduceReport):
    """A ``ProduceReport`` over all partitions; rows are ``(partition, label)``.

    ``failed_index`` and ``invalid_index`` are lists of ``(partition, label)`` pairs;
    ``to_frame()`` has ``partition`` and ``index`` columns; ``partitions`` (and
    ``partition_frame()``) break the counts down by partition, and their sums are the totals.
    """

    partitions: tuple[PartitionCounts, ...] = ()
    lost_partitions: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        """``True`` when every row was delivered and no partition was lost."""
        return self.delivered == self.total and not self.lost_partitions

    @property
    def retried(self) -> list[int]:
        """Partitions whose task started more than once: their rows may be on the topic twice."""
        return [p.partition for p in self.partitions if p.attempts > 1]

    @property
    def repeated_rows(self) -> int:
        """Rows of retried partitions: each may have been written more than once."""
        return sum(p.rows for p in self.partitions if p.attempts > 1)

    def partition_frame(self) -> pd.DataFrame:
        """One row per partition: rows, delivered, invalid, failed, attempts, worker, error."""
        return _partition_frame(self.partitions)

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: ``partition, index, status, field, type, message, input``."""
        return _split_index(super().to_frame())

    def summary(self) -> str:
        """The pandas summary, with the partitions and any retried ones."""
        text = f"{super().summary()}, {len(self.partitions)} partition(s)"
        if self.lost_partitions:
            text += f"; partition(s) {list(self.lost_partitions)} LOST (see partition_frame())"
        if self.retried:
            text += (
                f"; partition(s) {self.retried} ran more than once: their "
                f"{self.repeated_rows} row(s) may have been written more than once"
            )
        return text

    def __repr__(self) -> str:
        lines = [f"DaskProduceReport({self.summary()})"]
        problems = [f"  {_where(e.index)} {e.field or ''}: {e.message}" for e in self.errors]
        problems.extend(f"  {_where(f.index)}: {f.status}: {f.error}" for f in self.failed)
        lines.extend(problems[:_SHOWN])
        if len(problems) > _SHOWN:
            lines.append(f"  … {len(problems) - _SHOWN} more, see .to_frame()")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class DaskValidationReport(ValidationReport):
    """A ``ValidationReport`` over all partitions; rows are ``(partition, label)``."""

    partitions: tuple[PartitionCounts, ...] = ()

    @property
    def valid(self) -> int:
        """Rows that validated, summed over partitions (0 for a partition that was not checked)."""
        return sum(p.delivered for p in self.partitions)

    @property
    def invalid(self) -> int:
        """Rows that did not validate, summed over partitions (all rows of one not checked).

        ``invalid_index`` lists ``(partition, label)`` pairs, and ``(partition, None)`` for a
        partition that could not be checked at all (its error says why).
        """
        return sum(p.invalid for p in self.partitions)

    def partition_frame(self) -> pd.DataFrame:
        """One row per partition: rows, valid (``delivered``), invalid, worker, error."""
        return _partition_frame(self.partitions)

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: ``partition, index, status, field, type, message, input``."""
        return _split_index(super().to_frame())

    def summary(self) -> str:
        """The pandas summary, with the number of partitions."""
        return f"{super().summary()}, {len(self.partitions)} partition(s)"

    def __repr__(self) -> str:
        lines = [f"DaskValidationReport({self.summary()})"]
        lines.extend(
            f"  {_where(e.index)} {e.field or ''}: {e.message}" for e in self.errors[:_SHOWN]
        )
        if len(self.errors) > _SHOWN:
            lines.append(f"  … {len(self.errors) - _SHOWN} more, see .to_frame()")
        return "\n".join(lines)


# ------------------------------------------------------------------------------ combining


def _errors(partition: int, errors: Sequence[RowError]) -> list[RowError]:
    # A frame-level problem of a partition (index None) names the partition as its row.
    return [
        dataclasses.replace(
            e, index=(partition, e.index) if e.index is not None else (partition, None)
        )
        for e in errors
    ]


def _failures(partition: int, failures: Sequence[DeliveryFailure]) -> list[DeliveryFailure]:
    return [dataclasses.replace(f, index=(partition, f.index)) for f in failures]


@dataclass(frozen=True)
class Part:
    """One partition's report as it came back, with where and how often it ran."""

    partition: int
    report: ProduceReport | ValidationReport
    attempts: int = 1
    worker: str = ""
    error: str | None = None
    lost: bool = False


def combine_produce(
    parts: Sequence[Part],
    *,
    model: str,
    topic: str,
    elapsed: float,
    dry_run: bool,
    dead_letter_topic: str | None,
) -> DaskProduceReport:
    """Sum the partitions' ``ProduceReport``s into one, rows renamed ``(partition, label)``."""
    errors: list[RowError] = []
    failed: list[DeliveryFailure] = []
    dead_failed: list[DeliveryFailure] = []
    counts: list[PartitionCounts] = []
    total = delivered = unconfirmed = dead = dead_unconfirmed = columnar = 0
    for part in sorted(parts, key=lambda p: p.partition):
        report = part.report
        assert isinstance(report, ProduceReport)
        errors += _errors(part.partition, report.errors)
        failed += _failures(part.partition, report.failed)
        dead_failed += _failures(part.partition, report.dead_letter_failed)
        total += report.total
        delivered += report.delivered
        unconfirmed += report.unconfirmed
        dead += report.dead_lettered
        dead_unconfirmed += report.dead_letter_unconfirmed
        columnar += report.columnar
        counts.append(
            PartitionCounts(
                partition=part.partition,
                rows=report.total,
                delivered=report.delivered,
                invalid=report.invalid,
                failed=len(report.failed) + report.unconfirmed,
                dead_lettered=report.dead_lettered,
                attempts=part.attempts,
                worker=part.worker,
                error=part.error,
                elapsed=report.elapsed,
            )
        )
    return DaskProduceReport(
        model=model,
        topic=topic,
        total=total,
        delivered=delivered,
        errors=tuple(errors),
        failed=tuple(failed),
        unconfirmed=unconfirmed,
        dead_letter_topic=dead_letter_topic,
        dead_lettered=dead,
        dead_letter_failed=tuple(dead_failed),
        dead_letter_unconfirmed=dead_unconfirmed,
        elapsed=elapsed,
        columnar=columnar,
        dry_run=dry_run,
        partitions=tuple(counts),
        lost_partitions=tuple(p.partition for p in parts if p.lost),
    )


def combine_validation(
    parts: Sequence[Part], *, model: str, elapsed: float
) -> DaskValidationReport:
    """Sum the partitions' ``ValidationReport``s into one, rows renamed ``(partition, label)``."""
    errors: list[RowError] = []
    counts: list[PartitionCounts] = []
    total = 0
    for part in sorted(parts, key=lambda p: p.partition):
        report = part.report
        assert isinstance(report, ValidationReport)
        errors += _errors(part.partition, report.errors)
        total += report.total
        counts.append(
            PartitionCounts(
                partition=part.partition,
                rows=report.total,
                delivered=report.valid,
                invalid=report.total - report.valid,
                failed=0,
                attempts=part.attempts,
                worker=part.worker,
                error=part.error,
                elapsed=report.elapsed,
            )
        )
    return DaskValidationReport(
        model=model, total=total, errors=tuple(errors), elapsed=elapsed, partitions=tuple(counts)
    )
