"""What every widget shares: the optional ipywidgets import, the display rule, tables.

**The display rule.** A FlowODM widget is a plain Python object holding its state; the
ipywidgets tree is built on first use (``.widget``, or the first display in a Jupyter kernel).
So every widget can be constructed and used without ipywidgets or a kernel, and displaying
one always gives a readable ``text/plain`` table (``repr``/``print``) and an escaped
``text/html`` table; in a kernel with ipywidgets installed the live widget view is added on
top. Only asking for the widget tree itself (``.widget``) without ipywidgets raises
``MissingExtraError`` naming ``pip install 'flowodm[notebook]'``, as every explicit request for
an optional extra does (``flowodm._optional``).
"""

from __future__ import annotations

import html
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from flowodm._optional import require

__all__ = [
    "VIEW_MIME",
    "WIDGET_CLASS",
    "WIDGET_CSS",
    "WidgetView",
    "html_table",
    "in_kernel",
    "require_widgets",
    "secrets_of",
    "short_text",
    "sparkline_svg",
    "text_table",
    "widgets_or_none",
]

VIEW_MIME = "application/vnd.jupyter.widget-view+json"
# The CSS class of every FlowODM widget's root, and the style sheet that makes its tables
# readable in the widget views. ipywidgets' HTML widget gives its content none of the notebook's
# table styling and the line height of a button (28px), so without it columns touch and every
# row is as tall as a button. A <style> inside an HTML widget applies to the whole page, so
# every rule is scoped to WIDGET_CLASS; each view appends it to one HTML label it always shows
# (the escaped HTML renderings, ``to_html()``, leave it out: there the front end styles tables).
WIDGET_CLASS = "flowodm-widget"
WIDGET_CSS = (
    "<style>"
    f".{WIDGET_CLASS} .widget-html-content{{line-height:1.45}}"
    f".{WIDGET_CLASS} .widget-hbox>.widget-html{{align-self:center}}"
    f".{WIDGET_CLASS} table{{border-collapse:collapse}}"
    f".{WIDGET_CLASS} th,.{WIDGET_CLASS} td"
    "{padding:3px 14px 3px 0;text-align:left;vertical-align:top}"
    f".{WIDGET_CLASS} thead th{{border-bottom:1px solid var(--jp-border-color1,#bdbdbd)}}"
    f".{WIDGET_CLASS} tbody tr:nth-child(even){{background:var(--jp-layout-color2,#f3f3f3)}}"
    f".{WIDGET_CLASS} caption{{text-align:left;padding:2px 0 6px;font-weight:600}}"
    # The browser's schema and diff tables span their tab, so a long caption (subject names)
    # wraps at the tab's edge, not at the width of a narrow table.
    f".{WIDGET_CLASS} .widget-tab table{{width:100%}}"
    f".{WIDGET_CLASS} pre{{white-space:pre-wrap;word-break:normal;overflow-wrap:break-word}}"
    # The viewer's status line, next to its buttons, already says what its table caption says.
    f".{WIDGET_CLASS} table.flowodm-topic-viewer caption{{display:none}}"
    # Its rows stay one line each, like a DataFrame's: a wide table scrolls sideways instead.
    f".{WIDGET_CLASS} table.flowodm-topic-viewer td{{white-space:nowrap}}"
    "</style>"
)
_CELL_LIMIT = 80  # characters of one text-table cell; the HTML cell keeps more
_HTML_CELL_LIMIT = 400


def widgets_or_none() -> ModuleType | None:
    """Return the ``ipywidgets`` module, or ``None`` when it is not installed (text only)."""
    try:
        return importlib.import_module("ipywidgets")
    except ImportError:
        return None


