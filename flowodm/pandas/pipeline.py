"""``ProduceRun``: the chunked DataFrame → Kafka pipeline behind ``df.flowodm.produce``.

A run is fed frames (a whole frame, or the chunks of a file) with ``send`` and closed with
``finish``, which returns a ``ProduceReport`` in which every row is delivered, invalid or
failed. Per chunk of ``chunk_size`` rows: vectorised coercion or the columnar encoder, pydantic
in 256-row batches, encoding, then ``BulkSender`` (no Python per acknowledged message).
Memory stays bounded by one chunk beyond the frame itself, except that with
``on_invalid="raise"`` the encoded chunks of one ``send`` are kept between the validation pass
and the sending pass while they fit in ``_KEEP_BUDGET`` bytes (otherwise they are re-encoded).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator
from typing import Any, Generic, NoReturn, TypeVar, Unpack

import pandas as pd
from pydantic import BaseModel

from flowodm._arguments import positive_count, positive_seconds, reject_unknown, require_choice
from flowodm._types import Headers
from flowodm.exceptions import (
    ArgumentTypeError,
    BulkDeliveryTimeoutError,
    DataFrameValidationError,
    InvalidArgumentError,
    ProducerError,
)
from flowodm.kafka.errors import describe_error
from flowodm.pandas.columns import Extra, plan_columns
from flowodm.pandas.deadletter import dead_letter_payload
from flowodm.pandas.encoding import codec_encoding, local_encoding
from flowodm.pandas.options import DEFAULT_CHUNK_SIZE, OnInvalid, RunOptions, RunProgress
from flowodm.pandas.outcome import interrupted_error
from flowodm.pandas.prepare import ChunkPreparer, Prepared
from flowodm.pandas.reports import DeliveryFailure, ProduceReport, RowError, ValidationReport
from flowodm.produce.bulk import BulkSender
from flowodm.produce.interrupt import interrupt_of
from flowodm.produce.results import BulkResult
from flowodm.progress import DeliveryProgress, open_bar, progress_factory
from flowodm.settings import display_name, settings_of

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "OnInvalid",
    "ProduceRun",
    "RunOptions",
    "RunProgress",
    "check_model",
    "check_unique_index",
    "invalid_message",
]

# A row of a chunk whose sending was cut short (Ctrl-C, or a stall while waiting for room).
_NOT_SENT = "not sent: the run stopped before this row was handed to the producer"
_KEEP_BUDGET = 64 * 1024 * 1024  # encoded bytes kept between the raise-mode passes
_ROW_OVERHEAD = 120  # bytes of Python objects per kept message besides its payload

M = TypeVar("M", bound=BaseModel)


def check_unique_index(frame: pd.DataFrame) -> None:
    """Raise ``InvalidArgumentError`` naming a duplicate label unless the index is unique."""
    if not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()].tolist()[0]
        raise InvalidArgumentError(
            f"the frame's index has duplicate labels (e.g. {dup!r}), but reports identify "
            "rows by index label; call df.reset_index(drop=True) (or make it unique) first"
        )


def check_model(model: Any, what: str) -> None:
    """Raise ``ArgumentTypeError`` naming the type found unless ``model`` is a FlowBaseModel."""
    from flowodm.model import FlowBaseModel

    if not (isinstance(model, type) and issubclass(model, FlowBaseModel)):
        found = model.__name__ if isinstance(model, type) else type(model).__name__
        kind = "class" if isinstance(model, type) else "instance of"
        raise ArgumentTypeError(
            f"{what} needs a FlowBaseModel subclass, got {kind} {found}; "
            "define `class MyModel(FlowBaseModel): ...` and pass the class itself"
        )


_RUN_OPTIONS = RunOptions.__optional_keys__


class ProduceRun(Generic[M]):
    """Send frames of rows as ``model`` messages and account for every row.

    The report names rows by index label, so labels must be unique across all the frames sent
    to one run. Which rows were acknowledged is known once ``finish`` returns; to record
    progress that survives a crash, finish one run per chunk (as ``flowodm produce`` does).

    Args:
        model: A ``FlowBaseModel`` subclass (with a topic, unless ``topic`` is given).
        on_invalid: ``"report"`` (default) sends the valid rows and reports the others;
            ``"raise"`` raises ``DataFrameValidationError`` for a frame with an invalid row
            before sending any row of that frame.
        total: Rows expected overall, for the progress bar.
        headers: Kafka headers sent with every row's message (not with dead letters).
        **options: ``RunOptions`` (key, columns, extra, dead_letter, chunk_size, progress,
            callback, timeout, stall_timeout, connection, topic, dry_run, columnar).

    Raises:
        ArgumentTypeError: ``model`` is not a FlowBaseModel subclass, or an option is unknown.
        InvalidArgumentError: an option has an invalid value.
        ConfigurationError: ``progress`` is not understood (or needs a missing extra).
        SettingsError: the model has no topic (and ``topic`` is not given).
        SchemaRegistryError: the model's schema could not be registered or looked up.
    """

    def __init__(
        self,
        model: type[M],
        *,
        on_invalid: OnInvalid = "report",
        total: int | None = None,
        headers: Headers | None = None,
        **options: Unpack[RunOptions],
    ) -> None:
        reject_unknown("ProduceRun", options, _RUN_OPTIONS)
        key = options.get("key")
        columns = options.get("columns")
        extra: Extra = options.get("extra", "forbid")
        dead_letter = options.get("dead_letter")
        chunk_size = options.get("chunk_size", DEFAULT_CHUNK_SIZE)
        progress = options.get("progress")
        callback = options.get("callback")
        timeout = options.get("timeout")
        stall_timeout = options.get("stall_timeout")
        connection = options.get("connection")
        topic = options.get("topic")
        dry_run = options.get("dry_run", False)
        columnar = options.get("columnar", True)
        check_model(model, "ProduceRun")
        _check_options(on_invalid, dead_letter, chunk_size, extra)
        timeout = None if timeout is None else positive_seconds("timeout", timeout)
        stall_timeout = (
            None if stall_timeout is None else positive_seconds("stall_timeout", stall_timeout)
        )
        bar_factory = progress_factory(progress)  # a bad option fails before any connection
        self.model = model
        self._name = display_name(model)
        self._key = key
        self._columns = dict(columns or {})
        self._extra: Extra = extra
        self._on_invalid = on_invalid
        self._chunk_size = chunk_size
        self._callback = callback
        self._allow_columnar = columnar
        self._dry_run = dry_run
        self._headers = headers
        self._started = time.perf_counter()
        self._preparers: dict[tuple[Hashable, ...], ChunkPreparer[M]] = {}
        self._rows = 0  # rows handed over, in order
        self._sent = 0  # messages given to the sender
        self._dead_sent = 0
        self._invalid = 0
        self._errors: list[RowError] = []
        self._columnar_rows = 0
        # The labels of the chunk an interrupt cut short, and ``handed`` before it was sent.
        self._cut: tuple[list[Hashable], int] | None = None
        self.report: ProduceReport | None = None
        self._sender: BulkSender[Hashable] | None = None
        self._dead: BulkSender[Hashable] | None = None
        self._dead_topic = dead_letter
        conn: Any = None
        if dry_run:
            self._encoding = local_encoding(model)
            self.topic = topic or settings_of(model).topic or "(dry run)"
            desc = f"{self._name} (dry run)"
        else:
            from flowodm.serde.model_codec import get_model_codec

            conn = _connection(connection)
            # With a topic override the codec registers under that topic's subject.
            codec = get_model_codec(model, conn, topic=topic)
            self.topic = codec.topic
            self._encoding = codec_encoding(codec)  # resolves the schema id: fails early
            desc = f"{self._name} → {self.topic}"
        self._bar = DeliveryProgress(open_bar(bar_factory, total=total, desc=desc))
        if conn is not None:
            wait = conn.config.produce_timeout if timeout is None else timeout
            stall = wait if stall_timeout is None else stall_timeout
            try:
                self._sender = BulkSender(
                    conn, self.topic, timeout=wait, stall_timeout=stall, on_acked=self._bar.acked
                )
                if dead_letter is not None:
                    self._dead = BulkSender(conn, dead_letter, timeout=wait, stall_timeout=stall)
            except BaseException:
                self.abort()
                raise

    # ---------------------------------------------------------------- feeding rows

    def send(self, frame: pd.DataFrame) -> None:
        """Validate, encode and send every row of ``frame``; its index identifies rows.

        Raises:
            DataFrameValidationError: the frame's columns do not fit the model (nothing of
                this frame was sent), or ``on_invalid="raise"`` and a row is invalid.
            ValueError: the frame's index has duplicate labels.
            BulkDeliveryTimeoutError: deliveries stalled for ``stall_timeout`` seconds.
            ProducerError: the run is already finished.
        """
        if self.report is not None:
            raise ProducerError("this ProduceRun is finished; start a new one", topic=self.topic)
        check_unique_index(frame)
        preparer = self._preparer(frame)
        try:
            if self._on_invalid == "raise":
                kept = self._check_all(preparer, frame)
                chunks = kept if kept is not None else self._prepared(preparer, frame)
            else:
                chunks = self._prepared(preparer, frame)
            for chunk, prepared in chunks:
                self._send_chunk(preparer, chunk, prepared)
        except BulkDeliveryTimeoutError as exc:
            raise self._stalled(exc) from None
        except _DeadLetterStall as stall:
            raise self._stalled(stall.error, dead_letter=True) from None
        except (DataFrameValidationError, ValueError):
            raise
        except BaseException as exc:
            self._stop(exc)  # e.g. Ctrl-C: purge rather than leave messages behind

    def finish(self) -> ProduceReport:
        """Wait for every outstanding delivery and return the report (same one if called again).

        Raises:
            BulkDeliveryTimeoutError: deliveries stalled for ``stall_timeout`` seconds; the
                run's ``report`` attribute holds the partial report.
        """
        if self.report is not None:
            return self.report
        try:
            main = self._sender.close() if self._sender is not None else None
        except BulkDeliveryTimeoutError as exc:
            raise self._stalled(exc) from None
        except BaseException as exc:
            self._stop(exc)
        try:
            dead = self._dead.close() if self._dead is not None else None
        except BulkDeliveryTimeoutError as exc:
            dead = exc.result
        except BaseException as exc:
            self._stop(exc)
        return self._close(main, dead)

    def abort(self) -> ProduceReport:
        """Stop now: purge what is outstanding (reported failed, may have been written)."""
        if self.report is not None:
            return self.report
        main = self._sender.abort() if self._sender is not None else None
        dead = self._dead.abort() if self._dead is not None else None
        return self._close(main, dead)

    def _stop(self, exc: BaseException) -> NoReturn:
        """Abort after ``exc``; a Ctrl-C (also one a C call made a ``SystemError``) is raised
        as ``ProduceInterrupted`` with the report and a note saying where to resume."""
        report = self.abort()
        if interrupt_of(exc) is None:
            raise exc
        raise interrupted_error(report, self._rows) from None

    # ---------------------------------------------------------------- internals

    def _preparer(self, frame: pd.DataFrame) -> ChunkPreparer[M]:
        signature = tuple(frame.columns)
        preparer = self._preparers.get(signature)
        if preparer is None:
            plan = plan_columns(
                self.model,
                signature,
                columns=self._columns,
                extra=self._extra,
                key=self._key,
                total=len(frame),
            )
            preparer = ChunkPreparer(
                self.model, plan, self._encoding, columnar=self._allow_columnar
            )
            self._preparers[signature] = preparer
        return preparer

    def _prepared(
        self, preparer: ChunkPreparer[M], frame: pd.DataFrame
    ) -> Iterator[tuple[pd.DataFrame, Prepared]]:
        for start in range(0, len(frame), self._chunk_size):
            chunk = frame.iloc[start : start + self._chunk_size]
            yield chunk, preparer.prepare(chunk)

    def _check_all(
        self, preparer: ChunkPreparer[M], frame: pd.DataFrame
    ) -> list[tuple[pd.DataFrame, Prepared]] | None:
        """Validate the whole frame first; raise if a row is invalid, else return kept chunks."""
        kept: list[tuple[pd.DataFrame, Prepared]] | None = []
        size = 0
        errors: list[RowError] = []
        for chunk, prepared in self._prepared(preparer, frame):
            errors.extend(prepared.errors)
            if kept is not None:
                size += sum(map(len, prepared.values)) + _ROW_OVERHEAD * len(prepared.values)
                if size <= _KEEP_BUDGET:
                    kept.append((chunk, prepared))
                else:
                    kept = None  # too big to keep: the sending pass re-encodes instead
        if errors:
            report = ValidationReport(
                model=self._name,
                total=len(frame),
                errors=tuple(errors),
                elapsed=time.perf_counter() - self._started,
            )
            raise DataFrameValidationError(invalid_message(report), report=report)
        return kept

    def _send_chunk(
        self, preparer: ChunkPreparer[M], chunk: pd.DataFrame, prepared: Prepared
    ) -> None:
        # Counted before sending: if a stall interrupts the send, rows of this chunk that got
        # no report are then "unconfirmed" in the report instead of missing from it.
        self._errors.extend(prepared.errors)
        self._invalid += len(prepared.invalid)
        self._columnar_rows += prepared.columnar
        self._rows += len(chunk)
        sender = self._sender
        if sender is not None:
            self._sent += len(prepared.values)
            handed = sender.handed
            try:
                # The sender keeps these lists until the messages are accounted for; they
                # are never modified afterwards.
                sender.send_many(prepared.values, prepared.keys, prepared.labels, self._headers)
            except BaseException:
                # Cut short (Ctrl-C, a stall): the rows the sender never took are reported
                # by label when the run closes (a half-sent row counts as taken if it reports).
                self._cut = (prepared.labels, handed)
                raise
            if self._dead is not None and prepared.invalid:
                self._dead_letter(preparer, chunk, prepared)
            sender.poll(0)
        else:
            self._bar.acked(len(prepared.values))  # a dry run counts the rows it would send
        failed = len(sender.failed) if sender is not None else 0
        self._bar.counts(invalid=self._invalid, failed=failed)
        if self._callback is not None:
            delivered = sender.delivered if sender is not None else self._rows - self._invalid
            self._callback(
                RunProgress(
                    rows=self._rows,
                    delivered=delivered,
                    invalid=self._invalid,
                    failed=failed,
                    elapsed=time.perf_counter() - self._started,
                )
            )

    def _dead_letter(
        self, preparer: ChunkPreparer[M], chunk: pd.DataFrame, prepared: Prepared
    ) -> None:
        """Send each invalid row of ``chunk`` as JSON to the dead-letter topic, with its key.

        The key is the one the row would have had on the main topic (when it can be told), so
        dead letters land on the same partitions and can be looked up by key.
        """
        assert self._dead is not None
        by_label: dict[Hashable, list[RowError]] = {}
        for e in prepared.errors:
            by_label.setdefault(e.index, []).append(e)
        labels, columns = chunk.index, list(chunk.columns)
        keys = preparer.invalid_row_keys(chunk, prepared.invalid)
        for pos, key in zip(prepared.invalid, keys, strict=True):
            label = labels[pos]
            values: dict[Hashable, Any] = {col: chunk.iat[pos, j] for j, col in enumerate(columns)}
            payload = dead_letter_payload(
                label, values, by_label.get(label, ()), model=self._name, topic=self.topic
            )
            self._dead_sent += 1
            try:
                self._dead.send(payload, key, label)
            except BulkDeliveryTimeoutError as exc:
                raise _DeadLetterStall(exc) from None

    def _stalled(
        self, exc: BulkDeliveryTimeoutError, *, dead_letter: bool = False
    ) -> BulkDeliveryTimeoutError:
        """Close the run after a stall and return the error to raise, with the report's summary.

        ``exc`` comes from the main sender, or from the dead-letter sender if ``dead_letter``.
        """
        if dead_letter:
            main = self._sender.abort() if self._sender is not None else None
            report = self._close(main, exc.result)
        else:
            dead = self._dead.abort() if self._dead is not None else None
            report = self._close(exc.result, dead)
        return BulkDeliveryTimeoutError(
            f"{exc.reason} Outcome: {report.summary()}",
            result=report,
            topic=self.topic,
            client_error=exc.client_error,
            reason=exc.reason,
        )

    def _close(
        self, main: BulkResult[Hashable] | None, dead: BulkResult[Hashable] | None
    ) -> ProduceReport:
        failed = _failures(main)
        reported = len(failed)
        if self._cut is not None and self._sender is not None:
            labels, before = self._cut
            unsent = labels[self._sender.handed - before :]
            self._sent -= len(unsent)
            # The first one's produce() may have completed when the interrupt arrived.
            failed += tuple(
                DeliveryFailure(label, _NOT_SENT, maybe_written=n == 0)
                for n, label in enumerate(unsent)
            )
        # A dry run has no sender: every valid row would have been delivered.
        delivered = self._rows - self._invalid if main is None else main.delivered
        unconfirmed = max(0, self._sent - delivered - reported) if main is not None else 0
        dead_failed = _failures(dead)
        dead_delivered = dead.delivered if dead is not None else 0
        # Failures mostly arrive while finishing: show the final counts before closing.
        self._bar.counts(invalid=self._invalid, failed=len(failed) + unconfirmed)
        self._bar.close()
        self.report = ProduceReport(
            model=self._name,
            topic=self.topic,
            total=self._rows,
            delivered=delivered,
            errors=tuple(self._errors),
            failed=failed,
            unconfirmed=unconfirmed,
            dead_letter_topic=self._dead_topic,
            dead_lettered=dead_delivered,
            dead_letter_failed=dead_failed,
            dead_letter_unconfirmed=max(0, self._dead_sent - dead_delivered - len(dead_failed)),
            elapsed=time.perf_counter() - self._started,
            columnar=self._columnar_rows,
            dry_run=self._dry_run,
        )
        return self.report


class _DeadLetterStall(Exception):
    """Internal: the dead-letter sender stalled (told apart from a stall of the main topic)."""

    def __init__(self, error: BulkDeliveryTimeoutError) -> None:
        super().__init__(str(error))
        self.error = error


def _failures(result: BulkResult[Hashable] | None) -> tuple[DeliveryFailure, ...]:
    if result is None:
        return ()
    return tuple(
        DeliveryFailure(f.ref, describe_error(f.kafka_error), f.maybe_written)
        for f in result.failed
    )


def invalid_message(report: ValidationReport, outcome: str = "nothing was sent") -> str:
    """The error message for a frame with invalid rows: counts, the first problems, fixes."""
    shown = "; ".join(
        f"row {e.index!r} {e.field or ''}: {e.message}".replace("  ", " ")
        for e in report.errors[:5]
    )
    more = f"; and {len(report.errors) - 5} more" if len(report.errors) > 5 else ""
    return (
        f"{report.invalid} of {report.total} row(s) do not validate as {report.model}, so "
        f"{outcome}: {shown}{more}. See the error's .report.to_frame() and fix the rows"
        + (
            ", or pass on_invalid='report' to send the valid rows and get the invalid ones back"
            if outcome == "nothing was sent"
            else ""
        )
    )


def _check_options(on_invalid: str, dead_letter: str | None, chunk_size: int, extra: str) -> None:
    require_choice("on_invalid", on_invalid, ("raise", "report"))
    if dead_letter is not None:
        if not isinstance(dead_letter, str) or not dead_letter:
            raise InvalidArgumentError(
                f"dead_letter must be a topic name, not {dead_letter!r}", argument="dead_letter"
            )
        if on_invalid == "raise":
            raise InvalidArgumentError(
                "dead_letter needs on_invalid='report' (with 'raise' no invalid row is ever "
                "sent anywhere)",
                argument="dead_letter",
            )
    positive_count("chunk_size", chunk_size)
    require_choice("extra", extra, ("forbid", "ignore"))


def _connection(connection: Any) -> Any:
    if connection is not None:
        return connection
    from flowodm.kafka.connection import get_connection

    return get_connection()
