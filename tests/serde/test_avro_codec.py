"""AvroCodec: encode/decode, schema resolution, error reporting, fallback and thread safety."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from flowodm.exceptions import DeserializationError, SchemaGenerationError, SerializationError
from flowodm.schema import DatumConverter, build_avro_schema
from flowodm.serde.avro import AvroCodec
from tests.schema.zoo import Everything, everything

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "qty", "type": "long"},
        {
            "name": "line",
            "type": {
                "type": "record",
                "name": "Line",
                "fields": [{"name": "price", "type": "double"}],
            },
        },
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
DATUM = {"id": "o-1", "qty": 3, "line": {"price": 1.5}, "note": None}


def test_round_trip_and_encode_many() -> None:
    codec = AvroCodec(ORDER)
    assert codec.specialised
    body = codec.encode(DATUM)
    assert codec.decode(body) == DATUM
    assert codec.encode_many([DATUM, {**DATUM, "note": "x"}]) == [
        body,
        codec.encode({**DATUM, "note": "x"}),
    ]


def test_fastavro_only_codec_writes_the_same_bytes() -> None:
    assert AvroCodec(ORDER, specialise=False).encode(DATUM) == AvroCodec(ORDER).encode(DATUM)


def test_missing_field_with_default_is_filled() -> None:
    partial = {k: v for k, v in DATUM.items() if k != "note"}
    assert AvroCodec(ORDER).decode(AvroCodec(ORDER).encode(partial)) == DATUM


@pytest.mark.parametrize("specialise", [True, False])
@pytest.mark.parametrize(
    ("datum", "field", "fragment"),
    [
        ({**DATUM, "qty": "three"}, "qty", "qty"),
        ({**DATUM, "line": {"price": "cheap"}}, "Line.price", "price"),
        ({k: v for k, v in DATUM.items() if k != "id"}, None, "id"),
        ({**DATUM, "surprise": 1}, None, "surprise"),
    ],
)
def test_encode_errors_name_the_field(
    specialise: bool, datum: dict[str, Any], field: str | None, fragment: str
) -> None:
    with pytest.raises(SerializationError) as info:
        AvroCodec(ORDER, specialise=specialise).encode(datum)
    assert fragment in str(info.value)
    assert "shop.Order" in str(info.value)
    if field is not None:
        assert info.value.field == field


def test_invalid_schema_is_rejected() -> None:
    with pytest.raises(SchemaGenerationError, match="invalid Avro schema"):
        AvroCodec({"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]})


def test_unspecialised_constructs_still_work() -> None:
    schema = {
        "type": "record",
        "name": "Money",
        "fields": [
            {
                "name": "value",
                "type": {
                    "type": "fixed",
                    "name": "Dec",
                    "size": 8,
                    "logicalType": "decimal",
                    "precision": 10,
                    "scale": 2,
                },
            }
        ],
    }
    codec = AvroCodec(schema)
    assert not codec.specialised
    from decimal import Decimal

    assert codec.decode(codec.encode({"value": Decimal("12.34")})) == {"value": Decimal("12.34")}


def test_decode_errors() -> None:
    codec = AvroCodec(ORDER)
    body = codec.encode(DATUM)
    with pytest.raises(DeserializationError, match="cannot decode"):
        codec.decode(body[:-3])
    with pytest.raises(DeserializationError, match="2 trailing bytes"):
        codec.decode(body + b"\x00\x00")


def test_decode_with_an_incompatible_writer_schema() -> None:
    writer = {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [{"name": "x", "type": "long"}],
    }
    body = AvroCodec(writer).encode({"x": 1})
    with pytest.raises(DeserializationError, match="cannot decode"):
        AvroCodec(ORDER).decode(body, writer_schema=writer)
    with pytest.raises(DeserializationError, match="writer schema is not valid"):
        AvroCodec(ORDER).decode(body, writer_schema={"type": "nope"})


def test_writer_schema_equal_to_own_needs_no_resolution() -> None:
    codec = AvroCodec(ORDER)
    body = codec.encode(DATUM)
    copy = {**ORDER}
    assert codec.decode(body, writer_schema=copy) == DATUM
    assert codec.decode(body, writer_schema=copy) == DATUM  # cached by identity


def test_every_type_through_both_paths_in_threads() -> None:
    schema = build_avro_schema(Everything, namespace="ns")
    datum = DatumConverter(Everything, schema).to_datum(everything())
    fast, slow = AvroCodec(schema), AvroCodec(schema, specialise=False)
    expected = slow.encode(datum)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda codec: codec.encode(datum), [fast, slow] * 50))
    assert set(results) == {expected}


def test_raw_bodies_starting_with_zero_are_never_sniffed() -> None:
    # Upstream W1: a raw body whose first byte is 0x00 lost 5 bytes to header "detection".
    schema = {
        "type": "record",
        "name": "Z",
        "fields": [{"name": "n", "type": "long"}, {"name": "s", "type": "string"}],
    }
    codec = AvroCodec(schema)
    body = codec.encode({"n": 0, "s": "long enough text"})
    assert body[0] == 0 and len(body) > 5
    assert codec.decode(body) == {"n": 0, "s": "long enough text"}


def test_logical_values_have_the_expected_bytes() -> None:
    import datetime as dt
    from decimal import Decimal
    from uuid import UUID

    def field(avro: Any) -> dict[str, Any]:
        return {"type": "record", "name": "L", "fields": [{"name": "v", "type": avro}]}

    cases: list[tuple[Any, Any, bytes]] = [
        ({"type": "int", "logicalType": "date"}, dt.date(1970, 1, 11), b"\x14"),
        ({"type": "int", "logicalType": "date"}, dt.date(1969, 12, 31), b"\x01"),
        ({"type": "int", "logicalType": "time-millis"}, dt.time(0, 0, 1, 500_999), b"\xb8\x17"),
        (
            {"type": "long", "logicalType": "timestamp-millis"},
            dt.datetime(1970, 1, 1, 0, 0, 0, 1999, tzinfo=dt.UTC),
            b"\x02",
        ),
        (
            {"type": "string", "logicalType": "uuid"},
            UUID(int=1),
            b"\x48" + b"00000000-0000-0000-0000-000000000001",
        ),
        (
            {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2},
            Decimal("-1.28"),
            b"\x04\xff\x80",
        ),
        ("bytes", b"\x00\xff", b"\x04\x00\xff"),
    ]
    for avro, value, expected in cases:
        for specialise in (True, False):
            codec = AvroCodec(field(avro), specialise=specialise)
            assert codec.encode({"v": value}) == expected, (avro, value, specialise)
