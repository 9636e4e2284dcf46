"""``TopicViewer``: the last N messages of a model's topic, decoded, refreshed on demand or live.

A refresh takes each partition's offsets with a ``TopicReader`` (which checks the end offsets
Tansu under-reports, see ``flowodm.consume.reader``), then reads from ``end - n`` of every
partition with ``flowodm.read_messages(start={partition: offset})`` and keeps the ``n`` newest
by timestamp (then partition and offset). Both read without a consumer group and commit
nothing, so viewing a topic never moves anyone's offsets. Messages that fail to decode are
counted in the status line (the read's ``ReadReport``), not raised.
"""

from __future__ import annotations

import datetime as dt
import html
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowodm._secrets import scrub
from flowodm.consume.reader import TopicReader
from flowodm.consume.reading import read_messages
from flowodm.settings import display_name
from flowodm.widgets._ui import WidgetView, html_table, secrets_of, short_text, text_table

if TYPE_CHECKING:
    from types import ModuleType

    from flowodm.consume.message import ConsumedMessage
    from flowodm.consume.read_report import ReadReport
    from flowodm.kafka.connection import Connection
    from flowodm.model import FlowBaseModel

__all__ = ["TopicViewer", "ViewedMessage"]

_FIXED = ("partition", "offset", "timestamp", "key")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class ViewedMessage:
    """One row of the viewer: where the message is, its key, and its fields.

    Attributes:
        partition: Its partition.
        offset: Its offset.
        timestamp: Its timestamp (aware UTC), or ``None``.
        key: The decoded key, or ``None``.
        fields: ``model_dump()`` of the value; ``None`` for a tombstone.
    """

    partition: int
    offset: int
    timestamp: dt.datetime | None
    key: Any
    fields: dict[str, Any] | None


