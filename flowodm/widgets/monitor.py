"""``DeliveryMonitor``: live delivered / failed / in-flight counts, rate and last errors.

How it attaches to each produce call (none of the bulk calls runs Python per acknowledged
message, which is why they are fast, so the monitor takes what each one offers):

* ``Model.produce_nowait(callback=monitor)``: the monitor is a delivery callback
  ``(err, msg)``; it counts each report, per partition, and keeps the failed ones (key, error,
  "failed" or "failed, may have been written" from ``flowodm.kafka.errors``).
* ``Model.produce_many(models, progress=monitor)`` and ``df.flowodm.produce(Model,
  progress=monitor)``: the monitor is a tqdm-compatible progress class (``progress=`` accepts
  one); it counts acknowledged messages as the sender reports them, and the failed (and, for
  frames, invalid) counts the run reports. Which messages failed is known once the call
  returns: ``monitor.record(result)`` adds those rows (a ``ProduceManyResult``, a
  ``PartialDeliveryError``, a ``ProduceReport``) without counting them twice.

**Throttled and thread-safe.** Delivery callbacks run on the connection's poller thread, and a
callback only updates counters under a lock. The view is refreshed at most every
``refresh_interval`` seconds (0.25 s): by the first callback after a quiet period, otherwise by
a one-shot timer armed by the first change after a refresh, so a burst of 100,000 reports gives
a handful of refreshes, and the last state is always shown. ``renders`` counts refreshes.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from flowodm.kafka.errors import describe_error, may_have_been_written
from flowodm.widgets._monitor_view import MonitorView
from flowodm.widgets._ui import WidgetView, short_text

if TYPE_CHECKING:
    from types import ModuleType

    from confluent_kafka import KafkaError, Message

__all__ = ["DeliveryError", "DeliveryMonitor", "MonitorBar", "MonitorSnapshot"]

R = TypeVar("R")

FAILED = "failed"
MAYBE_WRITTEN = "failed, may have been written"


@dataclass(frozen=True, slots=True)
class DeliveryError:
    """One failed delivery as the monitor lists it.

    Attributes:
        key: The message key (decoded text, cut), or a row reference (``row 17``, ``#3``).
        error: librdkafka's error, ``NAME: reason``.
        status: ``"failed"`` (never written) or ``"failed, may have been written"``.
        topic: The topic, when known.
        partition: The partition, when the report had one.
    """

    key: str
    error: str
    status: str
    topic: str | None = None
    partition: int | None = None


@dataclass(frozen=True, slots=True)
class MonitorSnapshot:
    """The monitor's counts at one moment (what the view shows).

    Attributes:
        delivered: Messages acknowledged.
        failed: Messages whose delivery failed.
        invalid: Rows a DataFrame run found invalid (never sent).
        in_flight: Expected messages not yet reported; ``None`` when nothing said how many to
            expect (``expect()``, ``total=``, or a progress run's total).
        rate: Reports per second over the last refresh interval.
        average_rate: Reports per second from the first report to the last.
        partitions: Acknowledged messages per partition (delivery callbacks only: bulk sends
            do not report acknowledgements per message).
        errors: The last failures, oldest first.
        rates: The recent ``rate`` values, oldest first (the chart).
    """

    delivered: int
    failed: int
    invalid: int
    in_flight: int | None
    rate: float
    average_rate: float
    partitions: dict[int, int]
    errors: tuple[DeliveryError, ...]
    rates: tuple[float, ...]


@dataclass
class _Run:
    """One progress run (a ``produce_many`` or ``df.flowodm.produce`` call)."""

    total: int | None
    delivered: int = 0
    failed: int = 0
    invalid: int = 0
    closed: bool = False
    recorded: bool = False


class MonitorBar:
    """The progress-bar face of a monitor, made by ``progress=monitor`` (tqdm's interface)."""

    def __init__(self, monitor: DeliveryMonitor, total: int | None, desc: str) -> None:
        self.n: float = 0
        self.desc = desc
        self._monitor = monitor
        self._run = monitor._open_run(total)

    @property
    def total(self) -> int | None:
        """Messages this run expects; lowered by the DataFrame kit for each invalid row."""
        return self._run.total

    @total.setter
    def total(self, value: int | None) -> None:
        self._monitor._retotal(self._run, value)

    def update(self, n: float | None = 1) -> bool | None:
        """Count ``n`` more acknowledged messages."""
        count = int(n or 0)
        self.n += count
        self._monitor._acked(self._run, count)
        return None

    def set_postfix(
        self, ordered_dict: Any = None, refresh: bool | None = True, **kwargs: Any
    ) -> None:
        """Take the run's running ``invalid`` and ``failed`` counts."""
        values = {**(dict(ordered_dict) if ordered_dict else {}), **kwargs}
        self._monitor._run_counts(self._run, values.get("invalid"), values.get("failed"))

    def close(self) -> None:
        """End the run: nothing of it is in flight any more; the view is refreshed now."""
        self._monitor._close_run(self._run)


class DeliveryMonitor(WidgetView):
    """Live delivery counts for ``produce_nowait``, ``produce_many`` and ``df.flowodm.produce``.

    Args:
        total: Messages to expect, for the in-flight count (more with ``expect()``; each
            ``progress=monitor`` run adds its own total).
        title: The heading shown.
        refresh_interval: Least seconds between two view refreshes.
        errors_kept: How many of the last failures are listed.
        history: How many rate samples the chart shows.

    Example:
        >>> monitor = DeliveryMonitor()
        >>> monitor                                   # doctest: +SKIP
        >>> for order in orders:                      # doctest: +SKIP
        ...     order.produce_nowait(callback=monitor)
        >>> df.flowodm.produce(Order, progress=monitor)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        total: int | None = None,
        title: str = "Deliveries",
        refresh_interval: float = 0.25,
        errors_kept: int = 20,
        history: int = 60,
    ) -> None:
        self.title = title
        self.refresh_interval = float(refresh_interval)
        self.renders = 0
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._delivered = self._failed = self._invalid = 0
        self._expected: int | None = total
        self._partitions: dict[int, int] = {}
        self._errors: deque[DeliveryError] = deque(maxlen=errors_kept)
        self._runs: list[_Run] = []
        self._first: float | None = None
        self._last: float | None = None
        self._rates: deque[float] = deque(maxlen=history)
        self._sample: tuple[float, int] = (time.monotonic(), 0)
        self._rate = 0.0
        self._rendered_at = 0.0
        self._timer: threading.Timer | None = None
        self._view: MonitorView | None = None

    # ------------------------------------------------------------------ the two faces

    @overload
    def __call__(self, err: KafkaError | None, msg: Message, /) -> None: ...

    @overload
    def __call__(
        self,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "msg",
        leave: bool = True,
        **kwargs: Any,
    ) -> MonitorBar: ...

    def __call__(self, *args: Any, **kwargs: Any) -> MonitorBar | None:
        """``monitor(err, msg)``: a delivery report; ``monitor(total=…, desc=…)``: a new bar."""
        if len(args) == 2 and not kwargs:
            self.on_delivery(args[0], args[1])
            return None
        if args:
            raise TypeError(
                "DeliveryMonitor is called as a delivery callback (err, msg) or, through "
                "progress=, as a progress class with keyword arguments"
            )
        return MonitorBar(self, kwargs.get("total"), str(kwargs.get("desc", "")))

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        """Count one delivery report (the hot path: counters only, a refresh when due)."""
        now = time.monotonic()
        with self._lock:
            if self._first is None:
                self._first = now
            self._last = now
            if err is None:
                partition = msg.partition()
                self._delivered += 1
                if partition is not None:  # always set on an acknowledged message
                    self._partitions[partition] = self._partitions.get(partition, 0) + 1
            else:
                self._failed += 1
                self._errors.append(_from_report(err, msg))
        self._changed(now)

    # ------------------------------------------------------------------ public state

    def expect(self, n: int) -> None:
        """Say that ``n`` more messages are on their way (for the in-flight count)."""
        with self._lock:
            self._expected = (self._expected or 0) + int(n)
        self._changed(time.monotonic())

    @property
    def delivered(self) -> int:
        """Messages acknowledged so far."""
        return self._delivered

    @property
    def failed(self) -> int:
        """Messages whose delivery failed so far."""
        return self._failed

    @property
    def errors(self) -> tuple[DeliveryError, ...]:
        """The last failures (at most ``errors_kept``), oldest first."""
        with self._lock:
            return tuple(self._errors)

    def snapshot(self) -> MonitorSnapshot:
        """The current counts, consistent with each other."""
        with self._lock:
            done = self._delivered + self._failed
            in_flight = None if self._expected is None else max(0, self._expected - done)
            span = (self._last or 0.0) - (self._first or 0.0)
            return MonitorSnapshot(
                delivered=self._delivered,
                failed=self._failed,
                invalid=self._invalid,
                in_flight=in_flight,
                rate=self._rate,
                average_rate=done / span if span > 0 else 0.0,
                partitions=dict(sorted(self._partitions.items())),
                errors=tuple(self._errors),
                rates=tuple(self._rates),
            )

    def record(self, result: R) -> R:
        """Add the failures of a finished call to the error table; return ``result``.

        Takes a ``ProduceManyResult``, a ``PartialDeliveryError`` or
        ``BulkDeliveryTimeoutError`` (their ``.result``), a ``ProduceReport`` or a
        ``DeliveryResult``. A result of a run this monitor watched (``progress=monitor``)
        adds its rows only; any other result adds its counts too.
        """
        found: Any = getattr(result, "result", None) if isinstance(result, Exception) else result
        delivered, failed, rows, invalid = _rows_of(found)
        with self._lock:
            run = next(
                (r for r in reversed(self._runs) if r.closed and not r.recorded),
                None,
            )
            single = isinstance(getattr(found, "partition", None), int)  # a DeliveryResult
            if (
                run is not None
                and not single
                and run.failed == failed
                and run.total in (None, delivered + failed)
            ):
                # A watched run: its counts are in already; the result's are authoritative.
                run.recorded = True
                self._delivered += delivered - run.delivered
                run.delivered = delivered
            else:
                self._delivered += delivered
                self._failed += failed
                self._invalid += invalid
                if single:
                    partition = int(found.partition)
                    self._partitions[partition] = self._partitions.get(partition, 0) + 1
            self._errors.extend(rows)
        self.refresh()
        return result

    def refresh(self) -> None:
        """Refresh the view now (also takes a rate sample)."""
        self._tick(force=True)

    # ------------------------------------------------------------------ runs (MonitorBar)

    def _open_run(self, total: int | None) -> _Run:
        run = _Run(total)
        with self._lock:
            self._runs.append(run)
            if total is not None:
                self._expected = (self._expected or 0) + total
            if self._first is None:
                self._first = time.monotonic()
        return run

    def _retotal(self, run: _Run, total: int | None) -> None:
        with self._lock:
            if run.total is not None and total is not None and self._expected is not None:
                self._expected += total - run.total
            run.total = total

    def _acked(self, run: _Run, n: int) -> None:
        if n <= 0:
            return
        now = time.monotonic()
        with self._lock:
            run.delivered += n
            self._delivered += n
            self._last = now
        self._changed(now)

    def _run_counts(self, run: _Run, invalid: Any, failed: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if isinstance(invalid, int):
                self._invalid += invalid - run.invalid
                run.invalid = invalid
            if isinstance(failed, int):
                self._failed += failed - run.failed
                run.failed = failed
                self._last = now
        self._changed(now)

    def _close_run(self, run: _Run) -> None:
        with self._lock:
            if not run.closed and run.total is not None and self._expected is not None:
                # Whatever the run did not report is no longer in flight.
                self._expected -= max(0, run.total - run.delivered - run.failed)
            run.closed = True
            if self._first is not None and self._last is None:
                self._last = time.monotonic()
        self.refresh()

    # ------------------------------------------------------------------ throttled refresh

    def _changed(self, now: float) -> None:
        """A count changed: refresh now if the last refresh is old enough, else schedule one."""
        if self._timer is not None:
            return  # a refresh is already scheduled; it will show this change
        wait = self.refresh_interval - (now - self._rendered_at)
        if wait <= 0:
            self._tick()
        else:
            self._schedule(wait)

    def _schedule(self, wait: float) -> None:
        with self._lock:
            if self._timer is not None:
                return
            timer = self._timer = threading.Timer(wait, self._timer_fired)
        timer.daemon = True
        timer.start()

    def _timer_fired(self) -> None:
        with self._lock:
            self._timer = None
        self._tick()

    def _tick(self, *, force: bool = False) -> None:
        """Take a rate sample and push the state to the view (one thread at a time)."""
        if not self._render_lock.acquire(blocking=force):
            self._schedule(self.refresh_interval)  # another thread is drawing: draw again later
            return
        try:
            now = time.monotonic()
            with self._lock:
                done = self._delivered + self._failed
                then, before = self._sample
                if now - then >= self.refresh_interval / 2 or not force:
                    self._rate = (done - before) / (now - then) if now > then else 0.0
                    self._rates.append(self._rate)
                    self._sample = (now, done)
            self._rendered_at = now
            self.renders += 1
            if self._view is not None:
                try:
                    self._view.show(self.snapshot(), self.title)
                except Exception as exc:  # a display problem must never break deliveries
                    print(f"DeliveryMonitor: cannot refresh the view: {exc!r}", file=sys.stderr)
        finally:
            self._render_lock.release()

    # ------------------------------------------------------------------ display

    def _build(self, widgets: ModuleType) -> Any:
        self._view = MonitorView(widgets)
        return self._view.root

    def _sync(self) -> None:
        if self._view is not None:
            self._view.show(self.snapshot(), self.title)

    def to_text(self) -> str:
        """Counts, rate, per-partition counts and the last errors, as text."""
        return MonitorView.text(self.snapshot(), self.title)

    def to_html(self) -> str:
        """The same as escaped HTML."""
        return MonitorView.html(self.snapshot(), self.title)


def _key_text(key: object) -> str:
    return short_text(key, 60) if key is not None else "(no key)"


def _from_report(err: KafkaError, msg: Message) -> DeliveryError:
    written = may_have_been_written(err, msg)
    return DeliveryError(
        key=_key_text(msg.key()),
        error=describe_error(err),
        status=MAYBE_WRITTEN if written else FAILED,
        topic=msg.topic(),
        partition=msg.partition(),
    )


def _rows_of(found: Any) -> tuple[int, int, list[DeliveryError], int]:
    """``(delivered, failed, failure rows, invalid)`` of a result the monitor can read."""
    from flowodm.produce.results import DeliveryResult, ProduceManyResult

    if isinstance(found, ProduceManyResult):
        rows = []
        for failure in found.failed:
            settings = getattr(type(failure.model), "flow_settings", None)
            key_field = settings().key_field if settings is not None else None
            key = getattr(failure.model, key_field) if key_field else f"#{failure.index}"
            rows.append(
                DeliveryError(
                    key=_key_text(key),
                    error=describe_error(failure.kafka_error),
                    status=MAYBE_WRITTEN if failure.maybe_written else FAILED,
                    topic=found.topic,
                )
            )
        return found.delivered, len(rows), rows, 0
    if isinstance(found, DeliveryResult):
        return 1, 0, [], 0
    reports = sys.modules.get("flowodm.pandas.reports")
    if reports is not None and isinstance(found, reports.ProduceReport):
        rows = [
            DeliveryError(
                key=f"row {failure.index!r}",
                error=failure.error,
                status=failure.status,
                topic=found.topic,
            )
            for failure in found.failed
        ]
        return found.delivered, len(rows) + found.unconfirmed, rows, found.invalid
    raise TypeError(
        "DeliveryMonitor.record() takes a ProduceManyResult, PartialDeliveryError, "
        f"ProduceReport or DeliveryResult, not {type(found).__name__}"
    )
