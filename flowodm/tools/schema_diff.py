"""What changed between two Avro schemas, field by field, as text or HTML.

``diff(old, new)`` lists fields added, removed, renamed (by an alias: the new field's
``aliases`` name the old field, or the old field's name the new one), whose type changed and
whose default changed. Nested records are compared field by field and named by path
(``address.city``; ``lines[].sku`` inside an array, ``attrs{}.x`` inside a map's values), so a
changed nested field is reported where it is, not as "the type of address changed". A diff says
*what* changed; whether that is compatible is :func:`flowodm.tools.check_compatibility`'s job.

The HTML rendering escapes every schema-provided text (names, docs, defaults), so a schema
cannot inject markup into a notebook.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

from flowodm.tools.compat import named_types
from flowodm.tools.sources import SchemaSource, resolve_schema

__all__ = ["CHANGE_KINDS", "FieldChange", "SchemaDiff", "diff"]

#: The kinds of change, in the order a diff lists them.
CHANGE_KINDS = ("added", "removed", "renamed", "type_changed", "default_changed")

_SIGNS = {
    "added": "+ added",
    "removed": "- removed",
    "renamed": "~ renamed",
    "type_changed": "~ type changed",
    "default_changed": "~ default changed",
}
_NO_DEFAULT = "(no default)"


@dataclass(frozen=True)
class FieldChange:
    """One difference between two schemas.

    Attributes:
        kind: One of ``CHANGE_KINDS``.
        path: The field's path in the new schema (in the old one for ``removed``); ``""`` is
            the top-level type itself.
        old: The old type, default or name (``None`` for ``added``).
        new: The new one (``None`` for ``removed``).
    """

    kind: str
    path: str
    old: str | None
    new: str | None

    def describe(self) -> str:
        """One line, such as ``amount: float -> double``."""
        where = self.path or "(top-level type)"
        if self.kind == "added":
            return f"{where}: {self.new}"
        if self.kind == "removed":
            return f"{where}: {self.old}"
        if self.kind == "renamed":
            return f"{self.old} -> {self.new}"
        return f"{where}: {self.old} -> {self.new}"


@dataclass(frozen=True)
class SchemaDiff:
    """The differences between an old and a new schema, in ``CHANGE_KINDS`` order."""

    old: str
    new: str
    changes: tuple[FieldChange, ...]

    def of_kind(self, kind: str) -> tuple[FieldChange, ...]:
        """The changes of one kind (``"added"``, ``"type_changed"`` …)."""
        return tuple(change for change in self.changes if change.kind == kind)

    @property
    def added(self) -> tuple[FieldChange, ...]:
        """Fields only the new schema has."""
        return self.of_kind("added")

    @property
    def removed(self) -> tuple[FieldChange, ...]:
        """Fields only the old schema has."""
        return self.of_kind("removed")

    @property
    def renamed(self) -> tuple[FieldChange, ...]:
        """Fields renamed through an alias (``old`` is the old path, ``new`` the new)."""
        return self.of_kind("renamed")

    @property
    def type_changed(self) -> tuple[FieldChange, ...]:
        """Fields (or the top-level type) whose type changed."""
        return self.of_kind("type_changed")

    @property
    def default_changed(self) -> tuple[FieldChange, ...]:
        """Fields whose default changed, was added or was dropped."""
        return self.of_kind("default_changed")

    def __bool__(self) -> bool:
        return bool(self.changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: ``{"old", "new", "changes": [{"kind", "path", "old", "new"}]}``."""
        return {
            "old": self.old,
            "new": self.new,
            "changes": [
                {"kind": c.kind, "path": c.path, "old": c.old, "new": c.new} for c in self.changes
            ],
        }

    def to_text(self) -> str:
        """A plain-text listing, one change per line."""
        head = f"{self.old} -> {self.new}"
        if not self.changes:
            return f"{head}: no differences"
        width = max(len(_SIGNS[change.kind]) for change in self.changes)
        lines = [f"{head}: {len(self.changes)} change(s)"]
        lines += [f"  {_SIGNS[c.kind]:<{width}}  {c.describe()}" for c in self.changes]
        return "\n".join(lines)

    def to_html(self) -> str:
        """An HTML table (every text escaped), for notebooks and the schema browser."""
        caption = html.escape(f"{self.old} -> {self.new}")
        if not self.changes:
            return f'<div class="flowodm-schema-diff">{caption}: no differences</div>'
        rows = "".join(
            f'<tr class="flowodm-{c.kind}"><td>{html.escape(_SIGNS[c.kind][2:])}</td>'
            f"<td><code>{html.escape(c.path or '(top-level type)')}</code></td>"
            f"<td>{html.escape(c.old or '')}</td><td>{html.escape(c.new or '')}</td></tr>"
            for c in self.changes
        )
        return (
            f'<table class="flowodm-schema-diff"><caption>{caption}: '
            f"{len(self.changes)} change(s)</caption><thead><tr><th>change</th><th>field</th>"
            f"<th>old</th><th>new</th></tr></thead><tbody>{rows}</tbody></table>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()


def diff(schema_a: SchemaSource, schema_b: SchemaSource) -> SchemaDiff:
    """Compare ``schema_a`` (old) with ``schema_b`` (new).

    Each may be a ``FlowBaseModel`` class, a schema dict, JSON text or an ``.avsc`` path.

    Example:
        >>> old = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
        >>> new = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]}
        >>> print(diff(old, new).to_text())
        old schema -> new schema: 1 change(s)
          ~ type changed  a: int -> long

    Raises:
        ArgumentTypeError: a schema argument is of no accepted kind.
        InvalidArgumentError: a file or JSON text cannot be read.
    """
    old = resolve_schema(schema_a, argument="schema_a")
    new = resolve_schema(schema_b, argument="schema_b")
    walker = _Walker(named_types(old.schema), named_types(new.schema))
    walker.compare_types(old.schema, new.schema, "")
    order = {kind: index for index, kind in enumerate(CHANGE_KINDS)}
    changes = sorted(walker.changes, key=lambda change: order[change.kind])
    old_label = "old schema" if old.label == "schema" else old.label
    new_label = "new schema" if new.label == "schema" else new.label
    return SchemaDiff(old_label, new_label, tuple(changes))


class _Walker:
    """Walks two schemas in step and collects their differences."""

    def __init__(self, old_names: dict[str, Any], new_names: dict[str, Any]) -> None:
        self.old_names, self.new_names = old_names, new_names
        self.changes: list[FieldChange] = []
        self._open: set[tuple[str, str]] = set()

    def compare_types(self, old: Any, new: Any, path: str) -> None:
        old, new = _deref(old, self.old_names), _deref(new, self.new_names)
        old_text, new_text = self.render(old, self.old_names), self.render(new, self.new_names)
        if old_text != new_text:
            self.changes.append(FieldChange("type_changed", path, old_text, new_text))
        for old_part, new_part, sub_path in _matching_parts(old, new, path, self):
            self.compare_types(old_part, new_part, sub_path)
        if _kind(old) == "record" and _kind(new) == "record":
            key = (str(old.get("name")), str(new.get("name")))
            if key not in self._open:  # a recursive record is not entered again inside itself
                self._open.add(key)
                self.compare_records(old, new, path)
                self._open.discard(key)

    def compare_records(self, old: dict[str, Any], new: dict[str, Any], prefix: str) -> None:
        old_fields = {f["name"]: f for f in old.get("fields", []) if isinstance(f, dict)}
        new_fields = {f["name"]: f for f in new.get("fields", []) if isinstance(f, dict)}
        matched: set[str] = set()
        for name, field in new_fields.items():
            path = f"{prefix}.{name}" if prefix else name
            counterpart = old_fields.get(name)
            if counterpart is None:
                counterpart = self._renamed_from(field, old_fields, new_fields)
                if counterpart is not None:
                    old_path = f"{prefix}.{counterpart['name']}" if prefix else counterpart["name"]
                    self.changes.append(FieldChange("renamed", path, old_path, path))
            if counterpart is None:
                shown = self.render(field.get("type"), self.new_names) + _default_note(field)
                self.changes.append(FieldChange("added", path, None, shown))
                continue
            matched.add(counterpart["name"])
            self.compare_types(counterpart.get("type"), field.get("type"), path)
            old_default, new_default = _default_text(counterpart), _default_text(field)
            if old_default != new_default:
                self.changes.append(FieldChange("default_changed", path, old_default, new_default))
        for name, field in old_fields.items():
            if name not in matched:
                path = f"{prefix}.{name}" if prefix else name
                shown = self.render(field.get("type"), self.old_names) + _default_note(field)
                self.changes.append(FieldChange("removed", path, shown, None))

    @staticmethod
    def _renamed_from(
        field: dict[str, Any], old_fields: dict[str, Any], new_fields: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The old field ``field`` renames: named by its aliases, or naming it in its own."""
        for alias in field.get("aliases") or []:
            if alias in old_fields and alias not in new_fields:
                found: dict[str, Any] = old_fields[alias]
                return found
        for name, candidate in old_fields.items():
            if name not in new_fields and field["name"] in (candidate.get("aliases") or []):
                return dict(candidate)
        return None

    def render(self, node: Any, names: dict[str, Any], depth: int = 0) -> str:
        """A compact type text: ``string``, ``null | long``, ``array<record Line>`` …"""
        node = _deref(node, names)
        if isinstance(node, str):
            return node
        if isinstance(node, list):
            return " | ".join(self.render(branch, names, depth + 1) for branch in node)
        if not isinstance(node, dict):
            return json.dumps(node)
        kind = node.get("type")
        logical = node.get("logicalType")
        if kind == "array":
            return f"array<{self.render(node.get('items'), names, depth + 1)}>"
        if kind == "map":
            return f"map<{self.render(node.get('values'), names, depth + 1)}>"
        if kind in ("record", "error"):
            return f"record {node.get('name')}"
        if kind == "enum":
            return f"enum {node.get('name')} [{', '.join(map(str, node.get('symbols', [])))}]"
        if kind == "fixed":
            base = f"fixed {node.get('name')}({node.get('size')})"
        elif isinstance(kind, str):
            base = kind
        else:
            base = self.render(kind, names, depth + 1)
        if logical == "decimal":
            return f"{base} (decimal({node.get('precision')},{node.get('scale', 0)}))"
        return f"{base} ({logical})" if logical else base


def _matching_parts(old: Any, new: Any, path: str, walker: _Walker) -> list[tuple[Any, Any, str]]:
    """The sub-schemas to compare in step: array items, map values, same-named union records."""
    old_kind, new_kind = _kind(old), _kind(new)
    if old_kind == new_kind == "array":
        return [(old.get("items"), new.get("items"), f"{path}[]")]
    if old_kind == new_kind == "map":
        return [(old.get("values"), new.get("values"), f"{path}{{}}")]
    old_branches = old if isinstance(old, list) else [old]
    new_branches = new if isinstance(new, list) else [new]
    if not (isinstance(old, list) or isinstance(new, list)):
        return []
    pairs: list[tuple[Any, Any, str]] = []
    for old_branch in old_branches:
        resolved = _deref(old_branch, walker.old_names)
        for new_branch in new_branches:
            other = _deref(new_branch, walker.new_names)
            if _kind(resolved) in ("record", "array", "map") and _same_named(resolved, other):
                pairs.append((resolved, other, path))
    return pairs


def _same_named(old: Any, new: Any) -> bool:
    if _kind(old) != _kind(new):
        return False
    if _kind(old) == "record":
        return bool(old.get("name") == new.get("name"))
    return True


def _kind(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("type"), str):
        return str(node["type"]).replace("error", "record")
    return None


def _default_text(field: dict[str, Any]) -> str:
    return json.dumps(field["default"], sort_keys=True) if "default" in field else _NO_DEFAULT


def _default_note(field: dict[str, Any]) -> str:
    return f" (default {_default_text(field)})" if "default" in field else ""


def _deref(node: Any, names: dict[str, Any]) -> Any:
    """Replace a reference to a named type by its definition."""
    if isinstance(node, str) and node in names:
        return names[node]
    return node
