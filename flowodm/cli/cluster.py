"""``flowodm produce 'data/*.parquet' --workers N | --scheduler ADDRESS``: a backfill on Dask.

Each file FILE matches is one Dask partition, produced on a worker by ``ddf.flowodm.produce``
(so validation, coercion, keys, ``--on-invalid``, dead letters and the topic behave as in
``df.flowodm.produce``). The client counts each file's report as it finishes: its problems
are appended to ``--report`` (each line naming the file and the row), the progress bar moves,
and, once every row of the file is delivered or recorded as invalid, ``--checkpoint`` records
the file as finished. A rerun of the same command skips finished files; only files that were
in flight (or failed) are sent again. See "The backfill CLI on a cluster" in docs/dask.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import time
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from flowodm._optional import require
from flowodm.cli.backfill import (
    Ledger,
    check_combinations,
    connect_or_check,
    is_finished,
    model_and_topic,
    print_outcome,
    shared_run_options,
)
from flowodm.cli.checkpoint import FileIdentity
from flowodm.cli.checkpoint_files import FilesCheckpointer
from flowodm.cli.cluster_input import files_frame, match_files
from flowodm.cli.sources import Source
from flowodm.cli.summary import (
    FILE_REPORT_COLUMNS,
    FileCounts,
    Outcome,
    ReportWriter,
    Totals,
)
from flowodm.cli.usage import UsageError
from flowodm.exceptions import DataFrameValidationError, FlowODMError

if TYPE_CHECKING:
    from flowodm.dask.worker import PartitionOutcome
    from flowodm.model import FlowBaseModel
    from flowodm.pandas.registry_check import RegistryCheck
    from flowodm.pandas.reports import ProduceReport, RowError
    from flowodm.progress import DeliveryProgress

__all__ = ["ClusterJob", "plan_cluster_job", "run_on_cluster"]


@dataclass(frozen=True)
class ClusterJob:
    """Everything decided on the client before a partition is scheduled.

    Attributes:
        pattern: FILE as given.
        sources: Every file it matches, in order.
        identities: Each file's identity, in the same order.
        todo: The files this run produces (those the checkpoint does not record as done).
        model: The model rows become.
        topic: Where rows are produced.
        on_invalid: ``--on-invalid``.
        options: Keyword arguments for ``ddf.flowodm.produce`` (its ``RunOptions``).
        checkpointer: Keeps ``--checkpoint``, if given.
        args: The command line (report, progress, scheduler or workers, chunk size …).
        registry: A dry run's verdict of the Schema Registry (``None``: none configured).
    """

    pattern: str
    sources: tuple[Source, ...]
    identities: tuple[FileIdentity, ...]
    todo: tuple[int, ...]
    model: type[FlowBaseModel]
    topic: str
    on_invalid: str
    options: dict[str, Any]
    checkpointer: FilesCheckpointer | None
    args: argparse.Namespace
    registry: RegistryCheck | None = None

    @property
    def skipped(self) -> int:
        """Files finished by an earlier run, not read again."""
        return len(self.sources) - len(self.todo)


def run_on_cluster(args: argparse.Namespace) -> int:
    """Plan the job, produce its files on the cluster, print the summary, return the exit code.

    Raises:
        UsageError: the command line cannot be carried out (exit code 2).
        FlowODMError: the run could not start (distributed missing, no broker configured …).
    """
    return print_outcome(*_execute(plan_cluster_job(args)))


def plan_cluster_job(args: argparse.Namespace) -> ClusterJob:
    """Check the command line, list the files, import the model, read the checkpoint, connect.

    Raises:
        UsageError: an unusable option, pattern, file, model, or checkpoint.
        FlowODMError: the model or the connection settings are invalid.
    """
    if args.limit is not None:
        raise UsageError(
            "--limit cannot be used with --workers/--scheduler: each file is produced whole, "
            "as one partition; narrow the FILE pattern instead"
        )
    sources = match_files(args.file, args.format)
    check_combinations(args, sources[0])
    model, topic = model_and_topic(args)
    identities = tuple(FileIdentity.of(s.path) for s in sources)
    checkpointer = None
    done: frozenset[str] = frozenset()
    if args.checkpoint is not None:
        checkpointer = FilesCheckpointer(args.checkpoint, files=identities, topic=topic)
        done = checkpointer.resume()
    options = {**shared_run_options(args, topic), "chunk_size": args.chunk_size}
    options = {k: v for k, v in options.items() if v is not None}
    registry = connect_or_check(args, model, topic, options)
    return ClusterJob(
        pattern=args.file,
        sources=tuple(sources),
        identities=identities,
        todo=tuple(i for i, f in enumerate(identities) if f.path not in done),
        model=model,
        topic=topic,
        on_invalid=args.on_invalid,
        options=options,
        checkpointer=checkpointer,
        args=args,
        registry=registry,
    )


class _FileRun(Ledger):
    """The client's side of one cluster run: each file's report counted as it comes back."""

    def __init__(self, job: ClusterJob) -> None:
        args = job.args
        writer = None
        if args.report is not None:
            writer = ReportWriter(args.report, append=job.skipped > 0, columns=FILE_REPORT_COLUMNS)
        super().__init__(Totals(keep=args.show_errors), writer, _progress(job))
        self.job = job
        self.rows_read = 0
        self.finished = 0
        self.unfinished: list[tuple[str, str]] = []
        self.repeated: tuple[str, ...] = ()
        self.stopped: str | None = None

    def source(self, partition: int) -> Source:
        """The file partition ``partition`` of this run reads."""
        return self.job.sources[self.job.todo[partition]]

    def on_partition(self, outcome: PartitionOutcome) -> None:
        """Record one file's report; checkpoint the file when every row of it is done."""
        from flowodm.pandas.reports import ProduceReport

        report = outcome.report
        assert isinstance(report, ProduceReport)
        number = self.job.todo[outcome.partition]
        label = self.job.sources[number].label
        self.rows_read += report.total
        self.record(report, file=label)  # the report file first, then the checkpoint
        if not outcome.lost and outcome.error is None and is_finished(report):
            self.finished += 1
            if self.job.checkpointer is not None:
                self.job.checkpointer.finish(self.job.identities[number].path)
        else:
            self.unfinished.append((label, _why(outcome, report)))

    def refused(self, exc: DataFrameValidationError) -> None:
        """Record a run refused before anything was sent (columns, or ``--on-invalid raise``)."""
        errors = getattr(exc.report, "errors", ())
        if not errors or not all(isinstance(e.index, tuple) for e in errors):
            # Checked on the client from the first file's columns, before any task ran.
            self.stopped = (
                f"the files' columns do not fit the model: {exc}. Map file columns to fields "
                "with --columns COLUMN=FIELD, or drop unknown columns with --extra ignore"
            )
            return
        by_file: dict[int, list[RowError]] = {}
        for e in errors:
            partition, label = cast("tuple[int, Hashable]", e.index)
            if label is None:  # the file could not be checked at all (e.g. unreadable)
                self.unfinished.append((self.source(partition).label, e.message))
            else:
                by_file.setdefault(partition, []).append(dataclasses.replace(e, index=label))
        for partition, found in sorted(by_file.items()):
            self.record_validation(found, file=self.source(partition).label)
        rows = sum(len(found) for found in by_file.values())
        self.stopped = (
            f"{rows} problem(s) in {len(by_file)} file(s) and {len(self.unfinished)} file(s) "
            "not checked; --on-invalid raise checks every file before sending anything, so no "
            "row was sent. Fix the rows, or use --on-invalid report to send the valid rows and "
            "report the others"
        )


