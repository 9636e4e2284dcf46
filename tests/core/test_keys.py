"""Key serializers: ``string``, ``json``, ``bytes`` and the primitive ``avro`` key schemas."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import Enum, IntEnum
from uuid import UUID

import pytest
from pydantic import BaseModel

from flowodm.exceptions import SerializationError
from flowodm.serde.keys import KEY_SERIALIZERS, avro_key, serialize_key

UID = UUID("12345678-1234-5678-1234-567812345678")


class Color(str, Enum):  # noqa: UP042 - str(Color.RED) is "Color.RED": upstream's W10 bug
    RED = "red"


class Level(IntEnum):
    HIGH = 3


class Nested(Enum):
    INNER = Color.RED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ORD-001", b"ORD-001"),
        ("grüße", "grüße".encode()),
        (42, b"42"),
        (-7, b"-7"),
        (UID, str(UID).encode()),
        (Color.RED, b"red"),
        (Level.HIGH, b"3"),
        (Nested.INNER, b"red"),
    ],
)
def test_string_keys(value: object, expected: bytes) -> None:
    assert serialize_key("string", value, where="OrderEvent.order_id") == expected


@pytest.mark.parametrize("value", [True, 1.5, b"raw", Decimal("1.0"), dt.date(2024, 1, 1), [1]])
def test_string_refuses_values_it_would_have_to_guess(value: object) -> None:
    with pytest.raises(SerializationError) as info:
        serialize_key("string", value, where="OrderEvent.order_id")

    assert str(info.value).startswith("OrderEvent.order_id: key_serializer 'string'")
    assert type(value).__name__ in str(info.value)
    assert info.value.model == "OrderEvent"
    assert info.value.field == "order_id"


def test_json_keys_are_compact_sorted_and_render_rich_types() -> None:
    class Key(BaseModel):
        region: str
        color: Color

    assert serialize_key("json", {"b": 1, "a": [UID]}, where="M key") == (
        b'{"a":["12345678-1234-5678-1234-567812345678"],"b":1}'
    )
    assert serialize_key("json", Color.RED, where="M key") == b'"red"'
    assert serialize_key("json", "x", where="M key") == b'"x"'
    assert json.loads(
        serialize_key("json", Key(region="eu", color=Color.RED), where="M") or b""
    ) == {
        "color": "red",
        "region": "eu",
    }
    assert serialize_key("json", "é", where="M key") == '"é"'.encode()


def test_json_refuses_unserializable_values() -> None:
    with pytest.raises(SerializationError, match="key_serializer 'json' cannot encode a object"):
        serialize_key("json", object(), where="OrderEvent key")


def test_bytes_keys() -> None:
    assert serialize_key("bytes", b"\x00\x01", where="M.k") == b"\x00\x01"
    assert serialize_key("bytes", bytearray(b"ab"), where="M.k") == b"ab"
    assert serialize_key("bytes", memoryview(b"cd"), where="M.k") == b"cd"
    with pytest.raises(SerializationError, match=r"M\.k: key_serializer 'bytes' accepts bytes"):
        serialize_key("bytes", "text", where="M.k")


@pytest.mark.parametrize("name", ["string", "json", "bytes"])
def test_none_key_means_no_key(name: str) -> None:
    assert serialize_key(name, None, where="M.k") is None


def test_unknown_serializer_name() -> None:
    with pytest.raises(SerializationError, match="unknown key serializer 'yaml'"):
        serialize_key("yaml", "x", where="M.k")


def test_registry_of_callables() -> None:
    assert set(KEY_SERIALIZERS) == {"string", "json", "bytes"}
    assert KEY_SERIALIZERS["string"]("a") == b"a"


@pytest.mark.parametrize(
    ("value", "schema", "datum"),
    [
        ("ORD-1", "string", "ORD-1"),
        (Color.RED, "string", "red"),
        (42, "long", 42),
        (Level.HIGH, "long", 3),
        (True, "boolean", True),
        (2.5, "double", 2.5),
        (b"\x01", "bytes", b"\x01"),
        (UID, {"type": "string", "logicalType": "uuid"}, str(UID)),
    ],
)
def test_avro_key_schemas(value: object, schema: str | dict[str, str], datum: object) -> None:
    assert avro_key(value, where="M.k") == (schema, datum)


def test_avro_key_errors_name_the_field() -> None:
    with pytest.raises(SerializationError, match=r"M\.k: key_serializer 'avro' supports"):
        avro_key({"a": 1}, where="M.k")
    with pytest.raises(SerializationError, match="does not fit an Avro long"):
        avro_key(2**63, where="M.k")
