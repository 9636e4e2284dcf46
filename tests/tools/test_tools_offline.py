"""Offline compatibility (``check_compatibility(..., against=...)``): levels, paths, sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowodm.exceptions import ArgumentTypeError, InvalidArgumentError
from flowodm.model import FlowBaseModel
from flowodm.tools import LEVELS, check_compatibility, validate_against_file
from flowodm.tools.compat import field_path
from tests.tools.avro_builders import field, one, record

OLD = record(
    field("a", "int"),
    field("address", record(field("city", "string"), name="Address")),
    field("lines", {"type": "array", "items": record(field("sku", "string"), name="Line")}),
)
NEW = record(
    field("a", "string"),
    field("address", record(field("city", "int"), field("zip", "string"), name="Address")),
    field(
        "lines",
        {"type": "array", "items": record(field("sku", "string"), field("n", "int"), name="Line")},
    ),
)


class OrderV1(FlowBaseModel):
    class Settings:
        topic = "tools-offline-orders"
        record_name = "Order"

    order_id: str
    amount: float


class OrderV2(FlowBaseModel):
    class Settings:
        topic = "tools-offline-orders"
        record_name = "Order"

    order_id: str
    amount: float
    quantity: int


class OrderV2Default(FlowBaseModel):
    class Settings:
        topic = "tools-offline-orders"
        record_name = "Order"

    order_id: str
    amount: float
    quantity: int = 1


def test_backward_names_every_nested_field_path() -> None:
    result = check_compatibility(NEW, against=OLD, level="BACKWARD")
    assert not result.compatible
    assert result.fields == ("a", "address.city", "address.zip", "lines[].n")
    text = str(result)
    assert text.startswith("INCOMPATIBLE under BACKWARD: field(s) a, address.city")
    assert "field 'address.zip' has no default and is missing from the old schema" in text
    assert result.problems[0].reader == "new" and result.problems[0].writer == "old"


def test_forward_checks_the_other_direction() -> None:
    result = check_compatibility(NEW, against=OLD, level="FORWARD")
    assert not result.compatible
    # The old schema reads new data: the added fields are ignored, the type changes are not.
    assert result.fields == ("a", "address.city")
    assert {problem.reader for problem in result.problems} == {"old"}


def test_full_is_both_directions_and_none_checks_nothing() -> None:
    full = check_compatibility(NEW, against=OLD, level="full")
    assert full.level == "FULL"
    assert {(p.reader, p.writer) for p in full.problems} == {("new", "old"), ("old", "new")}
    assert check_compatibility(NEW, against=OLD, level="NONE").compatible


def test_models_as_both_sides() -> None:
    result = check_compatibility(OrderV2, against=OrderV1)
    assert not result.compatible
    assert result.level == "BACKWARD"
    assert result.fields == ("quantity",)
    assert check_compatibility(OrderV2Default, against=OrderV1, level="FULL").compatible
    assert check_compatibility(OrderV2, against=OrderV1, level="FORWARD").compatible


def test_transitive_checks_every_schema_in_a_history() -> None:
    v1 = one("int")
    v2 = record(field("a", "int"), field("b", "string", default=""))
    v3 = record(field("a", "int"), field("b", "string"))  # b lost its default
    # v3 reads v2 data (b present) but not v1 data (b missing, no default).
    assert check_compatibility(v3, against=[v1, v2], level="BACKWARD").compatible
    transitive = check_compatibility(v3, against=[v1, v2], level="BACKWARD_TRANSITIVE")
    assert not transitive.compatible
    assert transitive.checked == 2
    assert [p.against for p in transitive.problems] == ["old schema (#1)"]


def test_file_and_json_text_sources(tmp_path: Path) -> None:
    path = tmp_path / "v1.avsc"
    path.write_text(json.dumps(one("int")))
    assert check_compatibility(json.dumps(one("long")), against=path).compatible
    assert check_compatibility(one("long"), against=str(path)).compatible
    narrowed = check_compatibility(one("int"), against=json.dumps(one("long")))
    assert not narrowed.compatible
    assert "reader type: int not compatible with writer type: long" in narrowed.messages


def test_every_level_is_accepted_and_unknown_ones_are_named() -> None:
    for level in LEVELS:
        check_compatibility(one("long"), against=one("int"), level=level)
    with pytest.raises(InvalidArgumentError, match="did you mean 'BACKWARD'"):
        check_compatibility(one("long"), against=one("int"), level="BACKWARDS")


def test_bad_sources_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="pass subject='orders-value'"):
        check_compatibility(OrderV1, "orders-value")
    with pytest.raises(ArgumentTypeError, match="not int"):
        check_compatibility(OrderV1, against=3)
    with pytest.raises(InvalidArgumentError, match="is not a valid Avro schema"):
        check_compatibility({"type": "record", "name": "R"}, against=one("int"))
    with pytest.raises(InvalidArgumentError, match="not both"):
        check_compatibility(OrderV1, against=OrderV1, subject="x")


def test_upstream_keyword_compatibility_level() -> None:
    result = check_compatibility(OrderV2, against=OrderV1, compatibility_level="FORWARD")
    assert result.compatible and result.level == "FORWARD"


def test_field_path_walks_unions_maps_and_references() -> None:
    address = record(field("city", "string"), name="Address")
    schema = record(
        field("home", address),
        field("work", ["null", "Address"]),
        field("attrs", {"type": "map", "values": record(field("x", "int"), name="V")}),
    )
    assert field_path(schema, "/fields/0/type/fields/0/type") == "home.city"
    assert field_path(schema, "/fields/1/type/1/fields/0") == "work.city"
    assert field_path(schema, "/fields/2/type/values/fields/0/type") == "attrs{}.x"
    assert field_path(schema, "/") == ""


def test_validate_against_file(tmp_path: Path) -> None:
    path = tmp_path / "orders.avsc"
    path.write_text(json.dumps(OrderV1.avro_schema()))
    same = validate_against_file(OrderV1, path)
    assert same.is_valid and same.errors == [] and same.warnings == []
    widened = validate_against_file(OrderV2Default, path)
    assert widened.is_valid  # a field with a default reads and is ignored both ways
    assert widened.warnings == ["added: quantity: long (default 1)"]
    broken = validate_against_file(OrderV2, path)
    assert not broken.is_valid
    assert any("quantity" in error for error in broken.errors)