def _execute(job: ClusterJob) -> tuple[Outcome, bool]:
    """Produce the job's files on the cluster; return the outcome and whether it was Ctrl-C."""
    run = _FileRun(job)
    started = time.perf_counter()
    interrupted = False
    try:
        if job.todo:
            _produce(job, run)
    except DataFrameValidationError as exc:
        run.refused(exc)
    except FlowODMError as exc:  # registry, report or checkpoint file, the cluster
        run.stopped = str(exc)
    except KeyboardInterrupt:
        run.stopped = "interrupted"
        interrupted = True
    finally:
        run.close()
    checkpointer = job.checkpointer
    files = FileCounts(
        pattern=job.pattern,
        matched=len(job.sources),
        skipped=job.skipped,
        finished=run.finished,
        unfinished=tuple(run.unfinished),
        repeated=run.repeated,
    )
    outcome = Outcome(
        source=job.pattern,
        topic=job.topic,
        dry_run=bool(job.options.get("dry_run")),
        start=0,
        rows_read=run.rows_read,
        totals=run.totals,
        elapsed=time.perf_counter() - started,
        dead_letter=job.options.get("dead_letter"),
        checkpoint=(checkpointer.path, len(checkpointer.done)) if checkpointer else None,
        report_path=job.args.report,
        stopped=run.stopped,
        files=files,
        registry=job.registry,
    )
    return outcome, interrupted


