"""What ``flowodm produce`` tells the user: the end-of-run summary and the ``--report`` file.

The report file is a ledger: invalid rows are appended (and flushed to disk) as the run goes,
before the checkpoint moves past them, so they stay recorded even if the process dies; rows
whose delivery failed are appended when the run ends. A resumed run appends to the same file.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flowodm.cli.usage import UsageError
from flowodm.exceptions import FlowODMError
from flowodm.pandas.reports import DeliveryFailure, ProduceReport, RowError

__all__ = ["REPORT_COLUMNS", "Outcome", "ReportWriter", "format_summary", "check_report_path"]

REPORT_COLUMNS = ("row", "status", "field", "type", "message", "input")
_REPORT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def check_report_path(path: Path) -> str:
    """Return the report format (``csv`` or ``jsonl``) for ``path``'s extension.

    Raises:
        UsageError: the extension is neither ``.csv`` nor ``.jsonl``/``.ndjson``.
    """
    kind = _REPORT_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"--report {str(path)!r} must end in .csv or .jsonl")
    return kind


def _record(row: Hashable | None, status: str, field: str | None, kind: str, message: str,
            value: Any) -> dict[str, Any]:
    return {
        "row": row,
        "status": status,
        "field": field,
        "type": kind,
        "message": message,
        "input": value,
    }


def _error_records(errors: Iterable[RowError]) -> list[dict[str, Any]]:
    return [_record(e.index, "invalid", e.field, e.type, e.message, e.input) for e in errors]


def _failure_records(failures: Iterable[DeliveryFailure]) -> list[dict[str, Any]]:
    return [_record(f.index, f.status, None, "delivery", f.error, None) for f in failures]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


class ReportWriter:
    """Appends row errors to a CSV or JSON Lines file, durably, one batch at a time."""

    def __init__(self, path: Path, *, append: bool) -> None:
        """Open ``path``; ``append`` keeps the rows of an earlier run (a resume).

        Raises:
            UsageError: the extension is not ``.csv``/``.jsonl``.
            FlowODMError: the file cannot be opened for writing.
        """
        self.path = path
        self.format = check_report_path(path)
        self.written = 0
        try:
            fresh = not append or not path.exists() or path.stat().st_size == 0
            self._file: IO[str] = path.open("a" if append else "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise FlowODMError(f"cannot write --report {str(path)!r}: {exc}") from exc
        if self.format == "csv":
            self._csv = csv.writer(self._file)
            if fresh:
                self._csv.writerow(REPORT_COLUMNS)

    def write_errors(self, errors: Sequence[RowError]) -> None:
        """Append validation errors and flush them to disk."""
        self._write(_error_records(errors))

    def write_failures(self, failures: Sequence[DeliveryFailure]) -> None:
        """Append delivery failures and flush them to disk."""
        self._write(_failure_records(failures))

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def _write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        try:
            if self.format == "csv":
                self._csv.writerows([_text(r[c]) for c in REPORT_COLUMNS] for r in records)
            else:
                self._file.writelines(json.dumps(r, default=str) + "\n" for r in records)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise FlowODMError(f"cannot write --report {str(self.path)!r}: {exc}") from exc
        self.written += len(records)


@dataclass(frozen=True)
class Outcome:
    """Everything the summary reports about one ``flowodm produce`` run.

    Attributes:
        source: How the input is named (path or ``<stdin>``).
        start: First row read (0, or where a checkpoint resumed).
        rows_read: Rows read from the input in this run.
        report: The pipeline's report for those rows.
        checkpoint: The checkpoint file, if any, and the rows it records as done.
        report_path: Where every row error was written, if anywhere.
        stopped: Why the run stopped before the end of the input, if it did.
    """

    source: str
    start: int
    rows_read: int
    report: ProduceReport
    checkpoint: tuple[Path, int] | None = None
    report_path: Path | None = None
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the run reached its end and every row was delivered (or is valid)."""
        r = self.report
        return self.stopped is None and r.invalid == 0 and not r.failed and r.total == self.rows_read


def format_summary(outcome: Outcome, *, shown_errors: int) -> str:
    """Return the multi-line summary printed at the end of a run."""
    r = outcome.report
    lines = [_read_line(outcome)]
    verb = "valid (dry run, nothing sent)" if r.dry_run else f"delivered to {r.topic!r}"
    lines.append(f"  {'rows ' + verb:<40} {r.delivered:>12,}")
    dead = ""
    if r.dead_letter_topic:
        dead = f"  ({r.dead_lettered:,} copied to dead-letter topic {r.dead_letter_topic!r})"
    lines.append(f"  {'rows invalid (not sent)':<40} {r.invalid:>12,}{dead}")
    if not r.dry_run:
        lines.append(f"  {'rows failed (not written)':<40} {len(r.failed) - r.maybe_written:>12,}")
        lines.append(f"  {'rows failed, may have been written':<40} {r.maybe_written:>12,}")
    unsent = outcome.rows_read - r.total
    if unsent:
        lines.append(f"  {'rows read but not handed to the run':<40} {unsent:>12,}")
    lines.append(
        f"  {'elapsed':<40} {r.elapsed:>10.2f} s  ({r.rows_per_second:,.0f} rows/s)"
    )
    if outcome.checkpoint is not None:
        path, done = outcome.checkpoint
        lines.append(f"  checkpoint {str(path)!r}: rows 0 to {done - 1:,} are done" if done else
                     f"  checkpoint {str(path)!r}: no row is done yet")
    lines.extend(_error_lines(r, shown_errors, outcome.report_path))
    if outcome.stopped:
        lines.append(f"Stopped early: {outcome.stopped}")
    return "\n".join(lines)


def _read_line(outcome: Outcome) -> str:
    if outcome.rows_read == 0:
        where = f"no rows from {outcome.source}"
        if outcome.start:
            where += f" after row {outcome.start - 1:,} (resumed from the checkpoint)"
        return f"Read {where}."
    last = outcome.start + outcome.rows_read - 1
    resumed = " (resumed from the checkpoint)" if outcome.start else ""
    return (
        f"Read {outcome.rows_read:,} rows from {outcome.source}: rows {outcome.start:,} to "
        f"{last:,}{resumed}."
    )


def _error_lines(report: ProduceReport, shown: int, report_path: Path | None) -> list[str]:
    problems = _error_records(report.errors) + _failure_records(report.failed)
    if not problems:
        return []
    problems.sort(key=lambda p: (p["row"] is not None, _row_key(p["row"])))
    lines = [f"First {min(shown, len(problems))} of {len(problems):,} row errors:"] if shown else []
    for p in problems[:shown]:
        where = "input" if p["row"] is None else f"row {p['row']}"
        field = f" {p['field']}:" if p["field"] else ":"
        value = "" if p["input"] is None else f" (input: {_text(p['input'])[:60]})"
        status = "" if p["status"] == "invalid" else f" [{p['status']}]"
        lines.append(f"  {where}{field} {p['message']}{value}{status}")
    if report_path is not None:
        lines.append(f"Every row error is in {str(report_path)!r}.")
    elif len(problems) > shown:
        lines.append("Pass --report FILE to write every row error.")
    return lines


def _row_key(row: Any) -> tuple[int, str]:
    return (row, "") if isinstance(row, int) else (0, str(row))
