"""How a ``DeliveryMonitor`` snapshot looks: text, HTML, and the ipywidgets that show it."""

from __future__ import annotations

import html
from types import ModuleType
from typing import TYPE_CHECKING, Any

from flowodm.widgets._ui import WIDGET_CLASS, WIDGET_CSS, html_table, sparkline_svg, text_table

if TYPE_CHECKING:
    from flowodm.widgets.monitor import MonitorSnapshot

__all__ = ["MonitorView"]

_ERROR_HEADERS = ("key", "status", "error", "partition")


def _counts(snap: MonitorSnapshot) -> list[tuple[str, str]]:
    in_flight = "n/a" if snap.in_flight is None else f"{snap.in_flight:,}"
    counts = [
        ("delivered", f"{snap.delivered:,}"),
        ("failed", f"{snap.failed:,}"),
        ("in flight", in_flight),
    ]
    if snap.invalid:
        counts.append(("invalid", f"{snap.invalid:,}"))
    counts += [
        ("rate", f"{snap.rate:,.0f} msg/s"),
        ("average", f"{snap.average_rate:,.0f} msg/s"),
    ]
    return counts


def _error_rows(snap: MonitorSnapshot) -> list[tuple[object, ...]]:
    return [
        (e.key, e.status, e.error, "" if e.partition is None else e.partition)
        for e in reversed(snap.errors)  # newest first
    ]


class MonitorView:
    """The widgets of one monitor: counts, rate chart, partitions, last errors."""

    def __init__(self, widgets: ModuleType) -> None:
        layout = widgets.Layout
        self.counts = widgets.HTML(layout=layout(width="100%"))
        self.chart = widgets.HTML(layout=layout(width="260px"))
        self.partitions = widgets.HTML(layout=layout(width="auto"))
        self.errors = widgets.HTML(layout=layout(width="100%"))
        row = widgets.HBox(
            [self.chart, self.partitions], layout=layout(width="100%", grid_gap="16px")
        )
        self.root = widgets.VBox(
            [self.counts, row, self.errors],
            layout=layout(width="100%", max_width="760px", padding="4px"),
        )
        self.root.add_class("flowodm-delivery-monitor")
        self.root.add_class(WIDGET_CLASS)

    def show(self, snap: MonitorSnapshot, title: str) -> None:
        """Push ``snap`` into the widgets (only the values that changed are sent)."""
        values = (
            (self.counts, self.counts_html(snap, title) + WIDGET_CSS),
            (self.chart, self.chart_html(snap)),
            (self.partitions, self.partitions_html(snap)),
            (self.errors, self.errors_html(snap)),
        )
        for widget, value in values:
            if widget.value != value:
                widget.value = value

    # ------------------------------------------------------------------ pieces

    @staticmethod
    def counts_html(snap: MonitorSnapshot, title: str) -> str:
        cells = "".join(
            f"<th style='text-align:left;padding-right:6px'>{html.escape(name)}</th>"
            f"<td style='padding-right:14px'>{html.escape(value)}</td>"
            for name, value in _counts(snap)
        )
        return f"<b>{html.escape(title)}</b><table><tr>{cells}</tr></table>"

    @staticmethod
    def chart_html(snap: MonitorSnapshot) -> str:
        peak = max(snap.rates, default=0.0)
        return (
            f"<div title='msg/s per refresh'>{sparkline_svg(snap.rates)}"
            f"<div style='font-size:smaller'>rate, peak {peak:,.0f} msg/s</div></div>"
        )

    @staticmethod
    def partitions_html(snap: MonitorSnapshot) -> str:
        if not snap.partitions:
            return "<i>per partition: shown for delivery callbacks (produce_nowait)</i>"
        rows = [(p, f"{n:,}") for p, n in snap.partitions.items()]
        return html_table(("partition", "delivered"), rows)

    @staticmethod
    def errors_html(snap: MonitorSnapshot) -> str:
        if not snap.errors:
            return "<i>no errors</i>"
        return html_table(
            _ERROR_HEADERS, _error_rows(snap), caption=f"last {len(snap.errors)} error(s)"
        )

    # ------------------------------------------------------------------ whole renderings

    @staticmethod
    def text(snap: MonitorSnapshot, title: str) -> str:
        """The snapshot as plain text (``repr`` and ``print`` of the monitor)."""
        lines = [f"{title}: " + ", ".join(f"{name} {value}" for name, value in _counts(snap))]
        if snap.partitions:
            lines += ["", text_table(("partition", "delivered"), list(snap.partitions.items()))]
        if snap.errors:
            lines += [
                "",
                f"last {len(snap.errors)} error(s):",
                text_table(_ERROR_HEADERS, _error_rows(snap)),
            ]
        return "\n".join(lines)

    @classmethod
    def html(cls, snap: MonitorSnapshot, title: str) -> str:
        """The snapshot as one escaped HTML block."""
        parts: list[Any] = [
            cls.counts_html(snap, title),
            cls.chart_html(snap),
            cls.partitions_html(snap),
            cls.errors_html(snap),
        ]
        return "<div class='flowodm-delivery-monitor'>" + "".join(parts) + "</div>"
