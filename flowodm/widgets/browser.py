"""``SchemaBrowser``: the registry's subjects, their versions, diffs and a model check.

Everything goes through ``flowodm.tools`` (``list_subjects``, ``get_schema_versions``,
``get_subject_version``, ``diff``, ``check_compatibility``), so the browser shows exactly what
``flowodm schema …`` would print. State lives in the object (``subjects``, ``subject``,
``version``, ``diff_result``, ``check_result``, ``error``); the widgets only show it and call
the same methods a script would (``filter``, ``select``, ``diff``, ``check``, ``refresh``).

A registry failure never surfaces as a traceback: the message goes to ``error`` (the error
label of the widget), scrubbed of the connection's secrets, and the rest of the state stays as
it was. The registry URL is shown without credentials (``flowodm._secrets.safe_url``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from flowodm._secrets import safe_url, scrub
from flowodm.settings import display_name
from flowodm.tools.check import check_compatibility
from flowodm.tools.registry import (
    get_schema_versions,
    get_subject_version,
    list_subjects,
    registry_of,
)
from flowodm.tools.schema_diff import SchemaDiff, diff
from flowodm.widgets._browser_view import BrowserView
from flowodm.widgets._ui import WidgetView, secrets_of
from flowodm.widgets.schema_table import schema_text

if TYPE_CHECKING:
    from types import ModuleType

    from flowodm.kafka.connection import Connection
    from flowodm.model import FlowBaseModel
    from flowodm.serde.registry import SubjectVersion
    from flowodm.tools.compat import CompatibilityResult

__all__ = ["SchemaBrowser"]

T = TypeVar("T")


class SchemaBrowser(WidgetView):
    """Browse the Schema Registry: subjects, versions, field tables, diffs, model checks.

    Args:
        connection: The connection whose registry to browse (default: the current one).
        models: ``FlowBaseModel`` classes offered in the "check a model" picker.
        subject: A subject to select at once.

    Example:
        >>> browser = SchemaBrowser(models=[OrderEvent])   # doctest: +SKIP
        >>> browser.filter("orders").select("orders-value")  # doctest: +SKIP
        >>> browser.diff(1, 2).added                         # doctest: +SKIP
        >>> browser.check(OrderEvent).compatible             # doctest: +SKIP
    """

    def __init__(
        self,
        connection: Connection | None = None,
        *,
        models: Iterable[type[FlowBaseModel]] = (),
        subject: str | None = None,
    ) -> None:
        self.connection = connection
        self.models: list[type[FlowBaseModel]] = list(models)
        self.all_subjects: list[str] = []
        self.filter_text = ""
        self.subject: str | None = None
        self.versions: list[int] = []
        self.version: SubjectVersion | None = None
        self.level: str | None = None
        self.raw = False
        self.diff_result: SchemaDiff | None = None
        self.diff_versions: tuple[int, int] | None = None
        self.check_model: type[FlowBaseModel] | None = None
        self.check_result: CompatibilityResult | None = None
        self.error = ""
        self.registry_url = ""
        self._view: BrowserView | None = None
        self.refresh()
        if subject is not None:
            self.select(subject)

    # ------------------------------------------------------------------ state

    @property
    def subjects(self) -> list[str]:
        """The subjects matching the filter (a case-insensitive substring), sorted."""
        wanted = self.filter_text.strip().lower()
        return [s for s in self.all_subjects if wanted in s.lower()]

    @property
    def schema(self) -> Any:
        """The selected version's schema (parsed JSON for Avro), or ``None``."""
        return None if self.version is None else self.version.schema

    # ------------------------------------------------------------------ actions

    def refresh(self) -> SchemaBrowser:
        """Reload the subjects, and the selected subject's versions, schema and level."""
        self.error = ""
        if self._guard(self._load_registry) and self.subject is not None:
            if self.subject in self.all_subjects:
                number = self.version.version if self.version is not None else None
                self._load_subject(self.subject, number)
            else:
                self._clear_subject()
        self._sync()
        return self

    def filter(self, text: str) -> SchemaBrowser:
        """Show only the subjects containing ``text``; a hidden selection is cleared."""
        self.filter_text = text
        if self.subject is not None and self.subject not in self.subjects:
            self._clear_subject()
        self._sync()
        return self

    def select(self, subject: str | None, version: int | None = None) -> SchemaBrowser:
        """Select ``subject`` (and ``version``, default the latest); ``None`` clears it."""
        self.error = ""
        if subject is None:
            self._clear_subject()
        else:
            self._load_subject(subject, version)
        self._sync()
        return self

    def select_version(self, version: int) -> SchemaBrowser:
        """Show another version of the selected subject."""
        if self.subject is not None:
            self.error = ""
            subject = self.subject
            found = self._guard(
                lambda: get_subject_version(subject, version, connection=self.connection)
            )
            if found is not None:
                self.version = found
        self._sync()
        return self

    def show_raw(self, raw: bool = True) -> SchemaBrowser:
        """Show the schema as raw JSON (``True``) or as the field table (``False``)."""
        self.raw = bool(raw)
        self._sync()
        return self

    def diff(self, old: int, new: int) -> SchemaDiff | None:
        """Diff two versions of the selected subject (``flowodm.tools.diff``); ``None`` on error.

        Selecting a subject with two versions or more diffs its last two at once.
        """
        self.error = ""
        result = self._diff(old, new)
        self._sync()
        return result

    def _diff(self, old: int, new: int) -> SchemaDiff | None:
        subject = self.subject
        if subject is None:
            self.error = "select a subject first"
            return None

        def compare() -> SchemaDiff:
            a = get_subject_version(subject, old, connection=self.connection)
            b = get_subject_version(subject, new, connection=self.connection)
            found = diff(a.schema, b.schema)
            return dataclasses.replace(found, old=f"{subject} v{old}", new=f"{subject} v{new}")

        self.diff_versions = (old, new)
        self.diff_result = self._guard(compare)
        return self.diff_result

    def check(self, model: type[FlowBaseModel] | None = None) -> CompatibilityResult | None:
        """Check ``model`` (default: the picked one) against the selected subject.

        With no subject selected, the model's own subject is selected first. The verdict is
        ``flowodm.tools.check_compatibility``'s, at the subject's level; ``None`` on error.
        """
        if model is not None:
            if model not in self.models:
                self.models.append(model)
            self.check_model = model
        chosen = self.check_model
        self.error = ""
        result: CompatibilityResult | None = None
        if chosen is None:
            self.error = "pick a model to check (browser.check(Model), or models=[...])"
        else:
            if self.subject is None:
                own = _model_subject(chosen)
                if own is not None:
                    self._load_subject(own, None)
            target = self.subject
            result = self._guard(
                lambda: check_compatibility(chosen, subject=target, connection=self.connection)
            )
            self.check_result = result
        self._sync()
        return result

    # ------------------------------------------------------------------ loading

    def _load_registry(self) -> bool:
        adapter = registry_of(self.connection)
        self.registry_url = safe_url(adapter.url)
        self.all_subjects = list_subjects(connection=self.connection)
        return True

    def _load_subject(self, subject: str, version: int | None) -> None:
        def load() -> tuple[list[int], SubjectVersion, str]:
            versions = get_schema_versions(subject, connection=self.connection)
            found = get_subject_version(subject, version or "latest", connection=self.connection)
            level = registry_of(self.connection).compatibility_level(subject)
            return versions, found, level

        loaded = self._guard(load)
        if loaded is None:
            return
        changed = subject != self.subject
        self.subject = subject
        self.versions, self.version, self.level = loaded
        if changed:
            self.check_result = None
            self.diff_result, self.diff_versions = None, None
            if len(self.versions) >= 2:
                self._diff(self.versions[-2], self.versions[-1])

    def _clear_subject(self) -> None:
        self.subject, self.versions, self.version, self.level = None, [], None, None
        self.diff_result = self.check_result = self.diff_versions = None

    def _guard(self, action: Callable[[], T]) -> T | None:
        """Run ``action``; a failure becomes ``error`` (secrets scrubbed), never a traceback."""
        try:
            return action()
        except Exception as exc:  # shown in the error label: the widget must stay usable
            self.error = scrub(f"{type(exc).__name__}: {exc}", secrets_of(self.connection))
            return None

    # ------------------------------------------------------------------ display

    def _build(self, widgets: ModuleType) -> Any:
        self._view = BrowserView(widgets, self)
        return self._view.root

    def _sync(self) -> None:
        if self._view is not None:
            self._view.show(self)

    def schema_html(self) -> str:
        """The selected schema as the field table, or raw JSON when ``raw`` is set."""
        return BrowserView.schema_html(self)

    def to_text(self) -> str:
        """The browser's state as text: registry, subjects, the selected schema, results."""
        lines = [f"Schema Registry {self.registry_url or '(none)'}"]
        if self.error:
            lines.append(f"error: {self.error}")
        shown = self.subjects
        lines.append(
            f"subjects ({len(shown)} of {len(self.all_subjects)}"
            + (f", filter {self.filter_text!r}" if self.filter_text else "")
            + "): "
            + ", ".join(shown[:20])
            + (" …" if len(shown) > 20 else "")
        )
        if self.subject is not None and self.version is not None:
            versions = ", ".join(map(str, self.versions))
            lines.append(
                f"subject {self.subject!r}: version {self.version.version} of [{versions}], "
                f"schema id {self.version.schema_id}, compatibility {self.level}"
            )
            if self.raw or self.version.schema_type != "AVRO":
                lines.append(json.dumps(self.version.schema, indent=2))
            else:
                lines.append(schema_text(self.version.schema))
        if self.diff_result is not None:
            lines += ["", self.diff_result.to_text()]
        if self.check_result is not None and self.check_model is not None:
            lines += ["", f"check {display_name(self.check_model)}: {self.check_result}"]
        return "\n".join(lines)

    def to_html(self) -> str:
        """The same as escaped HTML."""
        return BrowserView.html(self)


def _model_subject(model: type[FlowBaseModel]) -> str | None:
    from flowodm.tools.sources import model_subject

    try:
        return model_subject(model)
    except Exception:  # no topic: the check then reports "subject= is needed"
        return None
