"""How a ``TopicViewer`` looks: Refresh and Live buttons, a status line, the table."""

from __future__ import annotations

import html
from types import ModuleType
from typing import TYPE_CHECKING, Any

from flowodm.widgets._ui import WIDGET_CLASS, WIDGET_CSS

if TYPE_CHECKING:
    from flowodm.widgets.viewer import TopicViewer

__all__ = ["ViewerView"]


class ViewerView:
    """The widgets of one viewer; the buttons call the viewer, ``show`` redraws."""

    def __init__(self, widgets: ModuleType, viewer: TopicViewer) -> None:
        layout = widgets.Layout
        self._viewer = viewer
        self._quiet = False
        self.refresh = widgets.Button(description="Refresh", icon="refresh")
        self.live = widgets.ToggleButton(
            value=False, description="Live", icon="play", tooltip="refresh every few seconds"
        )
        self.status = widgets.HTML(layout=layout(width="auto"))
        self.error = widgets.HTML()
        self.table = widgets.HTML(layout=layout(width="100%", overflow="auto"))
        self.root = widgets.VBox(
            [
                widgets.HBox([self.refresh, self.live, self.status], layout=layout(width="100%")),
                self.error,
                self.table,
            ],
            layout=layout(width="100%", max_width="1100px"),
        )
        self.root.add_class("flowodm-topic-viewer")
        self.root.add_class(WIDGET_CLASS)
        self.refresh.on_click(lambda _button: self._viewer.refresh())
        self.live.observe(self._on_live, names="value")

    def _on_live(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if change["new"]:
            self._viewer.start_live()
        else:
            self._viewer.stop_live()

    def show(self, viewer: TopicViewer) -> None:
        """Write the viewer's state into the widgets (without triggering the toggle)."""
        self._quiet = True
        try:
            self.live.value = viewer.live
            self.live.icon = "pause" if viewer.live else "play"
            self.status.value = html.escape(viewer.status()) + WIDGET_CSS
            error = html.escape(viewer.error)
            self.error.value = (
                f"<div class='flowodm-error' style='color:#cf222e'>⚠ {error}</div>" if error else ""
            )
            table = viewer.table_html()
            if self.table.value != table:
                self.table.value = table
        finally:
            self._quiet = False
