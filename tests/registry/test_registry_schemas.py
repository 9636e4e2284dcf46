"""Schema parsing and identity: what maps to one id and what must not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowodm.sandbox.registry.errors import RegistryHTTPError
from flowodm.sandbox.registry.schemas import (
    AVRO,
    JSON,
    PROTOBUF,
    normalize_schema_type,
    parse_schema,
)
from tests.registry.registry_schemas import field, record


def canonical(schema: Any, schema_type: str = AVRO) -> str:
    raw = schema if isinstance(schema, str) else json.dumps(schema)
    return parse_schema(schema_type, raw).canonical


def test_whitespace_key_order_and_primitive_shorthand_share_one_identity() -> None:
    base = record(field("a", "int"), field("b", {"type": "array", "items": "string"}))
    shuffled = {
        "fields": [
            {"type": {"type": "int"}, "name": "a"},
            {"name": "b", "type": {"items": {"type": "string"}, "type": "array"}},
        ],
        "name": "R",
        "type": "record",
    }
    assert canonical(base) == canonical(json.dumps(shuffled, indent=3))
    assert canonical('"int"') == canonical('{"type": "int"}')


@pytest.mark.parametrize(
    "variant",
    [
        record(field("a", "int", default=1)),
        record(field("a", "int", doc="the a")),
        record(field("a", "int", aliases=["x"])),
        record(field("a", "int"), namespace="com.acme"),
        record(field("a", {"type": "int", "logicalType": "date"})),
        record(field("a", "int"), custom="property"),
    ],
)
def test_defaults_docs_aliases_and_properties_keep_schemas_apart(variant: Any) -> None:
    assert canonical(variant) != canonical(record(field("a", "int")))


def test_default_values_are_not_simplified() -> None:
    as_data = record(field("m", {"type": "map", "values": "string"}, default={"type": "int"}))
    other = record(field("m", {"type": "map", "values": "string"}, default={"type": "long"}))
    assert canonical(as_data) != canonical(other)
    assert '"default":{"type":"int"}' in canonical(as_data)


def test_stored_text_is_compact_and_keeps_the_registrants_key_order() -> None:
    parsed = parse_schema(AVRO, '{ "name": "R", "type": "record", "fields": [] }')
    assert parsed.text == '{"name":"R","type":"record","fields":[]}'


def test_json_schema_identity_ignores_formatting_only() -> None:
    assert canonical('{"type": "object", "title": "T"}', JSON) == canonical(
        '{\n "title": "T",\n "type": "object"\n}', JSON
    )
    assert canonical("true", JSON) == "true"


def test_protobuf_text_is_kept_verbatim() -> None:
    proto = 'syntax = "proto3";\nmessage M {}\n'
    parsed = parse_schema(PROTOBUF, proto)
    assert parsed.text == parsed.canonical == proto


@pytest.mark.parametrize("value", [None, "avro", "AVRO", "Json", "protobuf"])
def test_schema_type_names_are_case_insensitive(value: str | None) -> None:
    assert normalize_schema_type(value) in {AVRO, JSON, PROTOBUF}


@pytest.mark.parametrize("value", ["XML", 3, ""])
def test_unknown_schema_types_are_42201(value: object) -> None:
    with pytest.raises(RegistryHTTPError) as raised:
        normalize_schema_type(value)
    assert raised.value.error_code == 42201


def test_invalid_decimal_logical_type_is_refused_not_warned() -> None:
    schema = '{"type": "bytes", "logicalType": "decimal", "precision": -1}'
    with pytest.raises(RegistryHTTPError, match="precision"):
        parse_schema(AVRO, schema)
