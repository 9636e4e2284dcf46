"""How a ``SchemaBrowser`` looks: its ipywidgets, and the same state as escaped HTML."""

from __future__ import annotations

import html
import json
from types import ModuleType
from typing import TYPE_CHECKING, Any

from flowodm.settings import display_name
from flowodm.widgets._ui import WIDGET_CLASS, WIDGET_CSS
from flowodm.widgets.schema_table import schema_html

if TYPE_CHECKING:
    from flowodm.widgets.browser import SchemaBrowser

__all__ = ["BrowserView"]

_OK = "color:#1a7f37"
_BAD = "color:#cf222e"


class BrowserView:
    """The widgets of one browser; user events call the browser's methods, ``show`` redraws."""

    def __init__(self, widgets: ModuleType, browser: SchemaBrowser) -> None:
        layout = widgets.Layout
        label = {"description_width": "initial"}  # the label's own width, not 80px
        self._browser = browser
        self._quiet = False  # set while ``show`` writes values, so observers ignore them
        self.header = widgets.HTML()
        # width auto: stretched to the column (100% plus the widgets' margins overflows it).
        self.filter = widgets.Text(placeholder="filter subjects", layout=layout(width="auto"))
        self.subjects = widgets.Select(options=[], rows=12, layout=layout(width="auto"))
        self.refresh = widgets.Button(description="Refresh", icon="refresh", tooltip="reload")
        self.version = widgets.Dropdown(
            description="version", options=[], style=label, layout=layout(width="130px")
        )
        self.raw = widgets.ToggleButton(value=False, description="raw JSON", icon="code")
        self.info = widgets.HTML()
        self.schema = widgets.HTML(layout=layout(width="100%"))
        self.diff_old = widgets.Dropdown(
            description="from", options=[], style=label, layout=layout(width="120px")
        )
        self.diff_new = widgets.Dropdown(
            description="to", options=[], style=label, layout=layout(width="110px")
        )
        self.diff = widgets.HTML(layout=layout(width="100%"))
        self.model = widgets.Dropdown(
            description="model", options=[], style=label, layout=layout(width="300px")
        )
        self.check = widgets.Button(description="Check", icon="check", button_style="primary")
        self.check_result = widgets.HTML(layout=layout(width="100%"))
        self.error = widgets.HTML()
        self.tabs = widgets.Tab(
            children=[
                widgets.VBox([self.schema]),
                widgets.VBox([widgets.HBox([self.diff_old, self.diff_new]), self.diff]),
                widgets.VBox([widgets.HBox([self.model, self.check]), self.check_result]),
            ],
            titles=("Schema", "Diff", "Check a model"),
            layout=layout(width="100%"),
        )
        left = widgets.VBox(
            [self.filter, self.subjects, self.refresh],
            layout=layout(flex="0 0 280px", width="280px"),  # never squeezed by the tabs
        )
        right = widgets.VBox(
            [widgets.HBox([self.version, self.raw, self.info]), self.tabs],
            # min_width 0: a long verdict or schema wraps instead of pushing the list aside.
            layout=layout(flex="1 1 auto", width="auto", min_width="0", padding="0 0 0 12px"),
        )
        self.root = widgets.VBox(
            [self.header, widgets.HBox([left, right], layout=layout(width="100%")), self.error],
            layout=layout(width="100%", max_width="1100px"),
        )
        self.root.add_class("flowodm-schema-browser")
        self.root.add_class(WIDGET_CLASS)
        self.filter.observe(self._on_filter, names="value")
        self.subjects.observe(self._on_subject, names="value")
        self.version.observe(self._on_version, names="value")
        self.raw.observe(self._on_raw, names="value")
        self.diff_old.observe(self._on_diff, names="value")
        self.diff_new.observe(self._on_diff, names="value")
        self.refresh.on_click(lambda _button: self._browser.refresh())
        self.check.on_click(lambda _button: self._browser.check(self.model.value))

    # ------------------------------------------------------------------ events

    def _on_filter(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self._browser.filter(change["new"])

    def _on_subject(self, change: dict[str, Any]) -> None:
        if not self._quiet and change["new"] is not None:
            self._browser.select(change["new"])

    def _on_version(self, change: dict[str, Any]) -> None:
        if not self._quiet and change["new"] is not None:
            self._browser.select_version(change["new"])

    def _on_raw(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self._browser.show_raw(change["new"])

    def _on_diff(self, _change: dict[str, Any]) -> None:
        old, new = self.diff_old.value, self.diff_new.value
        if not self._quiet and old is not None and new is not None:
            self._browser.diff(old, new)

    # ------------------------------------------------------------------ redraw

    def show(self, b: SchemaBrowser) -> None:
        """Write the browser's state into the widgets (without triggering their events)."""
        self._quiet = True
        try:
            self.header.value = self.header_html(b) + WIDGET_CSS
            if self.filter.value != b.filter_text:
                self.filter.value = b.filter_text
            shown = b.subjects
            if tuple(self.subjects.options) != tuple(shown):
                self.subjects.options = shown
            self.subjects.value = b.subject if b.subject in shown else None
            versions = [(f"v{n}", n) for n in b.versions]
            for dropdown in (self.version, self.diff_old, self.diff_new):
                if list(dropdown.options) != versions:
                    dropdown.options = versions
            self.version.value = b.version.version if b.version is not None else None
            pair = b.diff_versions
            self.diff_old.value = pair[0] if pair else None
            self.diff_new.value = pair[1] if pair else None
            self.raw.value = b.raw
            self.info.value = self.info_html(b)
            self.schema.value = self.schema_html(b)
            self.diff.value = self.diff_html(b)
            models = [(display_name(m), m) for m in b.models]
            if list(self.model.options) != models:
                self.model.options = models
            self.model.value = b.check_model if b.check_model in b.models else None
            self.check_result.value = self.check_html(b)
            self.error.value = self.error_html(b)
        finally:
            self._quiet = False

    # ------------------------------------------------------------------ pieces (escaped HTML)

    @staticmethod
    def header_html(b: SchemaBrowser) -> str:
        url = html.escape(b.registry_url or "(no registry)")
        count = f"{len(b.subjects)} of {len(b.all_subjects)} subject(s)"
        return f"<b>Schema Registry</b> <code>{url}</code> · {html.escape(count)}"

    @staticmethod
    def info_html(b: SchemaBrowser) -> str:
        if b.version is None:
            return "<i>select a subject</i>"
        return (
            f"schema id <b>{b.version.schema_id}</b> · compatibility "
            f"<b>{html.escape(b.level or '?')}</b>"
        )

    @staticmethod
    def schema_html(b: SchemaBrowser) -> str:
        found = b.version
        if found is None:
            return "<i>no subject selected</i>"
        title = f"{found.subject} v{found.version}"
        if b.raw or found.schema_type != "AVRO":
            text = (
                found.schema
                if isinstance(found.schema, str)
                else json.dumps(found.schema, indent=2)
            )
            return f"<pre style='max-height:480px;overflow:auto'>{html.escape(text)}</pre>"
        return schema_html(found.schema, title=title)

    @staticmethod
    def diff_html(b: SchemaBrowser) -> str:
        if b.diff_result is not None:
            return b.diff_result.to_html()  # flowodm.tools' own rendering, escaped there
        if len(b.versions) < 2:
            return "<i>the subject has one version: nothing to compare</i>"
        return "<i>pick two versions</i>"

    @staticmethod
    def check_html(b: SchemaBrowser) -> str:
        result, model = b.check_result, b.check_model
        if result is None or model is None:
            return "<i>pick a model and press Check</i>"
        name = html.escape(display_name(model))
        if result.compatible:
            return f"<div style='{_OK}'>✔ {name}: {html.escape(str(result))}</div>"
        return f"<div style='{_BAD}'>✘ {name}</div><pre>{html.escape(str(result))}</pre>"

    @staticmethod
    def error_html(b: SchemaBrowser) -> str:
        if not b.error:
            return ""
        return f"<div class='flowodm-error' style='{_BAD}'>⚠ {html.escape(b.error)}</div>"

    @classmethod
    def html(cls, b: SchemaBrowser) -> str:
        """The whole browser state as one HTML block (no widgets)."""
        parts = [
            cls.header_html(b),
            cls.error_html(b),
            "<p>" + html.escape(", ".join(b.subjects[:50])) + "</p>",
            cls.info_html(b),
            cls.schema_html(b),
        ]
        if b.diff_result is not None:
            parts.append(cls.diff_html(b))
        if b.check_result is not None:
            parts.append(cls.check_html(b))
        return "<div class='flowodm-schema-browser'>" + "".join(parts) + "</div>"
