"""One task per partition, run on a ``distributed`` cluster or dask's local scheduler.

Why: each partition is validated and produced where it is computed (on the worker holding it),
and only its report travels back. The client collects the reports as partitions finish (for
the progress bar): with a ``distributed`` Client through ``as_completed`` on futures, otherwise
through a local-scheduler callback. A partition whose task failed (a worker died more often
than the scheduler allows, its input raised) is still accounted for: its rows are listed again
from its index and reported "failed, may have been written"; if even that fails, the partition
is reported lost (``DaskProduceReport.lost_partitions``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd
from dask import config as dask_config
from dask.base import compute
from dask.callbacks import Callback
from dask.delayed import delayed

from flowodm._secrets import scrub
from flowodm.dask.reports import Part
from flowodm.dask.worker import EVENT_TOPIC, PartitionJob, PartitionOutcome
from flowodm.pandas.reports import DeliveryFailure, ProduceReport, RowError, ValidationReport
from flowodm.settings import display_name

__all__ = ["current_client", "run_partitions"]

PartitionTask = Callable[[pd.DataFrame, int, PartitionJob], PartitionOutcome]


_LOCAL_SCHEDULERS = ("threads", "threading", "sync", "synchronous", "single-threaded", "processes")


def current_client() -> Any:
    """The active ``distributed.Client``, or ``None`` for dask's local scheduler.

    ``None`` when distributed is not installed, no client is active, or a local scheduler was
    chosen explicitly (``dask.config.set(scheduler="threads")``).
    """
    if dask_config.get("scheduler", None) in _LOCAL_SCHEDULERS:
        return None
    try:
        from distributed import Client
    except ImportError:
        return None
    try:
        return Client.current(allow_global=True)  # type: ignore[no-untyped-call]
    except ValueError:
        return None


def run_partitions(
    ddf: Any, task: PartitionTask, job: PartitionJob, on_done: Callable[[PartitionOutcome], None]
) -> list[Part]:
    """Run ``task`` on every partition of ``ddf``; call ``on_done`` as each one finishes.

    Returns:
        One ``Part`` per partition, in partition order, with how many times it started.
    """
    tasks = [
        delayed(task, pure=False)(part, number, job) for number, part in enumerate(ddf.to_delayed())
    ]
    client = current_client()
    if client is None:
        outcomes = _run_local(ddf, tasks, job, on_done)
        attempts: Counter[int] = Counter(dict.fromkeys(outcomes, 1))
    else:
        outcomes = _run_distributed(client, ddf, tasks, job, on_done)
        attempts = _attempts(client, job.run_id)
    return [
        Part(n, o.report, max(1, attempts[n]), o.worker, o.error, o.lost)
        for n, o in sorted(outcomes.items())
    ]


def _run_distributed(
    client: Any,
    ddf: Any,
    tasks: list[Any],
    job: PartitionJob,
    on_done: Callable[[PartitionOutcome], None],
) -> dict[int, PartitionOutcome]:
    from distributed import as_completed

    futures = client.compute(tasks)
    numbers = {future.key: n for n, future in enumerate(futures)}
    outcomes: dict[int, PartitionOutcome] = {}
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            number = numbers[future.key]
            try:
                outcome = future.result()
            except Exception as exc:  # the partition is reported, not lost
                outcome = _lost(ddf, number, exc, job, client)
            outcomes[number] = outcome
            on_done(outcome)
    except BaseException:
        client.cancel(futures)  # Ctrl-C: start no more partitions (running ones finish)
        raise
    return outcomes


def _run_local(
    ddf: Any, tasks: list[Any], job: PartitionJob, on_done: Callable[[PartitionOutcome], None]
) -> dict[int, PartitionOutcome]:
    outcomes: dict[int, PartitionOutcome] = {}
    lock = threading.Lock()

    def finished(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if isinstance(result, PartitionOutcome):
            with lock:
                outcomes[result.partition] = result
            on_done(result)

    failure: Exception | None = None
    with Callback(posttask=finished):  # type: ignore[no-untyped-call]
        try:
            compute(*tasks)  # type: ignore[no-untyped-call]
        except Exception as exc:  # an input partition raised: report the rest
            failure = exc
    if failure is not None:
        for number in range(len(tasks)):
            if number not in outcomes:
                outcomes[number] = _lost(ddf, number, failure, job)
                on_done(outcomes[number])
    return outcomes


def _attempts(client: Any, run_id: str) -> Counter[int]:
    """How many times each partition's task of this run started, from the scheduler's events."""
    events = client.get_events(EVENT_TOPIC)
    return Counter(
        int(msg["partition"])
        for _, msg in events
        if isinstance(msg, dict) and msg.get("run") == run_id
    )


def _lost(
    ddf: Any, number: int, exc: BaseException, job: PartitionJob, client: Any = None
) -> PartitionOutcome:
    """The outcome of a partition whose task did not return: every row failed, maybe written."""
    secrets = job.config.secret_values() if job.config is not None else []
    reason = scrub(f"the task of partition {number} failed: {type(exc).__name__}: {exc}", secrets)
    name = display_name(job.model)
    try:
        index = ddf.partitions[number].index
        found = client.compute(index).result() if client is not None else index.compute()
        labels: list[Hashable] = found.tolist()
    except Exception as again:  # the partition cannot even be listed
        listing = scrub(f"{type(again).__name__}: {again}", secrets)
        error = f"{reason}; its rows could not be listed ({listing})"
        lost: ProduceReport | ValidationReport = (
            ProduceReport(model=name, topic=job.topic or "", total=0, delivered=0)
            if job.kind == "produce"
            else ValidationReport(name, 0, (RowError(None, None, error, "partition"),))
        )
        return PartitionOutcome(number, lost, error=error, lost=True)
    if job.kind == "produce":
        failed = tuple(DeliveryFailure(label, reason, maybe_written=True) for label in labels)
        report: ProduceReport | ValidationReport = ProduceReport(
            model=name, topic=job.topic or "", total=len(labels), delivered=0, failed=failed
        )
    else:
        report = ValidationReport(name, len(labels), (RowError(None, None, reason, "partition"),))
    return PartitionOutcome(number, report, error=reason)
