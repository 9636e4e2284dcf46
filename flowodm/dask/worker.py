"""What runs on a Dask worker: one partition validated, or validated and produced, in full.

Why a module of its own: these functions are pickled by reference into every task, so they
must be importable on the workers and must never raise. A partition whose run fails part way
still comes back as a report in which each of its rows is delivered, invalid or failed (a row
the run never reached is "failed, not sent" with the reason), so the client can account for
every row without asking the worker again.

One ``WorkerConnection`` is kept per worker process and connection config (``worker_connection``)
and reused by every task that process runs; it is closed when the process exits. Its registry
looks schemas up before it would register them: the client registered the schema once before
the tasks started, so a worker only needs its id.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import pickle
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel

from flowodm._secrets import scrub
from flowodm._types import Headers
from flowodm.exceptions import SchemaRegistryError
from flowodm.kafka.config import ConnectionConfig
from flowodm.kafka.connection import Connection
from flowodm.pandas.accessor import FlowODMAccessor
from flowodm.pandas.pipeline import ProduceRun
from flowodm.pandas.reports import DeliveryFailure, ProduceReport, RowError, ValidationReport
from flowodm.serde.registry import AvroSchema, RegistryAdapter
from flowodm.settings import display_name

__all__ = [
    "PartitionJob",
    "PartitionOutcome",
    "WorkerConnection",
    "close_worker_connections",
    "produce_partition",
    "validate_partition",
    "worker_connection",
]

logger = logging.getLogger("flowodm.dask")

EVENT_TOPIC = "flowodm-dask-start"  # a scheduler event per task start (counts retried attempts)
_WORKER_CLOSE_TIMEOUT = 5.0
_REASON_LIMIT = 300  # characters of an exception kept in a row's "not sent" reason


@dataclass(frozen=True)
class PartitionJob:
    """Everything a task needs, shipped with it: the model, the options and the config.

    ``config`` holds secrets as ``SecretStr`` (pickled to reach the worker, masked in every
    repr); ``repr(job)`` names only the model and topic, so a task's repr in a Dask log shows
    nothing else.

    Attributes:
        kind: ``"produce"`` or ``"validate"``.
        run_id: Identifies this call's tasks in the scheduler's events.
        model: The ``FlowBaseModel`` subclass.
        topic: The topic the client resolved (``None`` for validation and dry runs).
        config: The connection config the workers connect with (``None``: no connection).
        options: ``ProduceRun`` keywords (key, columns, extra, dead_letter, chunk_size,
            callback, timeout, stall_timeout, dry_run, columnar), or ``validate``'s keywords.
        headers: Headers sent with every message, if any.
    """

    kind: Literal["produce", "validate"]
    run_id: str
    model: type[BaseModel]
    topic: str | None
    config: ConnectionConfig | None = field(default=None)
    options: Mapping[str, Any] = field(default_factory=dict)
    headers: Headers | None = None

    def __repr__(self) -> str:
        return f"PartitionJob({self.kind} {display_name(self.model)} → {self.topic!r})"


@dataclass(frozen=True)
class PartitionOutcome:
    """A partition's report (labels are the partition's own), where it ran, and why it stopped.

    Attributes:
        partition: The Dask partition number.
        report: ``ProduceReport`` (produce) or ``ValidationReport`` (validate); every row of
            the partition is in it.
        worker: The worker's address (``""`` outside ``distributed``).
        error: Why the run ended early (its rows not sent are failed in the report), or ``None``.
        lost: The partition's rows could not even be listed (``report`` has none of them).
    """

    partition: int
    report: ProduceReport | ValidationReport
    worker: str = ""
    error: str | None = None
    lost: bool = False


class LookupFirstRegistry(RegistryAdapter):
    """A registry adapter whose ``register`` looks the schema up first (workers' registry).

    The client registered the value schema before the tasks started, so on a worker the lookup
    answers; only a schema the client could not register in advance (an Avro key schema) is
    registered, once per worker process.
    """

    def register(self, subject: str, schema: AvroSchema) -> int:
        """Return the id of ``schema`` under ``subject``, registering it only if it is unknown."""
        try:
            return self.lookup(subject, schema)
        except SchemaRegistryError as exc:
            if exc.http_status != 404:
                raise
        return super().register(subject, schema)


class WorkerConnection(Connection):
    """The ``Connection`` of a worker process: the same clients, a look-up-first registry."""

    def __init__(self, config: ConnectionConfig) -> None:
        """Wrap ``config``; no client is created until first use."""
        super().__init__(config)
        self._lookup_lock = threading.Lock()
        self._lookup_registry: RegistryAdapter | None = None

    @property
    def registry(self) -> RegistryAdapter | None:
        """The worker's ``LookupFirstRegistry``, or ``None`` when no registry URL is configured."""
        url = self.config.schema_registry_url
        if url is None:
            return None
        with self._lookup_lock:
            if self._lookup_registry is None:
                self._lookup_registry = LookupFirstRegistry(
                    url,
                    config={**self.config.registry_auth(), **self.config.schema_registry_config},
                    timeout=self.config.registry_timeout,
                )
            return self._lookup_registry

    def close(
        self, timeout: float = _WORKER_CLOSE_TIMEOUT, *, stall_timeout: float | None = None
    ) -> int:
        """Close the producers (as ``Connection.close``) and the look-up-first registry."""
        left = super().close(timeout, stall_timeout=stall_timeout)
        with self._lookup_lock:
            registry, self._lookup_registry = self._lookup_registry, None
        if registry is not None:
            registry.close()
        return left


_connections: dict[bytes, WorkerConnection] = {}
_connections_lock = threading.Lock()


def worker_connection(config: ConnectionConfig) -> WorkerConnection:
    """Return this process's connection for ``config``, opening it on first use.

    Keyed by the config's pickled form (held in memory only), so tasks with equal configs share
    one connection and its pooled producers whatever call shipped them.
    """
    key = pickle.dumps(config)
    with _connections_lock:
        connection = _connections.get(key)
        if connection is None or connection.closed:
            if not _connections:
                atexit.register(close_worker_connections)
            connection = _connections[key] = WorkerConnection(config)
            logger.debug("opened a worker connection with %r", config)
        return connection


def close_worker_connections(timeout: float = _WORKER_CLOSE_TIMEOUT) -> None:
    """Close every connection this process opened for tasks (at exit, or from ``client.run``)."""
    with _connections_lock:
        connections = list(_connections.values())
        _connections.clear()
    for connection in connections:
        connection.close(timeout)


def produce_partition(frame: pd.DataFrame, partition: int, job: PartitionJob) -> PartitionOutcome:
    """Validate, coerce and produce one partition; every row ends up in the returned report."""
    worker = _mark_start(job.run_id, partition)
    secrets = job.config.secret_values() if job.config is not None else []
    run: ProduceRun[Any] | None = None
    error: str | None = None
    try:
        connection = None if job.config is None else worker_connection(job.config)
        run = ProduceRun(
            job.model,
            on_invalid="report",
            total=len(frame),
            progress=False,
            connection=connection,
            topic=job.topic,
            headers=job.headers,
            **job.options,
        )
        run.send(frame)
        report = run.finish()
    except Exception as exc:  # a stall, duplicate labels, a registry error: return the rows
        error = _reason(exc, secrets)
        # After a stall the run already holds its partial report; abort() returns it.
        report = run.abort() if run is not None else _empty_report(job, frame)
    return PartitionOutcome(partition, _with_rows_not_sent(report, frame, error), worker, error)


def validate_partition(frame: pd.DataFrame, partition: int, job: PartitionJob) -> PartitionOutcome:
    """Check one partition against the model, sending nothing."""
    worker = _mark_start(job.run_id, partition)
    try:
        # The registry is asked once, on the client, not by every partition.
        report = FlowODMAccessor(frame).validate(job.model, registry=False, **job.options)
    except Exception as exc:  # e.g. duplicate labels in this partition
        error = _reason(exc, [])
        problem = RowError(
            None, None, f"partition {partition} was not checked: {error}", "partition"
        )
        report = ValidationReport(display_name(job.model), len(frame), (problem,))
        return PartitionOutcome(partition, report, worker, error)
    return PartitionOutcome(partition, report, worker)


# ------------------------------------------------------------------------------ helpers


def _mark_start(run_id: str, partition: int) -> str:
    """Tell the scheduler this partition's task started (synchronously); return the worker."""
    try:
        from distributed import get_client, get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return ""  # not on a distributed worker: the local scheduler runs each task once
    try:
        get_client().log_event(EVENT_TOPIC, {"run": run_id, "partition": partition})
    except Exception:  # counting attempts must never stop the produce
        logger.warning("could not record the start of partition %d with the scheduler", partition)
    return str(worker.address)


def _reason(exc: BaseException, secrets: list[str]) -> str:
    text = scrub(f"{type(exc).__name__}: {exc}", secrets)
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 1] + "…"


def _empty_report(job: PartitionJob, frame: pd.DataFrame) -> ProduceReport:
    return ProduceReport(
        model=display_name(job.model),
        topic=job.topic or "",
        total=0,
        delivered=0,
        dry_run=bool(job.options.get("dry_run")),
    )


def _with_rows_not_sent(
    report: ProduceReport, frame: pd.DataFrame, error: str | None
) -> ProduceReport:
    """Add the rows the run never reached (rows are handed over in order) as failed, not sent."""
    if report.total >= len(frame):
        return report
    reason = f"not sent: {error or 'the run stopped before this row'}"
    labels: list[Hashable] = frame.index[report.total :].tolist()
    missing = tuple(DeliveryFailure(label, reason, maybe_written=False) for label in labels)
    return dataclasses.replace(report, total=len(frame), failed=report.failed + missing)
