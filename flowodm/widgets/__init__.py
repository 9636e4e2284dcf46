"""Notebook widgets: browse schemas, watch deliveries, look at a topic's last messages.

    >>> from flowodm.widgets import DeliveryMonitor, SchemaBrowser, TopicViewer
    >>> SchemaBrowser()                                   # doctest: +SKIP
    >>> monitor = DeliveryMonitor()                       # doctest: +SKIP
    >>> df.flowodm.produce(Order, progress=monitor)       # doctest: +SKIP
    >>> TopicViewer(Order, n=20)                          # doctest: +SKIP

The widgets use ipywidgets 8 (``pip install 'flowodm[notebook]'``), imported only when a
widget tree is built: ``import flowodm.widgets`` loads none of it. Without ipywidgets, or
outside a Jupyter kernel, every widget still works and displays as a text (and HTML) table;
only ``.widget`` (the ipywidgets tree itself) then raises ``MissingExtraError`` naming the
extra. See docs/widgets.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowodm._lazy import attach

if TYPE_CHECKING:
    from flowodm.widgets.browser import SchemaBrowser
    from flowodm.widgets.monitor import DeliveryError, DeliveryMonitor, MonitorSnapshot
    from flowodm.widgets.schema_table import schema_html, schema_rows, schema_text
    from flowodm.widgets.viewer import TopicViewer

__all__ = [
    "DeliveryError",
    "DeliveryMonitor",
    "MonitorSnapshot",
    "SchemaBrowser",
    "TopicViewer",
    "schema_html",
    "schema_rows",
    "schema_text",
]

_EXPORTS = {
    "SchemaBrowser": "flowodm.widgets.browser",
    **dict.fromkeys(
        ("DeliveryError", "DeliveryMonitor", "MonitorSnapshot"), "flowodm.widgets.monitor"
    ),
    **dict.fromkeys(("schema_html", "schema_rows", "schema_text"), "flowodm.widgets.schema_table"),
    "TopicViewer": "flowodm.widgets.viewer",
}

if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error
    __getattr__, __dir__ = attach(__name__, _EXPORTS)
