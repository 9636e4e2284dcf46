"""The schema-specialised encoder and the codec must write exactly fastavro's bytes.

The reference is fastavro under FlowODM's writing rule (``flowodm.serde._unions``,
docs/avro-mapping.md): every field without a default present, no extra fields, and a union
branch chosen as fastavro's ``write_union`` chooses it with strict validation. Plain fastavro is
laxer (it fills a missing nullable field with ``None`` and drops extra fields).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
import struct
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import fastavro
import pytest
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

from flowodm.exceptions import SerializationError
from flowodm.schema import DatumConverter, build_avro_schema
from flowodm.serde._codegen import Fallback, compile_encoder
from flowodm.serde._unions import has_union
from flowodm.serde.avro import AvroCodec
from tests.schema.zoo import Everything, everything

LONG = st.integers(-(2**63), 2**63 - 1)
INT = st.integers(-(2**31), 2**31 - 1)
AWARE = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)
PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": INT,
    "long": LONG,
    "float": st.floats(width=32),
    "double": st.floats(),
    "bytes": st.binary(max_size=300),
    "string": st.text(max_size=300),
}
LOGICAL: list[tuple[dict[str, Any], st.SearchStrategy[Any]]] = [
    ({"type": "long", "logicalType": "timestamp-millis"}, AWARE),
    ({"type": "long", "logicalType": "timestamp-micros"}, AWARE),
    ({"type": "long", "logicalType": "local-timestamp-millis"}, st.datetimes()),
    ({"type": "long", "logicalType": "local-timestamp-micros"}, st.datetimes()),
    ({"type": "int", "logicalType": "date"}, st.dates()),
    ({"type": "int", "logicalType": "time-millis"}, st.times()),
    ({"type": "long", "logicalType": "time-micros"}, st.times()),
    ({"type": "string", "logicalType": "uuid"}, st.uuids()),
    (
        {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3},
        st.decimals(min_value=-(10**9) + 1, max_value=10**9 - 1, places=3),
    ),
    (
        {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 0},
        st.decimals(min_value=-(10**20) + 1, max_value=10**20 - 1, places=0),
    ),
]
# How fastavro refuses a datum. Anything else it raises is not a refusal and fails the test.
REFUSED = (ValueError, TypeError, OverflowError)


def fastavro_bytes(schema: Any, datum: Any, **options: bool) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), datum, **options)
    return buffer.getvalue()


def expected_bytes(schema: Any, datum: Any) -> bytes | None:
    """fastavro's bytes for ``datum`` under FlowODM's rule; ``None`` when fastavro refuses it.

    For a datum that has all its fields (every generated one) the rule is exactly fastavro's
    ``strict=True``. A datum that leaves fields to their defaults is written with
    ``strict_allow_default=True`` (fastavro's own branch choice, enough for the hand-written
    cases here; a datum needing both has its own test below).
    """
    for options in ({"strict": True}, {"strict_allow_default": True}):
        try:
            return fastavro_bytes(schema, datum, **options)
        except REFUSED:
            continue
    return None


@st.composite
def schema_and_values(
    draw: st.DrawFn, depth: int = 0, names: Iterator[int] | None = None, union: bool = True
) -> tuple[Any, st.SearchStrategy[Any]]:
    """A random Avro schema and a strategy for datums valid under it.

    Named types are numbered per example (``names``), so an example depends on nothing but
    Hypothesis's choices, not on how many examples ran before it. ``union=False``: not a union
    itself (a union's branch).
    """
    names = itertools.count() if names is None else names
    kinds = ["primitive", "logical", "enum", "fixed"]
    if depth < 3:
        kinds += ["array", "map", "record", "record", *(["union", "union"] if union else [])]
    kind = draw(st.sampled_from(kinds))
    if kind == "primitive":
        name = draw(st.sampled_from(sorted(PRIMITIVES)))
        return name, PRIMITIVES[name]
    if kind == "logical":
        logical, strategy = draw(st.sampled_from(LOGICAL))
        return logical, strategy
    if kind == "enum":
        symbols = draw(
            st.lists(
                st.from_regex(r"[A-Z][a-z0-9_]{0,5}", fullmatch=True),
                min_size=1,
                max_size=5,
                unique=True,
            )
        )
        return {"type": "enum", "name": f"E{next(names)}", "symbols": symbols}, st.sampled_from(
            symbols
        )
    if kind == "fixed":
        size = draw(st.integers(0, 20))
        schema = {"type": "fixed", "name": f"F{next(names)}", "size": size}
        return schema, st.binary(min_size=size, max_size=size)
    if kind == "array":
        items, values = draw(schema_and_values(depth + 1, names))
        return {"type": "array", "items": items}, st.lists(values, max_size=4)
    if kind == "map":
        inner, values = draw(schema_and_values(depth + 1, names))
        return {"type": "map", "values": inner}, st.dictionaries(
            st.text(max_size=10), values, max_size=4
        )
    if kind == "record":
        count = draw(st.integers(0, 4))
        parts = [draw(schema_and_values(depth + 1, names)) for _ in range(count)]
        fields = [{"name": f"f{i}", "type": s} for i, (s, _) in enumerate(parts)]
        schema = {"type": "record", "name": f"R{next(names)}", "fields": fields}
        return schema, st.fixed_dictionaries({f"f{i}": v for i, (_, v) in enumerate(parts)})
    return draw(union_and_values(depth, names))


def _union_key(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    return (
        str(schema["name"])
        if schema["type"] in ("record", "enum", "fixed")
        else str(schema["type"])
    )


def tagged(name: str, value: Any) -> tuple[str, Any]:
    """fastavro tuple notation: ``(record name, value)``."""
    return (name, value)


@st.composite
def union_and_values(
    draw: st.DrawFn, depth: int, names: Iterator[int]
) -> tuple[Any, st.SearchStrategy[Any]]:
    branches: list[Any] = []
    strategies: list[st.SearchStrategy[Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        schema, values = draw(schema_and_values(depth + 1, names, union=False))
        if _union_key(schema) in {_union_key(b) for b in branches}:
            continue
        branches.append(schema)
        # Tuple notation (as DatumConverter writes it) for records; fastavro's validator does
        # not accept it for enums/fixed inside an untagged outer union.
        if isinstance(schema, dict) and schema["type"] == "record":
            values = st.one_of(values, values.map(functools.partial(tagged, schema["name"])))
        strategies.append(values)
    return branches, st.one_of(strategies)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_schemas_encode_byte_identical(data: st.DataObject) -> None:
    schema, values = data.draw(schema_and_values())
    named: dict[str, Any] = {}
    encoder = compile_encoder(fastavro.parse_schema(schema, named_schemas=named), named)
    datum = data.draw(values)
    expected = expected_bytes(schema, datum)
    if expected is None:  # fastavro refuses it: so must the fast path (or defer to fastavro)
        with pytest.raises(Exception):  # noqa: B017 - any error is a correct refusal
            encoder(datum)
        reject()
    try:
        got = encoder(datum)
    except Fallback:
        event("fast path: Fallback")
        return  # the codec re-encodes with fastavro; checked in the codec test below
    event("fast path: encoded")
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_codec_always_matches_fastavro(data: st.DataObject) -> None:
    schema, values = data.draw(schema_and_values())
    datum = data.draw(values)
    expected = expected_bytes(schema, datum)
    codecs = [AvroCodec(schema), AvroCodec(schema, specialise=False)]
    if expected is None:
        for codec in codecs:
            with pytest.raises(SerializationError):
                codec.encode(datum)
        reject()
    for codec in codecs:
        assert codec.encode(datum) == expected


# Zig-zagged values at every varint length boundary (7-bit groups) and table edge (14 bits),
# each with its neighbours.
_EDGES = (0, 127, 128, 8191, 8192, 16383, 16384, *(2**k for k in range(21, 64, 7)), 2**64 - 1)
VARINT_EDGES = sorted({z + d for z in _EDGES for d in (-1, 0, 1) if 0 <= z + d < 2**64})


def _unzigzag(z: int) -> int:
    """The long whose zig-zag encoding is ``z``."""
    return (z >> 1) ^ -(z & 1)


def _compiled(schema: Any) -> Any:
    named: dict[str, Any] = {}
    return compile_encoder(fastavro.parse_schema(schema, named_schemas=named), named)


@pytest.mark.parametrize("zigzag", VARINT_EDGES)
def test_longs_at_varint_edges_match_fastavro(zigzag: int) -> None:
    value = _unzigzag(zigzag)
    assert (value << 1) ^ (value >> 63) == zigzag  # the edge is really hit
    assert _compiled("long")(value) == fastavro_bytes("long", value)
    assert _compiled(["null", "long"])(value) == fastavro_bytes(["null", "long"], value)


@pytest.mark.parametrize("length", [0, 63, 64, 4095, 4096, 8191, 8192, 8193, 2**20 + 3])
def test_lengths_at_varint_edges_match_fastavro(length: int) -> None:
    text, items = "x" * length, list(range(length % 9000))
    assert _compiled("string")(text) == fastavro_bytes("string", text)
    array = {"type": "array", "items": "long"}
    assert _compiled(array)(items) == fastavro_bytes(array, items)


def test_timestamps_millis_and_micros_match_fastavro() -> None:
    moments = [
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 17, 12, 30, 1, 234000, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    ]
    for unit in ("millis", "micros"):
        schema = {"type": "long", "logicalType": f"timestamp-{unit}"}
        encoder = _compiled(schema)
        for moment in moments:
            assert encoder(moment) == fastavro_bytes(schema, moment), (unit, moment)


ORDER_SCHEMA = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "order_id", "type": "string"},
        {"name": "customer_id", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "quantity", "type": "long"},
        {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "status", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "mix", "type": ["null", "int", "float", "long", "double", "string", "boolean"]},
        {"name": "tags", "type": {"type": "array", "items": ["string", "null"]}},
        {
            "name": "money",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
        },
        {"name": "ident", "type": {"type": "string", "logicalType": "uuid"}},
    ],
}

MIX = st.one_of(st.none(), st.booleans(), LONG, st.floats(), st.text(max_size=20))


@settings(max_examples=300, deadline=None)
@given(
    order_id=st.uuids().map(str),
    customer_id=st.text(max_size=40),
    amount=st.floats(allow_nan=False),
    quantity=LONG,
    created_at=st.one_of(AWARE, st.integers(-(2**50), 2**50)),
    status=st.sampled_from(["NEW", "PAID"]),
    note=st.one_of(st.none(), st.text(max_size=50)),
    mix=MIX,
    tags=st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=5),
    money=st.decimals(min_value=-9999999, max_value=9999999, places=2),
    ident=st.one_of(st.uuids(), st.uuids().map(str)),
)
def test_order_like_records_take_the_fast_path_and_match(**datum: Any) -> None:
    named: dict[str, Any] = {}
    encoder = compile_encoder(fastavro.parse_schema(ORDER_SCHEMA, named_schemas=named), named)
    assert encoder(datum) == fastavro_bytes(ORDER_SCHEMA, datum)  # no Fallback allowed here


def test_model_with_every_type_takes_the_fast_path() -> None:
    schema = build_avro_schema(Everything, namespace="ns")
    datum = DatumConverter(Everything, schema).to_datum(everything())
    named: dict[str, Any] = {}
    encoder = compile_encoder(fastavro.parse_schema(schema, named_schemas=named), named)
    assert encoder(datum) == fastavro_bytes(schema, datum)


@pytest.mark.parametrize(
    ("schema", "datum"),
    [
        ("long", True),  # bool is not an exact int: fastavro decides
        ("long", 2**63),  # out of range
        ("string", b"bytes"),
        ("double", "1.5"),
        (
            {
                "type": "record",
                "name": "R",
                "fields": [{"name": "a", "type": "long", "default": 1}],
            },
            {},
        ),
        ({"type": "array", "items": "long"}, (1, 2)),
        (["null", "string", "long"], 1.5),
        ({"type": "long", "logicalType": "timestamp-millis"}, "2024-01-01"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 3, "scale": 1}, Decimal("123.4")),
        ({"type": "string", "logicalType": "uuid"}, UUID(int=5).bytes),
    ],
)
def test_unusual_values_defer_to_fastavro(schema: Any, datum: Any) -> None:
    named: dict[str, Any] = {}
    encoder = compile_encoder(fastavro.parse_schema(schema, named_schemas=named), named)
    with pytest.raises((Fallback, struct.error)):
        encoder(datum)
    codec = AvroCodec(schema)
    expected = expected_bytes(schema, datum)
    if expected is None:
        with pytest.raises(SerializationError):
            codec.encode(datum)
    else:
        assert codec.encode(datum) == expected


# Found by the random-schema test: fastavro's write_union validated {} against R1659 without
# strictness (f0 counted as None) and picked it; the strict write then failed. Plain fastavro
# writes R1659 with f0 filled in. {} is exactly an R1660.
ISSUE_SCHEMA = {
    "type": "array",
    "items": [
        {"type": "record", "name": "R1659", "fields": [{"name": "f0", "type": "null"}]},
        {"type": "record", "name": "R1660", "fields": []},
    ],
}


def test_a_record_branch_lacking_a_field_is_not_chosen() -> None:
    assert fastavro_bytes(ISSUE_SCHEMA, [{}]) == b"\x02\x00\x00"  # plain: R1659, f0 = null
    assert expected_bytes(ISSUE_SCHEMA, [{}]) == b"\x02\x02\x00"  # one item, branch 1, end
    assert fastavro_bytes(ISSUE_SCHEMA, [("R1660", {})]) == b"\x02\x02\x00"
    with pytest.raises(Fallback):  # an untagged record in a multi-record union
        _compiled(ISSUE_SCHEMA)([{}])
    for specialise in (True, False):
        codec = AvroCodec(ISSUE_SCHEMA, specialise=specialise)
        assert codec.encode([{}]) == b"\x02\x02\x00"
        assert codec.decode(b"\x02\x02\x00") == [("R1660", {})]
        with pytest.raises(SerializationError):  # tagged as the branch it lacks a field of
            codec.encode([("R1659", {})])


@pytest.mark.parametrize(
    ("schema", "datum", "plain"),
    [
        ({"type": "record", "name": "R", "fields": [{"name": "f0", "type": "null"}]}, {}, b""),
        (
            {"type": "record", "name": "R", "fields": [{"name": "f0", "type": ["null", "long"]}]},
            {},
            b"\x00",
        ),
        ({"type": "record", "name": "R", "fields": []}, {"extra": 1}, b""),
    ],
)
def test_missing_nullable_and_extra_fields_are_errors(
    schema: Any, datum: Any, plain: bytes
) -> None:
    assert fastavro_bytes(schema, datum) == plain  # plain fastavro fills in or drops silently
    assert expected_bytes(schema, datum) is None
    for specialise in (True, False):
        with pytest.raises(SerializationError):
            AvroCodec(schema, specialise=specialise).encode(datum)


def _record(name: str, *fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


def test_union_choice_skips_incomplete_branches_and_counts_defaults() -> None:
    # {"a": 1} lacks R1's b (no default), so R2 is chosen, with c written as its default.
    schema = [
        _record("R1", {"name": "a", "type": "long"}, {"name": "b", "type": ["null", "long"]}),
        _record("R2", {"name": "a", "type": "long"}, {"name": "c", "type": "long", "default": 5}),
    ]
    assert fastavro_bytes(schema, {"a": 1}) == b"\x00\x02\x00"  # plain: R1, b = null
    want = fastavro_bytes(schema, ("R2", {"a": 1}), strict_allow_default=True)
    assert want == b"\x02\x02\x0a"  # branch 1, a = 1, c = 5
    for specialise in (True, False):
        codec = AvroCodec(schema, specialise=specialise)
        assert codec.encode({"a": 1}) == want
        assert codec.encode({"a": 1, "b": 2}) == b"\x00\x02\x02\x04"  # complete for R1: R1


def test_union_choice_inside_maps_and_recursive_records() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "next", "type": ["null", "Node"]},
            {"name": "m", "type": {"type": "map", "values": ISSUE_SCHEMA["items"]}},
        ],
    }
    datum: dict[str, Any] = {"next": {"next": None, "m": {"k": {}}}, "m": {}}
    want = b"\x02\x00\x02\x02k\x02\x00\x00"  # Node, m: one entry "k" -> branch 1 (R1660)
    assert fastavro_bytes(node, datum, strict=True) == want
    for specialise in (True, False):
        assert AvroCodec(node, specialise=specialise).encode(datum) == want


def test_schemas_without_unions_skip_the_retry() -> None:
    tree = {
        "type": "record",
        "name": "Tree",
        "fields": [{"name": "kids", "type": {"type": "array", "items": "Tree"}}],
    }
    named: dict[str, Any] = {}
    assert not has_union(fastavro.parse_schema(tree, named_schemas=named), named)
    named = {}
    assert has_union(fastavro.parse_schema(ISSUE_SCHEMA, named_schemas=named), named)
    with pytest.raises(SerializationError):
        AvroCodec(tree).encode({"kids": [{}]})
