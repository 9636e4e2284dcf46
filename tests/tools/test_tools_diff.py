"""``diff``: every change kind, nested paths, the four source spellings, text and HTML."""

from __future__ import annotations

import json
from pathlib import Path

from flowodm.model import FlowBaseModel
from flowodm.tools import diff
from tests.tools.avro_builders import enum, field, one, record

ADDRESS = record(field("city", "string"), name="Address")


def _changes(old: object, new: object) -> list[tuple[str, str, str | None, str | None]]:
    return [(c.kind, c.path, c.old, c.new) for c in diff(old, new).changes]


def test_added_and_removed() -> None:
    old = record(field("a", "int"), field("gone", "string"))
    new = record(field("a", "int"), field("b", ["null", "string"], default=None))
    assert _changes(old, new) == [
        ("added", "b", None, "null | string (default null)"),
        ("removed", "gone", "string", None),
    ]


def test_renamed_by_alias_either_way() -> None:
    old = record(field("qty", "int"))
    assert _changes(old, record(field("quantity", "int", aliases=["qty"]))) == [
        ("renamed", "quantity", "qty", "quantity")
    ]
    reverse = record(field("qty", "int", aliases=["quantity"]))
    assert _changes(reverse, record(field("quantity", "long"))) == [
        ("renamed", "quantity", "qty", "quantity"),
        ("type_changed", "quantity", "int", "long"),
    ]


def test_type_changes_render_logical_types_and_enums() -> None:
    assert _changes(one("int"), one({"type": "long", "logicalType": "timestamp-millis"})) == [
        ("type_changed", "a", "int", "long (timestamp-millis)")
    ]
    assert _changes(one(enum("A", "B")), one(enum("A", "B", "C"))) == [
        ("type_changed", "a", "enum E [A, B]", "enum E [A, B, C]")
    ]
    decimal = {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}
    assert _changes(one("bytes"), one(decimal)) == [
        ("type_changed", "a", "bytes", "bytes (decimal(10,2))")
    ]


def test_default_changed_added_and_dropped() -> None:
    assert _changes(one("string", default="NEW"), one("string", default="OPEN")) == [
        ("default_changed", "a", '"NEW"', '"OPEN"')
    ]
    assert _changes(one("int"), one("int", default=0)) == [
        ("default_changed", "a", "(no default)", "0")
    ]


def test_nested_records_by_path() -> None:
    old = record(
        field("address", ADDRESS),
        field("billing", ["null", "Address"], default=None),
        field("lines", {"type": "array", "items": record(field("sku", "string"), name="Line")}),
        field("attrs", {"type": "map", "values": record(field("x", "int"), name="V")}),
    )
    new_address = record(field("city", "int"), field("zip", "string", default=""), name="Address")
    new = record(
        field("address", new_address),
        field("billing", ["null", "Address"], default=None),
        field("lines", {"type": "array", "items": record(field("sku", "long"), name="Line")}),
        field("attrs", {"type": "map", "values": record(field("x", "long"), name="V")}),
    )
    changes = _changes(old, new)
    assert ("added", "address.zip", None, 'string (default "")') in changes
    assert ("type_changed", "address.city", "string", "int") in changes
    assert ("type_changed", "billing.city", "string", "int") in changes
    assert ("type_changed", "lines[].sku", "string", "long") in changes
    assert ("type_changed", "attrs{}.x", "int", "long") in changes
    assert not [c for c in changes if c[1] in ("address", "lines", "attrs")]


def test_recursive_records_terminate() -> None:
    tree = record(field("value", "int"), field("children", {"type": "array", "items": "Node"}))
    tree["name"] = "Node"
    bigger = json.loads(json.dumps(tree))
    bigger["fields"][0]["type"] = "long"
    assert _changes(tree, bigger) == [("type_changed", "value", "int", "long")]


def test_top_level_rename_and_no_differences() -> None:
    assert _changes(one("int"), {**one("int"), "name": "S"}) == [
        ("type_changed", "", "record R", "record S")
    ]
    same = diff(one("int"), json.dumps(one("int")))
    assert not same
    assert same.to_text() == "old schema -> new schema: no differences"
    assert "no differences" in same.to_html()


class Before(FlowBaseModel):
    class Settings:
        topic = "tools-diff"

    order_id: str
    amount: float


def test_models_files_and_json_text(tmp_path: Path) -> None:
    path = tmp_path / "before.avsc"
    path.write_text(json.dumps(Before.avro_schema()))
    after = Before.avro_schema()
    after["fields"].append({"name": "note", "type": "string", "default": ""})
    result = diff(path, json.dumps(after))
    assert result.old == f"file {str(path)!r}" and result.new == "new schema"
    assert [c.kind for c in result.changes] == ["added"]
    assert not diff(Before, str(path))
    assert diff(Before, after).added[0].path == "note"


def test_text_rendering_lines_up() -> None:
    old = record(field("a", "int"), field("qty", "int"))
    new = record(field("a", "long"), field("quantity", "int", aliases=["qty"]))
    assert diff(old, new).to_text() == (
        "old schema -> new schema: 2 change(s)\n"
        "  ~ renamed       qty -> quantity\n"
        "  ~ type changed  a: int -> long"
    )


def test_html_escapes_everything() -> None:
    old = record(field("a", "string", default="<b>x</b>"))
    new = record(field("a", "string", default="<script>alert('&')</script>"))
    html = diff(old, new).to_html()
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#x27;&amp;&#x27;)&lt;/script&gt;" in html
    assert html.startswith('<table class="flowodm-schema-diff">')
    assert '<tr class="flowodm-default_changed"><td>default changed</td>' in html
    assert diff(old, new)._repr_html_() == html
    data = diff(old, new).to_dict()
    assert data["changes"][0]["kind"] == "default_changed"