def require_widgets() -> ModuleType:
    """Return ``ipywidgets`` or raise ``MissingExtraError`` naming ``flowodm[notebook]``."""
    return require("ipywidgets", extra="notebook")


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (the signal tqdm and ``flowodm.progress`` use)."""
    return "ipykernel.zmqshell" in sys.modules


def secrets_of(connection: Any) -> list[str]:
    """The secret values of ``connection`` (default: the current one), to scrub from messages.

    An error a widget shows is FlowODM's own (already scrubbed); this is the second line of
    defence for foreign text inside it.
    """
    try:
        if connection is None:
            from flowodm.kafka.connection import codec_host

            connection = codec_host()
        config = getattr(connection, "config", None)
        return list(config.secret_values()) if config is not None else []
    except Exception:  # no usable configuration: then there is nothing to scrub either
        return []


def short_text(value: object, limit: int = _CELL_LIMIT) -> str:
    """``value`` as one line of at most ``limit`` characters (bytes decoded when UTF-8)."""
    if value is None:
        text = ""
    elif isinstance(value, bytes | bytearray):
        try:
            text = bytes(value[: limit * 4]).decode()
        except UnicodeDecodeError:
            text = repr(bytes(value[:limit]))
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A fixed-width text table: a header line, a rule, one line per row."""
    cells = [[short_text(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    css_class: str = "flowodm-table",
    caption: str | None = None,
    raw_columns: Sequence[int] = (),
) -> str:
    """An HTML table with every cell escaped (``raw_columns``: cells that are already HTML)."""

    def cell(index: int, value: object) -> str:
        if index in raw_columns:
            return f"<td>{value}</td>"
        return f"<td>{html.escape(short_text(value, _HTML_CELL_LIMIT))}</td>"

    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(cell(i, value) for i, value in enumerate(row)) + "</tr>" for row in rows
    )
    shown = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return (
        f"<table class='{css_class}' style='border-collapse:collapse'>{shown}"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def sparkline_svg(values: Sequence[float], *, width: int = 240, height: int = 36) -> str:
    """A small SVG line chart of ``values`` (e.g. msg/s per refresh); no plotting library."""
    if len(values) < 2:
        return f"<svg width='{width}' height='{height}' class='flowodm-sparkline'></svg>"
    top = max(values) or 1.0
    step = width / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return (
        f"<svg width='{width}' height='{height}' class='flowodm-sparkline' "
        f"viewBox='0 0 {width} {height}'><polyline fill='none' stroke='#1f77b4' "
        f"stroke-width='1.5' points='{points}'/></svg>"
    )


class WidgetView:
    """Base of the FlowODM widgets: plain state, a text and HTML rendering, a lazy widget tree.

    Subclasses implement ``_build(ipywidgets)`` (the root widget, built once), ``_sync()``
    (push the state into the built widgets), ``to_text()`` and ``to_html()``.
    """

    _root: Any = None

    @property
    def widget(self) -> Any:
        """The ipywidgets tree (built on first use).

        Raises:
            MissingExtraError: ipywidgets is not installed (``pip install 'flowodm[notebook]'``).
        """
        if self._root is None:
            self._root = self._build(require_widgets())
            self._sync()
        return self._root

    @property
    def has_widget(self) -> bool:
        """Whether the widget tree was built (so state changes are pushed to it)."""
        return self._root is not None

    def _build(self, widgets: ModuleType) -> Any:
        raise NotImplementedError

    def _sync(self) -> None:
        """Push the current state into the widgets; a no-op until they are built."""

    def to_text(self) -> str:
        """The state as readable text (what ``repr`` and ``print`` show)."""
        raise NotImplementedError

    def to_html(self) -> str:
        """The state as escaped HTML (a notebook without the widget manager shows this)."""
        raise NotImplementedError

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": self.to_text(), "text/html": self.to_html()}
        if in_kernel() and widgets_or_none() is not None:
            view = self.widget._repr_mimebundle_()
            if isinstance(view, dict) and VIEW_MIME in view:
                bundle[VIEW_MIME] = view[VIEW_MIME]
        return bundle

    def __repr__(self) -> str:
        return self.to_text()

    def __str__(self) -> str:
        return self.to_text()
