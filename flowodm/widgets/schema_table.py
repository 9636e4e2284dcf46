"""An Avro schema as a readable field table: name, Avro type, logical type, default, doc.

Nested records, the records inside arrays, maps and unions, are listed under their field,
indented, with paths in the style of ``flowodm.tools.diff`` (``address.city``, ``lines[].sku``,
``attrs{}.x``); enums show their symbols. Standard library only, so ``FlowBaseModel``'s rich
display (``Model._repr_html_``) can use it without loading ipywidgets. Every schema-provided
text (names, docs, defaults) is escaped: a schema cannot inject markup into a notebook.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

from flowodm.widgets._ui import html_table, short_text, text_table

__all__ = ["SchemaRow", "model_html", "schema_html", "schema_rows", "schema_text"]

HEADERS = ("field", "type", "logical type", "default", "doc")


@dataclass(frozen=True, slots=True)
class SchemaRow:
    """One line of the field table.

    Attributes:
        depth: Nesting level (0 for the top-level record's own fields).
        path: The field's path (``address.city``, ``lines[].sku``).
        name: The field's own name.
        type: The Avro type, compact (``null | string``, ``array<record Line>``).
        logical: The logical type(s) (``timestamp-millis``, ``decimal(10,2)``), or ``""``.
        default: The default as JSON, or ``""`` when the field has none.
        doc: The field's doc (an enum's symbols when the field is an enum without doc).
    """

    depth: int
    path: str
    name: str
    type: str
    logical: str
    default: str
    doc: str


def schema_rows(schema: Any) -> list[SchemaRow]:
    """The field table of an Avro schema (a record; other schemas give one row for themselves)."""
    walker = _Walker()
    walker.collect_names(schema)
    if isinstance(schema, dict) and schema.get("type") in ("record", "error"):
        walker.record(schema, "", 0)
    else:
        text, logical = walker.type_text(schema)
        walker.rows.append(SchemaRow(0, "", "(value)", text, logical, "", ""))
    return walker.rows


def schema_text(schema: Any, *, title: str | None = None) -> str:
    """The field table as fixed-width text (nested fields indented)."""
    rows = [
        ("  " * r.depth + r.name, r.type, r.logical, r.default, r.doc) for r in schema_rows(schema)
    ]
    table = text_table(HEADERS, rows)
    return f"{title}\n{table}" if title else table


def schema_html(
    schema: Any, *, title: str | None = None, values: dict[str, Any] | None = None
) -> str:
    """The field table as escaped HTML; ``values`` adds a column of top-level field values."""
    headers = [*HEADERS, "value"] if values is not None else list(HEADERS)
    rows: list[list[object]] = []
    for row in schema_rows(schema):
        pad = f"padding-left:{0.3 + 1.2 * row.depth:.1f}em"
        mark = "↳ " if row.depth else ""
        name = f"<code style='{pad}'>{html.escape(mark + row.name)}</code>"
        cells: list[object] = [
            name,
            f"<code>{html.escape(row.type)}</code>",
            row.logical,
            row.default,
            row.doc,
        ]
        if values is not None:
            shown = values.get(row.name, "") if row.depth == 0 else ""
            cells.append(short_text(shown, 120) if not isinstance(shown, str) else shown)
        rows.append(cells)
    return html_table(headers, rows, css_class="flowodm-schema", caption=title, raw_columns=(0, 1))


def model_html(model: Any) -> str:
    """The rich display of a ``FlowBaseModel`` class (its schema) or instance (with values)."""
    cls: Any = model if isinstance(model, type) else type(model)
    schema = cls.avro_schema()
    settings = cls.flow_settings()
    topic = f", topic {settings.topic!r}" if settings.topic else ""
    key = f", key {settings.key_field!r}" if settings.key_field else ""
    title = f"{cls.__name__}: Avro record {schema.get('name', '')}{topic}{key}"
    if isinstance(model, type):
        return schema_html(schema, title=title)
    return schema_html(schema, title=title, values=dict(model))


class _Walker:
    """Walks a schema once, resolving named references, and collects the rows."""

    def __init__(self) -> None:
        self.names: dict[str, dict[str, Any]] = {}
        self.rows: list[SchemaRow] = []
        self._open: set[str] = set()

    def collect_names(self, node: Any, namespace: str = "") -> None:
        """Index every named type (by short and full name) so references can be resolved."""
        if isinstance(node, list):
            for branch in node:
                self.collect_names(branch, namespace)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind in ("record", "error", "enum", "fixed") and isinstance(node.get("name"), str):
            name = str(node["name"])
            space = str(node.get("namespace", namespace) or "")
            full = name if "." in name or not space else f"{space}.{name}"
            self.names.setdefault(name.rsplit(".", 1)[-1], node)
            self.names.setdefault(full, node)
            namespace = space
        for field in node.get("fields", []) if isinstance(node.get("fields"), list) else []:
            if isinstance(field, dict):
                self.collect_names(field.get("type"), namespace)
        for part in ("items", "values"):
            if part in node:
                self.collect_names(node[part], namespace)
        if isinstance(kind, dict | list):
            self.collect_names(kind, namespace)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, str) and node in self.names:
            return self.names[node]
        return node

    def type_text(self, node: Any) -> tuple[str, str]:
        """``(compact type, logical types)`` of one schema node."""
        node = self.resolve(node)
        if isinstance(node, str):
            return node, ""
        if isinstance(node, list):
            parts = [self.type_text(branch) for branch in node]
            logical = ", ".join(dict.fromkeys(lg for _, lg in parts if lg))
            return " | ".join(text for text, _ in parts), logical
        if not isinstance(node, dict):
            return json.dumps(node), ""
        kind = node.get("type")
        logical = str(node.get("logicalType") or "")
        if logical == "decimal":
            logical = f"decimal({node.get('precision')},{node.get('scale', 0)})"
        if kind == "array":
            inner, inner_logical = self.type_text(node.get("items"))
            return f"array<{inner}>", inner_logical
        if kind == "map":
            inner, inner_logical = self.type_text(node.get("values"))
            return f"map<{inner}>", inner_logical
        if kind in ("record", "error"):
            return f"record {node.get('name')}", logical
        if kind == "enum":
            return f"enum {node.get('name')}", logical
        if kind == "fixed":
            return f"fixed {node.get('name')}({node.get('size')})", logical
        if isinstance(kind, str):
            return kind, logical
        text, inner_logical = self.type_text(kind)
        return text, logical or inner_logical

    def record(self, node: dict[str, Any], prefix: str, depth: int) -> None:
        """Add a row per field of ``node``, then the fields nested under each one."""
        name = str(node.get("name"))
        if name in self._open:  # a recursive record is listed once, not inside itself
            return
        self._open.add(name)
        for field in node.get("fields", []):
            if not isinstance(field, dict):
                continue
            path = f"{prefix}.{field['name']}" if prefix else str(field["name"])
            text, logical = self.type_text(field.get("type"))
            default = json.dumps(field["default"], sort_keys=True) if "default" in field else ""
            doc = str(field.get("doc") or "") or self._symbols(field.get("type"))
            self.rows.append(
                SchemaRow(depth, path, str(field["name"]), text, logical, default, doc)
            )
            self.nested(field.get("type"), path, depth + 1)
        self._open.discard(name)

    def nested(self, node: Any, path: str, depth: int) -> None:
        """The rows under a field: its record's fields, through arrays, maps and unions."""
        node = self.resolve(node)
        if isinstance(node, list):
            for branch in node:
                self.nested(branch, path, depth)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in ("record", "error"):
                self.record(node, path, depth)
            elif kind == "array":
                self.nested(node.get("items"), f"{path}[]", depth)
            elif kind == "map":
                self.nested(node.get("values"), f"{path}{{}}", depth)

    def _symbols(self, node: Any) -> str:
        """An enum's symbols (``new, paid, shipped``), also inside a union; else ``""``."""
        node = self.resolve(node)
        branches = node if isinstance(node, list) else [node]
        for branch in branches:
            branch = self.resolve(branch)
            if isinstance(branch, dict) and branch.get("type") == "enum":
                return "symbols: " + ", ".join(map(str, branch.get("symbols", [])))
        return ""