def _produce(job: ClusterJob, run: _FileRun) -> None:
    ddf = files_frame(
        [job.sources[i] for i in job.todo],
        model=job.model,
        mapping=job.args.columns,
        key=job.args.key,
        chunk_size=job.args.chunk_size,
    )
    with _client(job.args):
        report = ddf.flowodm.produce(
            job.model,
            on_invalid=job.on_invalid,
            raise_on_error=False,  # every file's outcome is already counted, as it finished
            on_partition=run.on_partition,
            **job.options,
        )
    run.repeated = tuple(run.source(p).label for p in report.retried)


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    """The ``distributed.Client`` of the run, current while it lasts, closed afterwards.

    ``--scheduler`` connects to a running cluster (which stays up); ``--workers N`` starts a
    ``LocalCluster`` of N worker processes for this run and closes it, after closing the
    workers' FlowODM connections (so their producers flush and stop first).
    """
    distributed = require("distributed", extra="dask")
    from flowodm.dask import close_worker_connections

    if args.scheduler is not None:
        try:
            client = distributed.Client(args.scheduler, set_as_default=False, timeout=30)
        except (OSError, TimeoutError) as exc:
            raise FlowODMError(
                f"cannot connect to the Dask scheduler --scheduler {args.scheduler!r}: {exc}"
            ) from exc
        with client, client.as_current():
            yield client
        return
    with (
        distributed.LocalCluster(
            n_workers=args.workers, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
        client.as_current(),
    ):
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.run(close_worker_connections)


def _why(outcome: PartitionOutcome, report: ProduceReport) -> str:
    """Why a file is not finished, in a few words (its rows are in the report file)."""
    if outcome.lost:
        return f"could not be read: {outcome.error}"
    if outcome.error is not None:
        return outcome.error
    failed = len(report.failed) + report.unconfirmed
    copies = len(report.dead_letter_failed) + report.dead_letter_unconfirmed
    parts = [f"{failed:,} row(s) failed to deliver"] if failed else []
    if copies:
        parts.append(f"{copies:,} dead-letter copy(ies) failed")
    return "; ".join(parts)


def _progress(job: ClusterJob) -> DeliveryProgress | None:
    from flowodm.progress import DeliveryProgress, open_progress

    counts: Sequence[int | None] = [job.sources[i].row_count() for i in job.todo]
    total = None if any(c is None for c in counts) else sum(c or 0 for c in counts)
    dry = " (dry run)" if job.args.dry_run else ""
    desc = f"{len(job.todo)} file(s) → {job.topic} (Dask){dry}"
    bar = open_progress(job.args.progress, total=total, desc=desc)
    return None if bar is None else DeliveryProgress(bar)
