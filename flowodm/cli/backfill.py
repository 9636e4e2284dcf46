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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowodm.cli.checkpoint import Checkpointer, FileIdentity
from flowodm.cli.flags import connect_from_flags, dry_run_registry_check
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
    from flowodm.pandas.registry_check import RegistryCheck
    from flowodm.pandas.reports import ProduceReport, RowError
    from flowodm.progress import DeliveryProgress, ProgressOption

__all__ = [
    "Job",
    "Ledger",
    "check_combinations",
    "complete_json_columns",
    "connect_or_check",
    "execute",
    "is_finished",
    "is_pattern",
    "model_and_topic",
    "plan_job",
    "print_outcome",
    "run_backfill",
    "shared_run_options",
]


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
        registry: A dry run's verdict of the Schema Registry (``None``: none configured).
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
    registry: RegistryCheck | None = None

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
    if args.scheduler is not None or args.workers is not None:
        from flowodm.cli.cluster import run_on_cluster

        return run_on_cluster(args)
    job = plan_job(args)
    return print_outcome(*execute(job))


def print_outcome(outcome: Outcome, interrupted: bool) -> int:
    """Print a run's summary and return its exit code (both modes: one file, a cluster)."""
    print(format_summary(outcome), flush=True)
    if interrupted:
        return EXIT_INTERRUPTED
    return 0 if outcome.ok else 1


def check_combinations(args: argparse.Namespace, source: Source) -> None:
    """Refuse options that cannot work together for ``source`` (a usage error, exit code 2)."""
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
    if is_pattern(args.file) and not Path(args.file).exists():
        raise UsageError(
            f"FILE {args.file!r} is a pattern: several files are produced on a Dask cluster, "
            "one partition per file; add --workers N (a local cluster for this run) or "
            "--scheduler ADDRESS, or name one file"
        )
    source = resolve_source(args.file, args.format)
    check_combinations(args, source)
    model, topic = model_and_topic(args)
    run_options = {**shared_run_options(args, topic), "on_invalid": args.on_invalid}
    checkpointer = None
    start = 0
    if args.checkpoint is not None:
        checkpointer = Checkpointer(
            args.checkpoint, source=FileIdentity.of(source.path), topic=topic
        )
        start = checkpointer.resume()
    registry = connect_or_check(args, model, topic, run_options)
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
        registry=registry,
    )


def shared_run_options(args: argparse.Namespace, topic: str) -> dict[str, Any]:
    """The produce options both modes (one file, a cluster) take from the command line."""
    return {
        "key": args.key,
        "columns": args.columns,
        "extra": args.extra,
        "dead_letter": args.dead_letter,
        "timeout": args.timeout,
        "topic": topic,
        "dry_run": args.dry_run,
        "progress": False,  # one bar for the whole run, driven by the command
    }


def connect_or_check(
    args: argparse.Namespace, model: type[FlowBaseModel], topic: str, options: dict[str, Any]
) -> RegistryCheck | None:
    """Connect for a real run (into ``options``); for a dry run, ask the registry instead.

    Done before any row is read: a schema the registry refuses fails the real run at its start.
    """
    if args.dry_run:
        return dry_run_registry_check(args, model, topic)
    options["connection"] = connect_from_flags(args)
    return None


def is_pattern(file: str) -> bool:
    """Whether FILE is a glob pattern (``*``, ``?`` or ``[``) rather than one file's name."""
    return any(c in file for c in "*?[")


def is_finished(report: ProduceReport) -> bool:
    """Whether every row of ``report`` is done: delivered, or invalid and recorded."""
    from flowodm.pandas.outcome import has_undelivered

    return not has_undelivered(report)


class Ledger:
    """What a run has accounted for: the running totals, the report file and the progress bar.

    Shared by the one-file loop and the cluster run, so both count, record and show the same.
    """

    def __init__(
        self, totals: Totals, writer: ReportWriter | None, bar: DeliveryProgress | None
    ) -> None:
        self.totals = totals
        self.writer = writer
        self.bar = bar

    def record(self, report: ProduceReport, *, file: str | None = None) -> None:
        """Count a chunk's report, append its problems to the report file, move the bar."""
        problems = self.totals.add(report, file=file)
        if self.writer is not None:
            self.writer.write(problems)
        if self.bar is not None:
            # As df.flowodm.produce's bar: it counts rows the broker acknowledged (in a dry
            # run, the valid ones); invalid and failed rows show as counts after it.
            self.bar.acked(report.delivered)
            self.bar.counts(invalid=self.totals.invalid, failed=self.totals.failed)

    def record_validation(self, errors: Iterable[RowError], *, file: str | None = None) -> None:
        """Record the row errors of rows refused as a whole (nothing of them was sent)."""
        # Column problems are not about rows: the stop message lists them instead.
        problems = problems_of([e for e in errors if e.index is not None], file=file)
        self.totals.note(problems)
        if self.writer is not None:
            self.writer.write(problems)

    def close(self) -> None:
        """Close the progress bar and the report file."""
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()


def model_and_topic(args: argparse.Namespace) -> tuple[type[FlowBaseModel], str]:
    """Import ``--model`` and decide the topic: ``--topic``, else the model's own.

    Raises:
        UsageError: the model cannot be imported, or it has no topic and none was given.
    """
    model = load_model(args.model)
    topic = args.topic or model.flow_settings().topic
    if topic is None:
        raise UsageError(f"--model {args.model!r} has no Settings.topic; pass --topic TOPIC")
    return model, topic


class _Loop(Ledger):
    """One execution of a one-file job: its chunks, produced one by one into the ledger."""

    def __init__(self, job: Job) -> None:
        super().__init__(
            Totals(keep=job.shown_errors),
            ReportWriter(job.report_path, append=job.start > 0) if job.report_path else None,
            _progress(job),
        )
        self.job = job
        self.rows_read = 0
        self.stopped: str | None = None

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Yield the job's chunks of rows, counting what was read."""
        job = self.job
        for frame in read_chunks(
            job.source, chunk_size=job.chunk_size, start=job.start, stop=job.stop
        ):
            self.rows_read += len(frame)
            if job.source.format == "jsonl":
                options = job.run_options
                frame = complete_json_columns(
                    frame, job.model, options.get("columns"), options.get("key")
                )
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
            self.record_validation(getattr(exc.report, "errors", ()))
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
        return is_finished(report)


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
        registry=job.registry,
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


def complete_json_columns(
    frame: pd.DataFrame,
    model: type[FlowBaseModel],
    columns: Mapping[str, str] | None,
    key: str | None,
) -> pd.DataFrame:
    """Add the columns a JSON Lines chunk lacks because no line in it had the key.

    Without this a chunk where every line omits a required field would fail as a whole
    ("no column") instead of reporting each row; the added cells are missing values.
    ``columns`` and ``key`` are the ``--columns`` mapping and the ``--key`` column.
    """
    from flowodm.pandas.fields import frame_fields

    mapping: Mapping[str, str] = columns or {}
    wanted = [c for c in mapping if c not in frame.columns]
    if key is not None and key not in frame.columns:
        wanted.append(key)
    targets = set(mapping.values())
    for f in frame_fields(model):
        if f.required and not any(n in targets or n in frame.columns for n in f.names):
            wanted.append(f.name)
    if not wanted:
        return frame
    return frame.reindex(columns=[*frame.columns, *dict.fromkeys(wanted)])
