"""``df.flowodm``: validate a DataFrame against a model, turn it into models, or produce it.

The accessor is stateless and cheap to build (pandas 3 builds a new one on every attribute
access); everything is checked inside its methods. It never modifies the frame.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator, Mapping
from typing import TypeVar, Unpack

import pandas as pd
from pydantic import BaseModel

from flowodm._arguments import positive_count, reject_unknown
from flowodm.exceptions import ArgumentTypeError, DataFrameValidationError
from flowodm.kafka.connection import Connection
from flowodm.pandas.columns import Extra, plan_columns
from flowodm.pandas.encoding import local_encoding
from flowodm.pandas.outcome import has_undelivered, undelivered_error
from flowodm.pandas.pipeline import (
    DEFAULT_CHUNK_SIZE,
    OnInvalid,
    ProduceRun,
    RunOptions,
    check_model,
    check_unique_index,
    invalid_message,
)
from flowodm.pandas.prepare import ChunkPreparer
from flowodm.pandas.registry_check import check_registry
from flowodm.pandas.reports import ProduceReport, RowError, ValidationReport
from flowodm.settings import display_name

__all__ = ["FlowODMAccessor"]

M = TypeVar("M", bound=BaseModel)


@pd.api.extensions.register_dataframe_accessor("flowodm")
class FlowODMAccessor:
    """The ``df.flowodm`` namespace: ``validate``, ``to_models``, ``iter_models``, ``produce``.

    Example::

        report = orders_df.flowodm.produce(Order)          # every row delivered, or it raises
        report = orders_df.flowodm.validate(Order)         # nothing sent
        report.to_frame()                                  # one row per problem
    """

    __slots__ = ("_frame",)

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def validate(
        self,
        model: type[M],
        columns: Mapping[Hashable, str] | None = None,
        *,
        extra: Extra = "forbid",
        key: Hashable | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        registry: bool | None = None,
        topic: str | None = None,
        connection: Connection | None = None,
    ) -> ValidationReport:
        """Check every row against ``model`` (and that it encodes) without sending anything.

        Args:
            model: A ``FlowBaseModel`` subclass.
            columns: ``{frame column: field name or alias}`` for columns named differently.
            extra: ``"forbid"`` reports columns that match no field; ``"ignore"`` drops them.
            key: A frame column holding message keys, checked like ``produce`` would.
            chunk_size: Rows checked together.
            registry: Also ask the Schema Registry whether ``produce`` would be accepted
                (compatibility, or the schema registered when ``auto_register`` is off), without
                registering: ``None`` (default) when a registry is configured, ``True`` always
                (raises without one), ``False`` never. The verdict is ``report.registry``.
            topic: The topic ``produce`` would write to (it decides the registry subject).
            connection: The connection for the registry check (default: the current one).

        Returns:
            A report listing every problem by frame index (``report.to_frame()``).

        Raises:
            TypeError: ``model`` is not a FlowBaseModel subclass.
            DataFrameValidationError: the columns do not fit the model (all problems listed).
            SchemaRegistryError: the registry check could not be made (unreachable, failed).
            ConfigurationError: ``registry=True`` and no registry is configured.

        Example::

            report = df.flowodm.validate(Order)
            df.loc[report.invalid_index]
        """
        check_model(model, "df.flowodm.validate()")
        started = time.perf_counter()
        frame = self._unique_frame()
        preparer = self._preparer(model, columns, extra, key)
        verdict = None
        if registry is not False:  # asked first: a refused schema fails the run at its start
            verdict = check_registry(
                model, topic=topic, connection=connection, required=registry is True
            )
        errors: list[RowError] = []
        for start in range(0, len(frame), _chunk(chunk_size)):
            errors.extend(preparer.prepare(frame.iloc[start : start + chunk_size]).errors)
        return ValidationReport(
            model=display_name(model),
            total=len(frame),
            errors=tuple(errors),
            elapsed=time.perf_counter() - started,
            registry=verdict,
        )

    def iter_models(
        self,
        model: type[M],
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        columns: Mapping[Hashable, str] | None = None,
        extra: Extra = "forbid",
    ) -> Iterator[M]:
        """Yield one validated ``model`` instance per row, ``chunk_size`` rows at a time.

        Memory stays bounded by one chunk of models, so rows are checked as they are reached:
        a chunk with an invalid row raises before any model of that chunk is yielded, while
        the models of earlier chunks have already been yielded (the error says how many). To
        find every bad row before consuming any model, call ``validate`` first.

        Raises:
            TypeError: ``model`` is not a FlowBaseModel subclass.
            DataFrameValidationError: the columns do not fit (before anything is yielded), or
                a chunk has invalid rows; its ``report`` covers the rows checked so far and
                lists that chunk's problems.
        """
        check_model(model, "df.flowodm.iter_models()")
        frame = self._unique_frame()
        step = _chunk(chunk_size)
        preparer = self._preparer(model, columns, extra, None)
        started = time.perf_counter()
        for start in range(0, len(frame), step):
            models, errors = _split(preparer.models(frame.iloc[start : start + step]))
            if errors:
                stop = min(start + step, len(frame))
                first, last = frame.index[[start, stop - 1]].tolist()
                span = f"row {first!r}" if stop - start == 1 else f"rows {first!r} to {last!r}"
                outcome = (
                    f"no model of {span} was yielded (the {start} model(s) of the rows before "
                    "were; the rows after were not checked)"
                )
                _raise_invalid(model, stop, errors, started, outcome)
            yield from models

    def to_models(
        self,
        model: type[M],
        *,
        columns: Mapping[Hashable, str] | None = None,
        extra: Extra = "forbid",
    ) -> list[M]:
        """Return one validated ``model`` instance per row, in frame order.

        Raises:
            TypeError: ``model`` is not a FlowBaseModel subclass.
            DataFrameValidationError: the columns do not fit, or some rows are invalid (all of
                them are listed in its ``report``; nothing is returned).

        Example::

            orders = df.flowodm.to_models(Order)
        """
        check_model(model, "df.flowodm.to_models()")
        frame = self._unique_frame()
        preparer = self._preparer(model, columns, extra, None)
        started = time.perf_counter()
        models: list[M] = []
        errors: list[RowError] = []
        for start in range(0, len(frame), DEFAULT_CHUNK_SIZE):
            chunk_models, chunk_errors = _split(
                preparer.models(frame.iloc[start : start + DEFAULT_CHUNK_SIZE])
            )
            models.extend(chunk_models)
            errors.extend(chunk_errors)
        if errors:
            _raise_invalid(model, len(frame), errors, started, "no models were returned")
        return models

    def produce(
        self,
        model: type[M],
        *,
        on_invalid: OnInvalid = "raise",
        raise_on_error: bool = True,
        **options: Unpack[RunOptions],
    ) -> ProduceReport:
        """Produce every row as a ``model`` message and account for each one.

        No row is lost unnoticed: every valid row is acknowledged, or the call raises (unless
        ``raise_on_error=False``), as ``produce_many`` does.

        Args:
            model: A ``FlowBaseModel`` subclass with a topic.
            on_invalid: ``"raise"`` (default) checks every row first and raises
                ``DataFrameValidationError`` before sending anything if one is invalid;
                ``"report"`` sends the valid rows and lists the invalid ones in the report
                (they never make the call raise: reporting them is what was asked for).
            raise_on_error: ``True`` (default) raises ``PartialDeliveryError`` when a valid
                row was not acknowledged (or a dead-letter copy failed); ``False`` returns
                the report instead, whose ``ok``/``failed_index`` must then be checked.
            **options: ``flowodm.pandas.RunOptions``: ``key`` (the column holding message
                keys), ``columns``, ``extra``, ``dead_letter``, ``chunk_size``, ``progress``,
                ``callback``, ``timeout``, ``stall_timeout``, ``connection``, ``topic``,
                ``dry_run``, ``columnar``.

        Returns:
            ``ProduceReport``: delivered and invalid rows (with reasons), and with
            ``raise_on_error=False`` the failed rows by index; a failed row whose delivery
            timed out is "failed, may have been written".

        Raises:
            TypeError: ``model`` is not a FlowBaseModel subclass.
            DataFrameValidationError: the columns do not fit the model, or (with
                ``on_invalid="raise"``) some rows are invalid; nothing was sent.
            PartialDeliveryError: some valid rows were not acknowledged (and
                ``raise_on_error`` is true); ``.result`` is the ``ProduceReport``: resend
                ``df.loc[err.result.failed_index]``.
            BulkDeliveryTimeoutError: no message acknowledged for ``stall_timeout`` seconds (a
                ``PartialDeliveryError``; ``.result`` is the partial ``ProduceReport``).
            ProduceInterrupted: Ctrl-C (a ``KeyboardInterrupt``); ``.result`` is the report of
                what was done, and the exception's note says which rows to send again.
            ConfigurationError: ``progress`` is not understood (checked before connecting),
                or no connection is configured.
            SettingsError: the model has no topic.
            SchemaRegistryError: the schema could not be registered or looked up.

        Example::

            report = df.flowodm.produce(Order, on_invalid="report", dead_letter="orders-dlq")
            report.to_frame()
        """
        check_model(model, "df.flowodm.produce()")
        reject_unknown("df.flowodm.produce", options, RunOptions.__optional_keys__)
        if not isinstance(raise_on_error, bool):
            raise ArgumentTypeError(
                f"raise_on_error must be a bool, got {raise_on_error!r}",
                argument="raise_on_error",
            )
        frame = self._frame
        run: ProduceRun[M] = ProduceRun(model, on_invalid=on_invalid, total=len(frame), **options)
        try:
            run.send(frame)
        except (DataFrameValidationError, ValueError):
            run.abort()  # nothing of the frame was sent; release the producer now
            raise
        report = run.finish()
        if raise_on_error and has_undelivered(report):
            raise undelivered_error(report)
        return report

    # ---------------------------------------------------------------- helpers

    def _unique_frame(self) -> pd.DataFrame:
        check_unique_index(self._frame)
        return self._frame

    def _preparer(
        self,
        model: type[M],
        columns: Mapping[Hashable, str] | None,
        extra: Extra,
        key: Hashable | None,
    ) -> ChunkPreparer[M]:
        plan = plan_columns(
            model,
            self._frame.columns,
            columns=columns,
            extra=extra,
            key=key,
            total=len(self._frame),
        )
        return ChunkPreparer(model, plan, local_encoding(model))


def _chunk(chunk_size: int) -> int:
    return positive_count("chunk_size", chunk_size)


def _split(
    rows: Iterator[tuple[Hashable, M | None, list[RowError]]],
) -> tuple[list[M], list[RowError]]:
    """The valid models and the errors of the invalid rows, from ``ChunkPreparer.models``."""
    models: list[M] = []
    errors: list[RowError] = []
    for _, instance, row_errors in rows:
        if instance is None:
            errors.extend(row_errors)
        else:
            models.append(instance)
    return models, errors


def _raise_invalid(
    model: type[BaseModel], total: int, errors: list[RowError], started: float, outcome: str
) -> None:
    report = ValidationReport(
        model=display_name(model),
        total=total,
        errors=tuple(errors),
        elapsed=time.perf_counter() - started,
    )
    raise DataFrameValidationError(invalid_message(report, outcome), report=report)
