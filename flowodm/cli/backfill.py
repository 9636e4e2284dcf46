"""The backfill loop behind ``flowodm produce``: read a chunk, produce it, record, checkpoint.

Each chunk of the file goes through its own ``ProduceRun`` and is finished (every message
acknowledged or failed) before the next one is read. That gives an exact account per chunk:
its invalid rows and failed deliveries are appended to ``--report`` and only then does the
checkpoint move past it. The cost is one wait for acknowledgements per chunk, which the
default chunk of 10,000 rows keeps small (see ``docs/backfill.md``); the producers are pooled
by ``BulkSender``, so no chunk pays a producer's start-up.

With ``--checkpoint`` the run stops after the first chunk in which a delivery failed: the
checkpoint stays before that chunk, so the rerun sends it (and nothing later) again.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowodm.cli.checkpoint import Checkpointer, FileIdentity
from flowodm.cli.flags import connect_from_flags
from flowodm.cli.modelspec import load_model
from flowodm.cli.sources import Source, read_chunks, resolve_source
from flowodm.cli.summary import (
    Outcome,
    ReportWriter,
    Totals,
    check_report_path,
    format_summary,
    problems_of,
)
from flowodm.cli.usage import EXIT_INTERRUPTED, UsageError
from flowodm.exceptions import DataFrameValidationError, FlowODMError

if TYPE_CHECKING:
    import pandas as pd

    from flowodm.model import FlowBaseModel
    from flowodm.pandas.reports import ProduceReport
    from flowodm.progress import DeliveryProgress, ProgressOption

__all__ = ["Job", "execute", "plan_job", "run_backfill"]


@dataclass(frozen=True)
class Job:
    """Everything decided before the first row is read.

    Attributes:
        source: The input.
        model: The model rows become.
        topic: Where rows are produced.
        start: First row to read (where a checkpoint resumes).
        stop: Row to stop before (``--limit``), if any.
        chunk_size: Rows per chunk (read, sent, checkpointed together).
        run_options: Keyword arguments for each chunk's ``ProduceRun``.
        checkpointer: Keeps ``--checkpoint``, if given.
        report_path: ``--report``, if given.
        progress: The progress-bar choice.
        shown_errors: Problems printed in the summary.
    """

    source: Source
    model: type[FlowBaseModel]
    topic: str
    start: int
    stop: int | None
    chunk_size: int
    run_options: dict[str, Any]
    checkpointer: Checkpointer | None
    report_path: Path | None
    progress: ProgressOption
    shown_errors: int

    @property
    def dry_run(self) -> bool:
        """Whether nothing is sent."""
        return bool(self.run_options.get("dry_run"))


def run_backfill(args: argparse.Namespace) -> int:
    """Plan the job from the command line, run it, print the summary, return the exit code.

    Raises:
        UsageError: the command line cannot be carried out (exit code 2).
        FlowODMError: the run could not start (bad model settings, no broker configured …).
    """
    job = plan_job(args)
    outcome, interrupted = execute(job)
    print(format_summary(outcome), flush=True)
    if interrupted:
        return EXIT_INTERRUPTED
    return 0 if outcome.ok else 1


def _check_combinations(args: argparse.Namespace, source: Source) -> None:
    if args.report is not None:
        check_report_path(args.report)
    if args.dead_letter is not None and args.on_invalid == "raise":
        raise UsageError("--dead-letter needs --on-invalid report (with raise no row is sent)")
    if args.checkpoint is None:
        return
    if source.is_stdin:
        raise UsageError("--checkpoint needs a file: stdin cannot be identified or resumed")
    if args.dry_run:
        raise UsageError("--checkpoint cannot be used with --dry-run (a dry run sends nothing)")
    if args.on_invalid == "report" and args.report is None and args.dead_letter is None:
        raise UsageError(
            "--checkpoint needs --report FILE or --dead-letter TOPIC, so rows found invalid "
            "before a crash stay recorded when the rerun skips them"
        )


def plan_job(args: argparse.Namespace) -> Job:
    """Check the command line, import the model, find where to start, and connect.

    Raises:
        UsageError: an unusable option, input, model, or checkpoint.
        FlowODMError: the model or the connection settings are invalid.
    """
    source = resolve_source(args.file, args.format)
    _check_combinations(args, source)
    model = load_model(args.model)
    topic = args.topic or model.flow_settings().topic
    if topic is None:
        raise UsageError(f"--model {args.model!r} has no Settings.topic; pass --topic TOPIC")
    run_options: dict[str, Any] = {
        "key": args.key,
        "columns": args.columns,
        "extra": args.extra,
        "on_invalid": args.on_invalid,
        "dead_letter": args.dead_letter,
        "timeout": args.timeout,
        "topic": topic,
        "dry_run": args.dry_run,
        "progress": False,  # one bar for the whole file, driven here
    }
    checkpointer = None
    start = 0
    if args.checkpoint is not None:
        checkpointer = Checkpointer(
            args.checkpoint, source=FileIdentity.of(source.path), topic=topic
        )
        start = checkpointer.resume()
    if not args.dry_run:
        run_options["connection"] = connect_from_flags(args)
    return Job(
        source=source,
        model=model,
        topic=topic,
        start=start,
        stop=None if args.limit is None else start + args.limit,
        chunk_size=args.chunk_size,
        run_options=run_options,
        checkpointer=checkpointer,
        report_path=args.report,
        progress=args.progress,
        shown_errors=args.show_errors,
    )


class _Loop:
    """One execution of a job: the running totals, the report file and the progress bar."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.totals = Totals(keep=job.shown_errors)
        self.rows_read = 0
        self.stopped: str | None = None
        self.writer = (
            ReportWriter(job.report_path, append=job.start > 0) if job.report_path else None
        )
        self.bar = _progress(job)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Yield the job's chunks of rows, counting what was read."""
        job = self.job
        for frame in read_chunks(
            job.source, chunk_size=job.chunk_size, start=job.start, stop=job.stop
        ):
            self.rows_read += len(frame)
            if job.source.format == "jsonl":
                frame = _complete_json_columns(frame, job)
            yield frame

    def produce(self, frame: pd.DataFrame) -> bool:
        """Produce one chunk; return whether every row of it is done (delivered or invalid)."""
        from flowodm.pandas.pipeline import ProduceRun

        run = ProduceRun(self.job.model, **self.job.run_options)
        try:
            run.send(frame)
            report = run.finish()
        except DataFrameValidationError as exc:  # bad columns, or --on-invalid raise
            self.record(run.finish())  # nothing of this chunk was sent
            self.record_validation(exc)
            self.stopped = _validation_stop(exc, frame)
            return False
        except FlowODMError as exc:  # a stall: abort() returns the run's partial report
            self.record(run.abort())
            self.stopped = str(exc)
            return False
        except BaseException:  # Ctrl-C: purge what is in flight, account for it, re-raise
            self.record(run.abort())
            raise
        self.record(report)
        return not (
            report.failed
            or report.unconfirmed
            or report.dead_letter_failed
            or report.dead_letter_unconfirmed
        )

    def record(self, report: ProduceReport) -> None:
        """Count a chunk's report, append its problems to the report file, move the bar."""
        problems = self.totals.add(report)
        if self.writer is not None:
            self.writer.write(problems)
        if self.bar is not None:
            # As df.flowodm.produce's bar: it counts rows the broker acknowledged (in a dry
            # run, the valid ones); invalid and failed rows show as counts after it.
            self.bar.acked(report.delivered)
            self.bar.counts(invalid=self.totals.invalid, failed=self.totals.failed)

    def record_validation(self, exc: DataFrameValidationError) -> None:
        """Record the row errors of a chunk that was refused as a whole."""
        # Column problems are not about rows: the stop message lists them instead.
        errors = [e for e in getattr(exc.report, "errors", ()) if e.index is not None]
        problems = problems_of(errors)
        self.totals.note(problems)
        if self.writer is not None:
            self.writer.write(problems)

    def close(self) -> None:
        """Close the progress bar and the report file."""
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()


