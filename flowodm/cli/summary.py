"""What ``flowodm produce`` tells the user: running totals, the summary, and the ``--report`` file.

The report file is a ledger written as the run goes: each chunk's invalid rows and failed
deliveries are appended and flushed to disk before the checkpoint moves past that chunk, so
they stay recorded even if the process dies. A resumed run appends to the same file.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from flowodm.cli.usage import UsageError
from flowodm.exceptions import FlowODMError

if TYPE_CHECKING:
    from flowodm.pandas.registry_check import RegistryCheck
from flowodm.pandas.reports import DeliveryFailure, ProduceReport, RowError

__all__ = [
    "FILE_REPORT_COLUMNS",
    "REPORT_COLUMNS",
    "FileCounts",
    "Problem",
    "ReportWriter",
    "Totals",
    "check_report_path",
    "format_summary",
    "problems_of",
    "result_line",
]

REPORT_COLUMNS = ("row", "status", "field", "type", "message", "input")
FILE_REPORT_COLUMNS = ("file", *REPORT_COLUMNS)  # a run over several files names each row's file
_REPORT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_INPUT_SHOWN = 60  # characters of an offending value printed in the summary
_LABEL_WIDTH = 40


@dataclass(frozen=True, slots=True)
class Problem:
    """One line of the report: a validation error or a failed delivery of one row.

    ``file`` names the input file in a run over several files (``None`` for one file).
    """

    row: Hashable | None
    status: str
    field: str | None
    type: str
    message: str
    input: Any = None
    file: str | None = None

    def record(self, columns: Sequence[str] = REPORT_COLUMNS) -> dict[str, Any]:
        """Return the report-file record (keys in ``columns`` order)."""
        return {c: getattr(self, c) for c in columns}


def problems_of(
    errors: Iterable[RowError] = (),
    failures: Iterable[DeliveryFailure] = (),
    *,
    file: str | None = None,
) -> list[Problem]:
    """Turn a report's validation errors and delivery failures into report lines, by file row.

    Rows are file positions (ints); the sort is stable, so one row's problems keep the
    pipeline's order (model field order), and its validation errors come before a failure.
    ``file`` names the input in a run over several files.
    """
    problems = [
        Problem(e.index, "invalid", e.field, e.type, e.message, e.input, file) for e in errors
    ]
    problems.extend(
        Problem(f.index, f.status, None, "delivery", f.error, file=file) for f in failures
    )
    problems.sort(key=_row_order)
    return problems


def _row_order(problem: Problem) -> tuple[bool, int]:
    row = problem.row
    return (not isinstance(row, int), row if isinstance(row, int) else 0)


def check_report_path(path: Path) -> str:
    """Return the report format (``csv`` or ``jsonl``) for ``path``'s extension.

    Raises:
        UsageError: the extension is neither ``.csv`` nor ``.jsonl``/``.ndjson``.
    """
    kind = _REPORT_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"--report {str(path)!r} must end in .csv or .jsonl")
    return kind


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


class ReportWriter:
    """Appends report lines to a CSV or JSON Lines file, durably, one batch at a time."""

    def __init__(
        self, path: Path, *, append: bool, columns: Sequence[str] = REPORT_COLUMNS
    ) -> None:
        """Open ``path``; ``append`` keeps the lines of an earlier run (a resume).

        ``columns`` is ``REPORT_COLUMNS``, or ``FILE_REPORT_COLUMNS`` for several input files.

        Raises:
            UsageError: the extension is not ``.csv``/``.jsonl``.
            FlowODMError: the file cannot be opened for writing.
        """
        self.path = path
        self.columns = tuple(columns)
        self.format = check_report_path(path)
        try:
            fresh = not append or not path.exists() or path.stat().st_size == 0
            self._file: IO[str] = path.open("a" if append else "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise FlowODMError(f"cannot write --report {str(path)!r}: {exc}") from exc
        self._csv = csv.writer(self._file) if self.format == "csv" else None
        if self._csv is not None and fresh:
            self._csv.writerow(self.columns)

    def write(self, problems: Sequence[Problem]) -> None:
        """Append ``problems`` and flush them to disk (fsync) before returning.

        Raises:
            FlowODMError: the file cannot be written.
        """
        if not problems:
            return
        try:
            if self._csv is not None:
                self._csv.writerows([_text(getattr(p, c)) for c in self.columns] for p in problems)
            else:
                self._file.writelines(
                    json.dumps(p.record(self.columns), default=str) + "\n" for p in problems
                )
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise FlowODMError(f"cannot write --report {str(self.path)!r}: {exc}") from exc

    def close(self) -> None:
        """Close the file."""
        self._file.close()


@dataclass
class Totals:
    """Counts over every chunk of a run, plus the first few problems for the summary.

    Only ``keep`` problems are held in memory, so a file with millions of bad rows does not
    grow the process; the report file has them all.
    """

    keep: int
    rows: int = 0
    delivered: int = 0
    invalid: int = 0
    failed: int = 0
    maybe_written: int = 0
    dead_lettered: int = 0
    dead_letter_failed: int = 0
    problem_count: int = 0
    shown: list[Problem] = field(default_factory=list)

    def add(self, report: ProduceReport, *, file: str | None = None) -> list[Problem]:
        """Count one chunk's (or one file's) report and return its problems (for the report).

        ``file`` names the input in a run over several files.
        """
        self.rows += report.total
        self.delivered += report.delivered
        self.invalid += report.invalid
        self.failed += len(report.failed) + report.unconfirmed
        self.maybe_written += report.maybe_written + report.unconfirmed
        self.dead_lettered += report.dead_lettered
        self.dead_letter_failed += len(report.dead_letter_failed) + report.dead_letter_unconfirmed
        problems = problems_of(report.errors, report.failed, file=file)
        self.note(problems)
        return problems

    def note(self, problems: Sequence[Problem]) -> None:
        """Count problems and keep the first ones for the summary."""
        self.problem_count += len(problems)
        room = self.keep - len(self.shown)
        if room > 0:
            self.shown.extend(problems[:room])

    @property
    def clean(self) -> bool:
        """Whether every row handed over was delivered (or, in a dry run, is valid)."""
        return self.delivered == self.rows and not self.dead_letter_failed


@dataclass(frozen=True)
class FileCounts:
    """How a run over several files (one Dask partition each) went, file by file.

    Attributes:
        pattern: The FILE argument as given (a path or a glob pattern).
        matched: Files the pattern matched.
        skipped: Files the checkpoint recorded as finished, not read again.
        finished: Files finished in this run: every row delivered or recorded as invalid.
        unfinished: ``(file, why)`` for each file of this run that is not finished.
        repeated: Files whose task started more than once (a worker died): their rows may
            have been written more than once.
    """

    pattern: str
    matched: int
    skipped: int = 0
    finished: int = 0
    unfinished: tuple[tuple[str, str], ...] = ()
    repeated: tuple[str, ...] = ()

    @property
    def not_finished(self) -> int:
        """Files of this run not finished (failed, lost, or never run because it stopped)."""
        return self.matched - self.skipped - self.finished


@dataclass(frozen=True)
class Outcome:
    """Everything the summary reports about one ``flowodm produce`` run.

    Attributes:
        source: How the input is named (path or ``<stdin>``).
        topic: The topic produced to.
        dry_run: Nothing was sent.
        start: First row read (0, or where a checkpoint resumed).
        rows_read: Rows read from the input in this run.
        totals: Counts and the first problems.
        elapsed: Seconds from the first row read to the last acknowledgement.
        dead_letter: The dead-letter topic, if any.
        checkpoint: The checkpoint file and the rows it records as done, if any.
        report_path: Where every problem was written, if anywhere.
        stopped: Why the run stopped before the end of the input, if it did.
        files: File by file, for a run over several files on a Dask cluster (then
            ``checkpoint`` counts finished files, not rows, and ``start`` is 0).
        registry: A dry run's verdict of the Schema Registry on the real run's schema.
    """

    source: str
    topic: str
    dry_run: bool
    start: int
    rows_read: int
    totals: Totals
    elapsed: float
    dead_letter: str | None = None
    checkpoint: tuple[Path, int] | None = None
    report_path: Path | None = None
    stopped: str | None = None
    files: FileCounts | None = None
    registry: RegistryCheck | None = None

    @property
    def ok(self) -> bool:
        """Whether the run read to its end and every row was delivered (or is valid)."""
        if self.files is not None and self.files.not_finished:
            return False
        if self.registry is not None and not self.registry.ok:
            return False
        return self.stopped is None and self.totals.clean and self.totals.rows == self.rows_read


def format_summary(outcome: Outcome) -> str:
    """Return the multi-line summary printed at the end of a run."""
    t = outcome.totals
    lines = [_read_line(outcome)]
    if outcome.dry_run:
        lines.append(_count("valid (dry run: nothing was sent)", t.delivered))
    else:
        lines.append(_count(f"delivered to {outcome.topic!r}", t.delivered))
    dead = ""
    if outcome.dead_letter:
        dead = f"  ({t.dead_lettered:,} copied to dead-letter topic {outcome.dead_letter!r}"
        dead += f", {t.dead_letter_failed:,} copies failed)" if t.dead_letter_failed else ")"
    lines.append(_count("invalid (not sent)", t.invalid) + dead)
    if not outcome.dry_run:
        lines.append(_count("failed (not written)", t.failed - t.maybe_written))
        lines.append(_count("failed, may have been written", t.maybe_written))
    not_handled = outcome.rows_read - t.rows
    if not_handled:
        lines.append(_count("read but not sent (the run stopped)", not_handled))
    rate = t.rows / outcome.elapsed if outcome.elapsed > 0 else 0.0
    elapsed = f"{outcome.elapsed:,.2f} s"
    lines.append(f"  {'elapsed':<{_LABEL_WIDTH}} {elapsed:>14}  ({rate:,.0f} rows/s)")
    if outcome.checkpoint is not None:
        path, done = outcome.checkpoint
        if outcome.files is not None:
            state = f"{done:,} of {outcome.files.matched:,} file(s) are done"
        else:
            state = f"rows 0 to {done - 1:,} are done" if done else "no row is done yet"
        lines.append(f"  checkpoint {str(path)!r}: {state}")
    if outcome.registry is not None:
        lines.append(f"  {outcome.registry}")
    lines.extend(_problem_lines(t, outcome.report_path))
    if outcome.files is not None:
        lines.extend(_file_lines(outcome.files))
    if outcome.stopped:
        lines.append(f"Stopped early: {outcome.stopped}")
    lines.append(result_line(outcome))
    return "\n".join(lines)


def result_line(outcome: Outcome) -> str:
    """The summary's last line: which of the outcomes behind the exit code happened.

    Exit code 1 covers invalid rows (all recorded) as well as failed deliveries and early stops;
    this line tells them apart, e.g. ``result: 3 invalid row(s) not sent (recorded in
    'errors.csv'); every valid row delivered`` against ``result: 12 row(s) failed to deliver``.
    """
    t = outcome.totals
    if outcome.ok:
        if outcome.dry_run:
            return "result: every row is valid (dry run: nothing was sent)"
        return "result: every row delivered"
    facts: list[str] = []
    if outcome.registry is not None and not outcome.registry.ok:
        facts.append("the Schema Registry would refuse the schema (see above)")
    files = outcome.files
    if files is not None:
        if files.not_finished:
            early = " (stopped early)" if outcome.stopped else ""
            facts.append(f"{files.not_finished:,} file(s) not finished{early}")
    elif outcome.stopped:
        # Whether rows follow is unknown (reading stopped); none after these was sent.
        last = outcome.start + t.rows - 1
        after = f"after row {last:,}" if t.rows else f"from row {outcome.start:,} on"
        verb = "checked" if outcome.dry_run else "sent"
        facts.append(f"stopped early: no row {after} was {verb}")
    if t.failed:
        maybe = f" ({t.maybe_written:,} may have been written)" if t.maybe_written else ""
        facts.append(f"{t.failed:,} row(s) failed to deliver{maybe}")
    if t.dead_letter_failed:
        facts.append(f"{t.dead_letter_failed:,} dead-letter copy(ies) failed")
    if t.invalid:
        not_sent = "" if outcome.dry_run else " not sent"
        facts.append(f"{t.invalid:,} invalid row(s){not_sent}{_where_recorded(outcome)}")
    if len(facts) == 1 and t.invalid:  # invalid rows are the only reason for exit code 1
        facts.append(
            "every other row is valid (dry run: nothing was sent)"
            if outcome.dry_run
            else "every valid row delivered"
        )
    return "result: " + "; ".join(facts or ["not every row was delivered"])


def _where_recorded(outcome: Outcome) -> str:
    places = []
    if outcome.report_path is not None:
        places.append(f"in {str(outcome.report_path)!r}")
    if outcome.dead_letter:
        places.append(f"on dead-letter topic {outcome.dead_letter!r}")
    return f" (recorded {' and '.join(places)})" if places else ""


def _count(label: str, value: int) -> str:
    return f"  {'rows ' + label:<{_LABEL_WIDTH}} {value:>12,}"


def _read_line(outcome: Outcome) -> str:
    if outcome.files is not None:
        return _files_read_line(outcome, outcome.files)
    resumed = " (resumed from the checkpoint)" if outcome.start else ""
    if outcome.rows_read == 0:
        after = f" after row {outcome.start - 1:,}" if outcome.start else ""
        return f"Read no rows from {outcome.source}{after}{resumed}."
    last = outcome.start + outcome.rows_read - 1
    if outcome.rows_read == 1:
        return f"Read 1 row from {outcome.source}: row {outcome.start:,}{resumed}."
    return (
        f"Read {outcome.rows_read:,} rows from {outcome.source}: rows {outcome.start:,} to "
        f"{last:,}{resumed}."
    )


def _files_read_line(outcome: Outcome, files: FileCounts) -> str:
    matching = f"file(s) matching {files.pattern!r}"
    skipped = f" ({files.skipped:,} finished by an earlier run, skipped)" if files.skipped else ""
    if files.skipped == files.matched:
        return f"Read no rows: all {files.matched:,} {matching} were finished by an earlier run."
    todo = files.matched - files.skipped
    return (
        f"Read {outcome.rows_read:,} rows from {todo:,} of {files.matched:,} {matching}{skipped}."
    )


def _file_lines(files: FileCounts) -> list[str]:
    lines = []
    if files.unfinished:
        lines.append("Files not finished (running the same command again sends them again):")
        lines.extend(f"  {name}: {why}" for name, why in files.unfinished)
    if files.repeated:
        lines.append(
            "Files whose task ran more than once (a worker died; their rows may have been "
            f"written more than once): {', '.join(files.repeated)}"
        )
    return lines


def _problem_lines(totals: Totals, report_path: Path | None) -> list[str]:
    if not totals.problem_count:
        return []
    lines = []
    if totals.shown:
        lines.append(f"First {len(totals.shown)} of {totals.problem_count:,} row problems:")
    for p in totals.shown:
        where = "file" if p.row is None else f"row {p.row}"
        if p.file is not None:
            where = p.file if p.row is None else f"{p.file} {where}"
        field_name = f" {p.field}:" if p.field else ":"
        value = "" if p.input is None else f" (input: {_text(p.input)[:_INPUT_SHOWN]})"
        status = "" if p.status == "invalid" else f" [{p.status}]"
        lines.append(f"  {where}{field_name} {p.message}{value}{status}")
    if report_path is not None:
        lines.append(f"Every row problem is in {str(report_path)!r}.")
    elif totals.problem_count > len(totals.shown):
        lines.append("Pass --report FILE to write every row problem.")
    return lines
