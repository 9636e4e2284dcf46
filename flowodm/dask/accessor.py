"""``ddf.flowodm``: validate or produce a Dask DataFrame, each partition on its own worker.

Why: a frame too large for one process is produced where its partitions live. Every partition
is validated, coerced and produced on the worker that computes it, by the pandas kit's
``ProduceRun`` (so each partition keeps the pandas guarantees), through one FlowODM connection
per worker process; only the reports travel back, and the client combines them into one
``DaskProduceReport`` in which every row is delivered, invalid or failed, named by
``(partition, label)``. The schema is registered once, on the client, before any task starts.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
import uuid
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Unpack

from dask.dataframe.extensions import register_dataframe_accessor
from pydantic import BaseModel

from flowodm._arguments import reject_unknown
from flowodm._types import Headers
from flowodm.dask.reports import (
    DaskProduceReport,
    DaskValidationReport,
    combine_produce,
    combine_validation,
)
from flowodm.dask.schedule import run_partitions
from flowodm.dask.worker import (
    PartitionJob,
    PartitionOutcome,
    produce_partition,
    validate_partition,
)
from flowodm.exceptions import ArgumentTypeError, DataFrameValidationError, PartialDeliveryError
from flowodm.kafka.connection import Connection
from flowodm.pandas.columns import Extra
from flowodm.pandas.options import DEFAULT_CHUNK_SIZE, OnInvalid, RunOptions
from flowodm.pandas.outcome import has_undelivered
from flowodm.pandas.pipeline import ProduceRun, check_model, invalid_message
from flowodm.pandas.registry_check import check_registry
from flowodm.pandas.reports import ProduceReport
from flowodm.progress import DeliveryProgress, open_bar, progress_factory
from flowodm.settings import display_name, settings_of

__all__ = ["DaskFlowODMAccessor", "undelivered_error"]

_CLIENT_ONLY = ("progress", "connection", "topic")  # used on the client, not shipped
_SHOWN = 5  # failed rows named in an error message; the report has them all


@register_dataframe_accessor("flowodm")  # type: ignore[no-untyped-call]
class DaskFlowODMAccessor:
    """The ``ddf.flowodm`` namespace of a ``dask.dataframe.DataFrame``: ``validate``, ``produce``.

    Example::

        report = ddf.flowodm.produce(Order, on_invalid="report")   # one combined report
        report.partition_frame()                                   # counts per partition
        report.to_frame()                                          # partition, index, ...
    """

    __slots__ = ("_ddf",)

    def __init__(self, ddf: Any) -> None:
        self._ddf = ddf

    def validate(
        self,
        model: type[BaseModel],
        columns: Mapping[Hashable, str] | None = None,
        *,
        extra: Extra = "forbid",
        key: Hashable | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        registry: bool | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> DaskValidationReport:
        """Check every row of every partition against ``model`` on the workers; send nothing.

        Same arguments as ``df.flowodm.validate``; the registry is asked once, on the client.
        Returns one ``DaskValidationReport``: problems by ``(partition, label)``, counts per
        partition in ``partitions``, the registry's verdict in ``registry``.

        Raises:
            TypeError: ``model`` is not a FlowBaseModel subclass.
            DataFrameValidationError: the columns do not fit the model (checked on the
                client from the frame's metadata, before any task runs).
            SchemaRegistryError: the registry check could not be made.
        """
        check_model(model, "ddf.flowodm.validate()")
        options = {"columns": columns, "extra": extra, "key": key, "chunk_size": chunk_size}
        self._check_columns(model, options)
        verdict = None
        if registry is not False:
            verdict = check_registry(
                model, topic=topic, connection=connection, required=registry is True
            )
        return dataclasses.replace(self._validate(model, options), registry=verdict)

    def produce(
        self,
        model: type[BaseModel],
        *,
        on_invalid: OnInvalid = "raise",
        raise_on_error: bool = True,
        headers: Headers | None = None,
        on_partition: Callable[[PartitionOutcome], None] | None = None,
        **options: Unpack[RunOptions],
    ) -> DaskProduceReport:
        """Produce every row of every partition, each partition on its worker; account for all.

        Args:
            model: A ``FlowBaseModel`` subclass with a topic (or pass ``topic``).
            on_invalid: ``"raise"`` (default) validates every partition first (a distributed
                ``validate``, so the frame is computed twice unless it is persisted) and
                raises ``DataFrameValidationError`` before anything is sent if a row is
                invalid; ``"report"`` sends the valid rows in one pass and reports the others.
            raise_on_error: As in pandas: ``True`` raises ``PartialDeliveryError`` (``.result``:
                the combined report) when a valid row was not acknowledged.
            headers: Kafka headers sent with every message (not with dead letters).
            on_partition: Called on the client as each partition finishes, with its
                ``PartitionOutcome`` (its report names rows by the partition's own labels);
                the backfill CLI checkpoints finished files there. An exception it raises
                cancels the partitions not started yet and propagates.
            **options: The pandas ``RunOptions``: ``key``, ``columns``, ``extra``,
                ``dead_letter``, ``chunk_size``, ``timeout``, ``stall_timeout``, ``columnar``,
                ``dry_run`` and ``callback`` apply per partition on the workers (``callback``
                runs there); ``progress`` (a bar on the client, counting acknowledged rows as
                partitions finish), ``connection`` (its config is shipped to the workers,
                secrets included but never shown) and ``topic`` apply on the client.

        Returns:
            ``DaskProduceReport``: totals, ``partitions`` (per-partition counts, also as
            ``partition_frame()``) and every invalid or failed row as ``(partition, label)``.

        Raises:
            TypeError: ``model`` is not a FlowBaseModel subclass, or an option is unknown.
            DataFrameValidationError: the columns do not fit the model, or (``"raise"``)
                some rows are invalid; nothing was sent.
            PartialDeliveryError: some valid rows were not acknowledged, or a partition was
                lost (and ``raise_on_error``); ``.result`` is the ``DaskProduceReport``.
            ConfigurationError, SettingsError, SchemaRegistryError: as in pandas, on the
                client before any task starts.
        """
        check_model(model, "ddf.flowodm.produce()")
        reject_unknown("ddf.flowodm.produce", options, RunOptions.__optional_keys__)
        if not isinstance(raise_on_error, bool):
            raise ArgumentTypeError(
                f"raise_on_error must be a bool, got {raise_on_error!r}", argument="raise_on_error"
            )
        started = time.perf_counter()
        shipped = {k: v for k, v in options.items() if k not in _CLIENT_ONLY}
        self._check_columns(model, shipped, on_invalid=on_invalid, headers=headers)
        bar_factory = progress_factory(options.get("progress"))  # fails before connecting
        dry_run = bool(options.get("dry_run", False))
        topic, config = self._resolve_topic(model, options, dry_run)
        if on_invalid == "raise":
            checked = self._validate(
                model,
                {k: shipped[k] for k in ("columns", "extra", "key", "chunk_size") if k in shipped},
            )
            if not checked.ok:
                raise DataFrameValidationError(invalid_message(checked), report=checked)
        job = PartitionJob("produce", uuid.uuid4().hex, model, topic, config, shipped, headers)
        _check_shippable(job)
        name = display_name(model)
        bar = DeliveryProgress(open_bar(bar_factory, total=None, desc=f"{name} → {topic} (Dask)"))
        seen = {"invalid": 0, "failed": 0}

        def on_done(outcome: PartitionOutcome) -> None:
            report = outcome.report
            assert isinstance(report, ProduceReport)
            seen["invalid"] += report.invalid
            seen["failed"] += len(report.failed) + report.unconfirmed
            bar.counts(invalid=seen["invalid"], failed=seen["failed"])
            bar.acked(report.delivered)
            if on_partition is not None:
                on_partition(outcome)

        try:
            parts = run_partitions(self._ddf, produce_partition, job, on_done)
        finally:
            bar.close()
        report = combine_produce(
            parts,
            model=name,
            topic=topic,
            elapsed=time.perf_counter() - started,
            dry_run=dry_run,
            dead_letter_topic=options.get("dead_letter"),
        )
        if raise_on_error and (has_undelivered(report) or report.lost_partitions):
            raise undelivered_error(report)
        return report

    # ---------------------------------------------------------------- helpers

    def _validate(self, model: type[BaseModel], options: Mapping[str, Any]) -> DaskValidationReport:
        started = time.perf_counter()
        job = PartitionJob("validate", uuid.uuid4().hex, model, None, None, dict(options))
        _check_shippable(job)
        parts = run_partitions(self._ddf, validate_partition, job, lambda _outcome: None)
        return combine_validation(
            parts, model=display_name(model), elapsed=time.perf_counter() - started
        )

    def _check_columns(
        self,
        model: type[BaseModel],
        options: Mapping[str, Any],
        *,
        on_invalid: OnInvalid = "report",
        headers: Headers | None = None,
    ) -> None:
        """Check the options and the columns on the client, from the frame's empty ``_meta``.

        A dry ``ProduceRun`` fed the metadata applies exactly the pandas checks (option values,
        column plan) without any connection, so mistakes fail before a task is scheduled.
        """
        probe_options: dict[str, Any] = {**options, "dry_run": True, "progress": False}
        probe: ProduceRun[Any] = ProduceRun(
            model, on_invalid=on_invalid, headers=headers, **probe_options
        )
        try:
            probe.send(self._ddf._meta)
        finally:
            probe.abort()

    @staticmethod
    def _resolve_topic(
        model: type[BaseModel], options: Mapping[str, Any], dry_run: bool
    ) -> tuple[str, Any]:
        """The topic written to, and the config shipped; the schema is registered here, once."""
        topic = options.get("topic")
        if dry_run:
            return topic or settings_of(model).topic or "(dry run)", None
        from flowodm.kafka.connection import get_connection
        from flowodm.serde.model_codec import get_model_codec

        connection = options.get("connection") or get_connection()
        codec = get_model_codec(model, connection, topic=topic)
        _ = codec.schema_id  # registered (or looked up) before any task starts
        return codec.topic, connection.config


def _check_shippable(job: PartitionJob) -> None:
    """Raise ``ArgumentTypeError`` now if the job cannot be pickled to reach the workers.

    Dask's own error names only its graph object; this one names the model and the way out.
    """
    try:
        importlib.import_module("cloudpickle").dumps(job)  # dask's pickler (untyped)
    except Exception as exc:
        raise ArgumentTypeError(
            f"the model {display_name(job.model)} or an option (callback, columns…) cannot be "
            f"pickled to reach the Dask workers ({type(exc).__name__}: {exc}); define the model "
            "at module level in a module the workers can import (pydantic keeps a class "
            "defined inside a function together with that function's local variables)"
        ) from None


def undelivered_error(report: DaskProduceReport) -> PartialDeliveryError:
    """The error ``ddf.flowodm.produce`` raises when a valid row was not acknowledged."""
    missing = len(report.failed) + report.unconfirmed
    shown = "; ".join(
        f"partition {f.index[0]} row {f.index[1]!r}: {f.error} "
        f"({'may have been written' if f.maybe_written else 'not written'})"
        if isinstance(f.index, tuple)
        else f"row {f.index!r}: {f.error}"
        for f in report.failed[:_SHOWN]
    )
    more = f"; and {len(report.failed) - _SHOWN} more" if len(report.failed) > _SHOWN else ""
    lost = (
        f"; partition(s) {list(report.lost_partitions)} were lost (their rows could not be listed)"
        if report.lost_partitions
        else ""
    )
    return PartialDeliveryError(
        f"{missing} of {report.total - report.invalid} row(s) were not delivered to "
        f"{report.topic!r}: {shown}{more}{lost}. {report.summary()}. The error's .result is "
        "the DaskProduceReport: .to_frame() names each row by partition and index label "
        "(rows 'may have been written' may already be on the topic); pass "
        "raise_on_error=False to have the report returned instead of raised",
        result=report,
        topic=report.topic,
    )