def execute(job: Job) -> tuple[Outcome, bool]:
    """Run ``job`` to the end of its rows (or its first stop); return the outcome.

    Returns:
        The outcome, and whether the run was interrupted (Ctrl-C).
    """
    loop = _Loop(job)
    started = time.perf_counter()
    interrupted = False
    checkpointer = job.checkpointer
    try:
        for frame in loop.chunks():
            done = loop.produce(frame)
            if loop.stopped is not None:
                break
            if checkpointer is not None:
                if not done:
                    loop.stopped = (
                        "a delivery failed; the checkpoint stays before this chunk, so running "
                        "the same command again resends it"
                    )
                    break
                checkpointer.advance(int(frame.index[-1]) + 1)
    except FlowODMError as exc:  # unreadable input, report or checkpoint file
        loop.stopped = str(exc)
    except KeyboardInterrupt:
        loop.stopped = "interrupted"
        interrupted = True
    finally:
        loop.close()
    outcome = Outcome(
        source=job.source.label,
        topic=job.topic,
        dry_run=job.dry_run,
        start=job.start,
        rows_read=loop.rows_read,
        totals=loop.totals,
        elapsed=time.perf_counter() - started,
        dead_letter=job.run_options.get("dead_letter"),
        checkpoint=(checkpointer.path, checkpointer.rows_done) if checkpointer else None,
        report_path=job.report_path,
        stopped=loop.stopped,
    )
    return outcome, interrupted