class TopicViewer(WidgetView):
    """The last ``n`` messages of ``model``'s topic as a table; Refresh, or Live every few s.

    Args:
        model: The ``FlowBaseModel`` class to decode with (its ``Settings.topic``).
        n: How many of the newest messages to show.
        connection: The connection (default: the current one).
        topic: Read this topic instead of the model's.
        interval: Seconds between two refreshes while live.
        refresh: Read at once (``False``: on the first ``refresh()``).

    Rows are newest first. State: ``rows``, ``report`` (the last read's ``ReadReport``),
    ``error`` (a failure's message; the widget shows it instead of a traceback),
    ``refreshes``, ``live``.
    """

    def __init__(
        self,
        model: type[FlowBaseModel],
        n: int = 20,
        connection: Connection | None = None,
        *,
        topic: str | None = None,
        interval: float = 2.0,
        refresh: bool = True,
    ) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            from flowodm.exceptions import InvalidArgumentError

            raise InvalidArgumentError(f"n must be a positive number, not {n!r}", argument="n")
        self.model = model
        self.n = n
        self.connection = connection
        self.topic = topic
        self.interval = float(interval)
        self.rows: list[ViewedMessage] = []
        self.report: ReadReport | None = None
        self.error = ""
        self.refreshes = 0
        self.refreshed_at: dt.datetime | None = None
        self._read_lock = threading.Lock()
        self._stop = threading.Event()
        self._live: threading.Thread | None = None
        self._view: Any = None
        if refresh:
            self.refresh()

    # ------------------------------------------------------------------ reading

    @property
    def topic_name(self) -> str:
        """The topic read: ``topic=``, else the model's."""
        if self.topic is not None:
            return self.topic
        return str(self.model.flow_settings().topic or "")

    def refresh(self) -> TopicViewer:
        """Read the newest ``n`` messages now (skipped if a read is already running)."""
        if not self._read_lock.acquire(blocking=False):
            return self
        try:
            self.error = ""
            try:
                self.rows, self.report = self._read()
                self.refreshes += 1
                self.refreshed_at = dt.datetime.now(dt.UTC)
            except Exception as exc:  # shown in the widget: the viewer must stay usable
                self.error = scrub(f"{type(exc).__name__}: {exc}", secrets_of(self.connection))
        finally:
            self._read_lock.release()
        self._sync()
        return self

    def _read(self) -> tuple[list[ViewedMessage], ReadReport]:
        from flowodm.kafka.connection import get_connection

        conn = self.connection if self.connection is not None else get_connection()
        with TopicReader(conn, self.topic_name) as probe:  # end offsets, checked; reads nothing
            ranges = probe.ranges()
        start = {r.partition: max(r.start, (r.end or r.start) - self.n) for r in ranges}
        result = read_messages(
            self.model, start=start, topic=self.topic, connection=conn, on_error="report"
        )
        newest = sorted(result.messages, key=_order)[-self.n :]
        return [_row(m) for m in reversed(newest)], result.report

    # ------------------------------------------------------------------ live

    @property
    def live(self) -> bool:
        """Whether the viewer refreshes itself every ``interval`` seconds."""
        return self._live is not None

    def start_live(self) -> None:
        """Refresh every ``interval`` seconds on a background thread until ``stop_live()``."""
        if self._live is not None:
            return
        self._stop.clear()
        self._live = threading.Thread(target=self._loop, name="flowodm-topic-viewer", daemon=True)
        self._live.start()
        self._sync()

    def stop_live(self) -> None:
        """Stop refreshing by itself (waits for a refresh in progress)."""
        thread, self._live = self._live, None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._sync()

    def _loop(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.refresh()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    # ------------------------------------------------------------------ display

    @property
    def columns(self) -> list[str]:
        """The table's columns: partition, offset, timestamp, key, then the model's fields."""
        return [*_FIXED, *self.model.model_fields]

    def table_rows(self) -> list[list[object]]:
        """The rows as cells, in ``columns`` order."""
        names = list(self.model.model_fields)
        cells: list[list[object]] = []
        for row in self.rows:
            stamp = row.timestamp.isoformat(timespec="milliseconds") if row.timestamp else ""
            values = row.fields
            fields: list[object] = (
                ["(tombstone)", *[""] * (len(names) - 1)]
                if values is None
                else [values.get(name, "") for name in names]
            )
            cells.append([row.partition, row.offset, stamp, row.key, *fields][: len(self.columns)])
        return cells

    def status(self) -> str:
        """One line: topic, rows shown, the read, when."""
        head = f"{display_name(self.model)} · topic {self.topic_name!r} · last {len(self.rows)}"
        head += f" of up to {self.n} message(s)"
        report = self.report
        if report is not None:
            head += f" · read {report.read:,} in {report.elapsed:.2f} s"
            if report.failed:
                head += f" · {report.failed} failed to decode"
        if self.refreshed_at is not None:
            head += f" · refreshed {self.refreshed_at:%H:%M:%S} UTC"
        return head + (" · live" if self.live else "")

    def _build(self, widgets: ModuleType) -> Any:
        from flowodm.widgets._viewer_view import ViewerView

        self._view = ViewerView(widgets, self)
        return self._view.root

    def _sync(self) -> None:
        if self._view is not None:
            self._view.show(self)

    def to_text(self) -> str:
        """The status line and the table, as text."""
        lines = [self.status()]
        if self.error:
            lines.append(f"error: {self.error}")
        lines.append(text_table(self.columns, self.table_rows()))
        return "\n".join(lines)

    def to_html(self) -> str:
        """The table as escaped HTML."""
        return self.table_html()

    def table_html(self) -> str:
        """The rows as an escaped HTML table, with the status as its caption."""
        if not self.rows:
            shown = html.escape(short_text(self.status(), 300))
            return f"<div class='flowodm-topic-viewer'><i>{shown}: no messages</i></div>"
        return html_table(
            self.columns, self.table_rows(), css_class="flowodm-topic-viewer", caption=self.status()
        )


def _order(message: ConsumedMessage[Any]) -> tuple[dt.datetime, int, int]:
    return (message.timestamp or _EPOCH, message.partition, message.offset)


def _row(message: ConsumedMessage[Any]) -> ViewedMessage:
    value = message.value
    return ViewedMessage(
        partition=message.partition,
        offset=message.offset,
        timestamp=message.timestamp,
        key=message.key,
        fields=None if value is None else dict(value),
    )