def _validation_stop(exc: DataFrameValidationError, frame: pd.DataFrame) -> str:
    """Say why a chunk was refused as a whole, in terms of the command's options."""
    errors = getattr(exc.report, "errors", ())
    if not errors or any(e.index is None for e in errors):
        problems = "; ".join(e.message for e in errors if e.index is None) or str(exc)
        return (
            f"the file's columns do not fit the model: {problems}. Map file columns to fields "
            "with --columns COLUMN=FIELD, or drop unknown columns with --extra ignore"
        )
    rows = len({e.index for e in errors})
    return (
        f"{rows} row(s) among rows {frame.index[0]:,} to {frame.index[-1]:,} are invalid and "
        "--on-invalid raise stops there; no row of that chunk was sent. Fix the rows, or use "
        "--on-invalid report to send the valid rows and report the others"
    )


def _progress(job: Job) -> DeliveryProgress | None:
    from flowodm.progress import DeliveryProgress, open_progress

    total = job.source.row_count()
    if total is not None:
        total = max(0, total - job.start)
    if job.stop is not None:
        total = job.stop - job.start if total is None else min(total, job.stop - job.start)
    desc = f"{job.source.label} → {job.topic}" + (" (dry run)" if job.dry_run else "")
    bar = open_progress(job.progress, total=total, desc=desc)
    return None if bar is None else DeliveryProgress(bar)


def _complete_json_columns(frame: pd.DataFrame, job: Job) -> pd.DataFrame:
    """Add the columns a JSON Lines chunk lacks because no line in it had the key.

    Without this a chunk where every line omits a required field would fail as a whole
    ("no column") instead of reporting each row; the added cells are missing values.
    """
    from flowodm.pandas.fields import frame_fields

    mapping: dict[str, str] = job.run_options.get("columns") or {}
    wanted = [c for c in mapping if c not in frame.columns]
    key = job.run_options.get("key")
    if key is not None and key not in frame.columns:
        wanted.append(key)
    targets = set(mapping.values())
    for f in frame_fields(job.model):
        if f.required and not any(n in targets or n in frame.columns for n in f.names):
            wanted.append(f.name)
    if not wanted:
        return frame
    return frame.reindex(columns=[*frame.columns, *dict.fromkeys(wanted)])
