"""The schema-specialised decoder must return exactly fastavro's values, or raise.

The reference is ``fastavro.schemaless_reader(BytesIO(body), parsed, None,
return_record_name=True, return_record_name_override=True)`` that consumes the whole body. Values
are compared with their types (``assert_identical``): ``1`` is not ``True`` nor ``1.0``, a naive
datetime is not an aware one, ``Decimal("1.0")`` is not ``Decimal("1.00")``, floats are compared
by their bits. Where fastavro fails (or leaves bytes over) the decoder must raise; where fastavro
succeeds on bytes no writer produces, the decoder may also raise (the codec then asks fastavro).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import fastavro
import pytest
from hypothesis import event, given, reject, settings
from hypothesis import strategies as st

from flowodm.exceptions import DeserializationError
from flowodm.pandas.read_columns import epoch_longs
from flowodm.schema import DatumConverter, build_avro_schema
from flowodm.serde._decodegen import (
    Malformed,
    Unsupported,
    compile_column_decoder,
)
from flowodm.serde.avro import AvroCodec
from tests.schema.zoo import Everything, everything
from tests.serde.decoding import (
    FAST,
    ORDERS,
    assert_identical,
    check_body,
    decoder,
    has_endless_arrays,
    order_rows,
    parse,
    reference,
)
from tests.serde.test_encoder_identity import (
    LOGICAL,
    LONG,
    ORDER_SCHEMA,
    REFUSED,
    VARINT_EDGES,
    fastavro_bytes,
    schema_and_values,
)


@pytest.mark.parametrize(
    ("got", "want"),
    [
        (1, True),
        (1.0, 1),
        (0.0, -0.0),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ([1], (1,)),
        (Decimal("1.0"), Decimal("1.00")),
        (dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
        (
            dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(0), "Z")),
            dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        ),
        (dt.date(2020, 1, 1), dt.datetime(2020, 1, 1)),
        ("1", b"1"),
    ],
)
def test_the_comparison_tells_types_apart(got: Any, want: Any) -> None:
    with pytest.raises(AssertionError):
        assert_identical(got, want)


@FAST
@given(st.data())
def test_random_schemas_decode_identically(data: st.DataObject) -> None:
    schema, values = data.draw(schema_and_values())
    try:
        body = fastavro_bytes(schema, data.draw(values))
    except REFUSED:
        reject()
    assert check_body(schema, body) == "identical"  # what a writer wrote must never defer


@FAST
@given(st.data())
def test_corrupted_bytes_never_decode_differently(data: st.DataObject) -> None:
    schema, values = data.draw(schema_and_values())
    parsed, named = parse(schema)
    if has_endless_arrays(parsed, named):
        reject()  # a huge count of zero-size items: fastavro would build a huge list
    try:
        body = bytearray(fastavro_bytes(schema, data.draw(values)))
    except REFUSED:
        reject()
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(0, len(body)))
        how = data.draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        byte = data.draw(st.integers(0, 255))
        if how == "set" and where < len(body):
            body[where] = byte
        elif how == "insert":
            body.insert(where, byte)
        elif how == "delete" and where < len(body):
            del body[where]
        else:
            del body[where:]
    event(check_body(schema, bytes(body)))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_every_truncation_and_any_trailing_byte_raises(data: st.DataObject) -> None:
    schema, values = data.draw(schema_and_values())
    try:
        body = fastavro_bytes(schema, data.draw(values))
    except REFUSED:
        reject()
    for end in range(len(body)):
        assert check_body(schema, body[:end]) == "fastavro fails"
    assert check_body(schema, body + bytes([data.draw(st.integers(0, 255))])) == "fastavro fails"


def test_trailing_bytes_and_bad_data_are_fastavros_errors_in_the_codec() -> None:
    long_codec = AvroCodec("long")
    decode = long_codec.specialised_decoder
    assert decode is not None
    assert decode(b"\x02") == 1
    with pytest.raises(Malformed):
        decode(b"\x02\x00")
    with pytest.raises(DeserializationError, match="1 trailing bytes"):
        long_codec.decode(b"\x02\x00")
    with pytest.raises(DeserializationError, match="cannot decode 1 bytes"):
        long_codec.decode(b"\x80")


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("string", b"\x04\xff\xfe"),
        ("string", b"\x06\xed\xa0\x80"),  # an encoded surrogate
        ({"type": "map", "values": "long"}, b"\x02\x02\xc3\x02\x00"),  # the key
        (["null", "string"], b"\x02\x02\x80"),
    ],
)
def test_invalid_utf8_raises(schema: Any, body: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        decoder(schema)(body)
    with pytest.raises(UnicodeDecodeError):
        reference(schema, body)
    with pytest.raises(DeserializationError, match="utf-8"):
        AvroCodec(schema).decode(body)


def _unzigzag(z: int) -> int:
    return (z >> 1) ^ -(z & 1)


@pytest.mark.parametrize("zigzag", VARINT_EDGES)
def test_longs_at_varint_edges(zigzag: int) -> None:
    value = _unzigzag(zigzag)
    for schema, datum in [
        ("long", value),
        (["null", "long"], value),
        ({"type": "array", "items": "long"}, [value, value]),
        ({"type": "map", "values": "long"}, {"k" * (zigzag % 300): value}),
    ]:
        body = fastavro_bytes(schema, datum)
        assert_identical(decoder(schema)(body), datum)
        assert check_body(schema, body) == "identical"
    assert value in (-(2**63), 2**63 - 1) or -(2**63) < value < 2**63 - 1


@pytest.mark.parametrize(
    ("body", "fastavro_value"),
    [
        (b"\xff" * 9 + b"\x03", -(2**63)),  # 65 bits: fastavro drops the top one
        (b"\x80" * 10 + b"\x00", 0),  # 11 bytes
        (b"\x82\x00", 1),  # over-long but in 64 bits: taken
    ],
)
def test_over_long_varints_go_to_fastavro(body: bytes, fastavro_value: int) -> None:
    assert reference("long", body) == fastavro_value
    if len(body) > 2:
        with pytest.raises(Malformed):
            decoder("long")(body)
    else:
        assert decoder("long")(body) == fastavro_value
    assert AvroCodec("long").decode(body) == fastavro_value


@pytest.mark.parametrize(("logical", "values"), LOGICAL)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_logical_type_decodes_identically(
    logical: dict[str, Any], values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    datum = data.draw(values)
    body = fastavro_bytes(logical, datum)
    got = decoder(logical)(body)
    assert_identical(got, reference(logical, body))


_RAW_LOGICAL = [
    {"type": "long", "logicalType": "timestamp-millis"},
    {"type": "long", "logicalType": "timestamp-micros"},
    {"type": "long", "logicalType": "local-timestamp-millis"},
    {"type": "long", "logicalType": "local-timestamp-micros"},
    {"type": "int", "logicalType": "date"},
    {"type": "int", "logicalType": "time-millis"},
    {"type": "long", "logicalType": "time-micros"},
]


@pytest.mark.parametrize("logical", _RAW_LOGICAL)
@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(
        LONG,
        st.integers(-(10**15), 10**15),
        st.integers(-100_000, 100_000_000_000),
        st.sampled_from([-(2**63), 2**63 - 1, -1, 0, 86_399_999, 86_400_000, 86_399_999_999]),
        # the datetime range's ends, in days, ms and µs
        st.sampled_from([-719162, 2932896, 2932897, -62135596800000, 253402300799999]),
        st.sampled_from([-62135596800000000, 253402300799999999, 253402300800000000]),
    )
)
def test_logical_types_of_any_raw_value_match_fastavro(logical: dict[str, Any], raw: int) -> None:
    """Odd values too: fastavro turns some (negative times) into values and others into errors."""
    body = fastavro_bytes(logical["type"], raw)
    try:
        want = reference(logical, body)
    except (ValueError, OverflowError):  # out of the range of Python's types
        with pytest.raises(Exception):  # noqa: B017 - any error is a correct refusal
            decoder(logical)(body)
        return
    assert_identical(decoder(logical)(body), want)


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        (
            {"type": "bytes", "logicalType": "decimal", "precision": 3, "scale": 1},
            b"\x06\x00\x30\x39",
        ),
        ({"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2}, b"\x00"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 0}, b"\x04\xff\x38"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 5}, b"\x02\x85"),
        (
            {
                "type": "fixed",
                "name": "D",
                "size": 4,
                "logicalType": "decimal",
                "precision": 9,
                "scale": 2,
            },
            b"\xff\xff\xfb\x2e",
        ),
        (
            {
                "type": "fixed",
                "name": "D",
                "size": 2,
                "logicalType": "decimal",
                "precision": 2,
                "scale": 2,
            },
            b"\x27\x10",
        ),
        ({"type": "string", "logicalType": "uuid"}, b"\x40" + b"12345678123456781234567812345678"),
        ({"type": "string", "logicalType": "uuid"}, b"\x08abcd"),
        ({"type": "long", "logicalType": "unknown-to-fastavro"}, b"\x06"),
        ({"type": "int", "logicalType": "timestamp-millis"}, b"\x06"),  # not a fastavro pair
        ({"type": "bytes", "logicalType": ""}, b"\x02a"),
    ],
)
def test_decimals_uuids_and_unknown_logical_types(schema: Any, body: bytes) -> None:
    """Decimals are rounded to the precision as fastavro does; a bad uuid is fastavro's error."""
    try:
        want = reference(schema, body)
    except ValueError:
        with pytest.raises(ValueError):
            decoder(schema)(body)
        return
    assert_identical(decoder(schema)(body), want)


def test_a_decimal_with_more_digits_than_its_precision_is_rounded_like_fastavro() -> None:
    schema = {"type": "bytes", "logicalType": "decimal", "precision": 3, "scale": 1}
    got = decoder(schema)(b"\x04\x30\x39")  # 12345 unscaled
    assert_identical(got, Decimal("1.23E+3"))


def test_registered_logical_readers_are_called_like_fastavro_calls_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readers = fastavro.read.LOGICAL_READERS
    monkeypatch.setitem(
        readers, "long-cents", lambda data, w, r: ("cents", data, w["logicalType"], r)
    )
    monkeypatch.setitem(readers, "long-timestamp-millis", lambda data, w, r: ("replaced", data))
    monkeypatch.setitem(readers, "record-point", lambda data, w, r: (data["x"], data["y"]))
    point = {
        "type": "record",
        "name": "P",
        "logicalType": "point",
        "fields": [{"name": "x", "type": "long"}, {"name": "y", "type": "long"}],
    }
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "c", "type": {"type": "long", "logicalType": "cents"}},
            {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "p", "type": point},
            {"name": "q", "type": ["null", "P"]},
        ],
    }
    body = b"\x04\x06\x02\x04\x02\x06\x08"
    want = {"c": ("cents", 2, "cents", None), "t": ("replaced", 3), "p": (1, 2), "q": (3, 4)}
    assert reference(schema, body) == want
    assert_identical(decoder(schema)(body), want)
    assert_identical(decoder(point)(b"\x02\x04"), (1, 2))
    with pytest.raises(Unsupported):  # its value is not a dict of columns
        compile_column_decoder(*parse(point))


E = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
FX = {"type": "fixed", "name": "FX", "size": 1}
R1 = {"type": "record", "name": "ns.R1", "fields": []}
R2 = {"type": "record", "name": "R2", "namespace": "q", "fields": []}
ERR = {"type": "error", "name": "Err", "fields": []}


def _top(*types: Any) -> dict[str, Any]:
    fields = [{"name": f"f{i}", "type": t} for i, t in enumerate(types)]
    return {"type": "record", "name": "Top", "fields": fields}


# fastavro's return_record_name(_override) rule, as it stands (fastavro 1.13): pinned here.
@pytest.mark.parametrize(
    ("schema", "body", "want"),
    [
        (_top(["null", R1]), b"\x02", {"f0": {}}),  # one record: plain
        (_top([R1]), b"\x00", {"f0": {}}),
        (_top([R1, "string"]), b"\x00", {"f0": {}}),
        (_top([R1, R2]), b"\x00", {"f0": ("ns.R1", {})}),
        (_top([R1, R2]), b"\x02", {"f0": ("q.R2", {})}),
        (_top(R1, ["null", "ns.R1"]), b"\x02", {"f0": {}, "f1": {}}),
        (_top(R1, [R2, "ns.R1"]), b"\x02", {"f0": {}, "f1": ("ns.R1", {})}),
        (_top([E, R1, R2]), b"\x00\x02", {"f0": "B"}),  # a defined enum: plain
        (_top([FX, R1, R2]), b"\x00\x05", {"f0": b"\x05"}),
        (_top([E, FX]), b"\x00\x02", {"f0": "B"}),
        # Named types referred to by name count as records, and come back tagged.
        (
            _top(E, FX, ["null", "E", "FX"]),
            b"\x02\x07\x02\x02",
            {"f0": "B", "f1": b"\x07", "f2": ("E", "B")},
        ),
        (
            _top(E, FX, ["null", "E", "FX"]),
            b"\x02\x07\x04\x09",
            {"f0": "B", "f1": b"\x07", "f2": ("FX", b"\t")},
        ),
        (_top(E, ["E"]), b"\x00\x00\x02", {"f0": "A", "f1": "B"}),
        (_top(E, ["E", FX]), b"\x00\x00\x02", {"f0": "A", "f1": "B"}),
        (_top(E, ["E", R1]), b"\x00\x00\x02", {"f0": "A", "f1": ("E", "B")}),
        (_top(E, ["E", R1]), b"\x00\x02", {"f0": "A", "f1": ("ns.R1", {})}),
        (
            _top(E, {"type": "array", "items": ["null", "E", R1]}),
            b"\x00\x04\x02\x02\x04\x00",
            {"f0": "A", "f1": [("E", "B"), ("ns.R1", {})]},
        ),
        (_top([ERR, R1]), b"\x00", {"f0": {}}),  # an error is no record here
        (_top([ERR, R1, R2]), b"\x00", {"f0": {}}),
        (_top(ERR, ["Err", R1]), b"\x00", {"f0": {}, "f1": ("Err", {})}),
    ],
)
def test_union_values_are_tagged_as_fastavro_tags_them(schema: Any, body: bytes, want: Any) -> None:
    assert reference(schema, body) == want
    assert_identical(decoder(schema)(body), want)
    assert check_body(schema, body) == "identical"


@pytest.mark.parametrize(
    ("schema", "body", "want"),
    [
        ({"type": "array", "items": "long"}, b"\x03\x04\x02\x04\x00", [1, 2]),  # sized block
        ({"type": "array", "items": "long"}, b"\x02\x02\x04\x01\x04\x00", [1, -1, 2]),  # 2 blocks
        ({"type": "map", "values": "long"}, b"\x01\x06\x02a\x02\x00", {"a": 1}),
        ({"type": "map", "values": "long"}, b"\x04\x02a\x02\x02a\x04\x00", {"a": 2}),  # last wins
        ("boolean", b"\x05", True),  # any non-zero byte, as fastavro reads it
        ("boolean", b"\x00", False),
        ({"type": "fixed", "name": "F0", "size": 0}, b"", b""),
        ({"type": "array", "items": "null"}, b"\x06\x00", [None, None, None]),
    ],
)
def test_blocks_booleans_and_odd_encodings(schema: Any, body: bytes, want: Any) -> None:
    assert_identical(reference(schema, body), want)
    assert_identical(decoder(schema)(body), want)


@pytest.mark.parametrize(
    "body",
    [
        b"\x01",  # enum index -1: fastavro wraps around to the last symbol
        b"\x80\x00",  # index 0, over-long
        b"\x04",  # no such symbol
    ],
)
def test_odd_enum_indexes_go_to_fastavro(body: bytes) -> None:
    enum = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
    with pytest.raises(KeyError):
        decoder(enum)(body)
    try:
        want = reference(enum, body)
    except IndexError:
        with pytest.raises(DeserializationError):
            AvroCodec(enum).decode(body)
    else:
        assert AvroCodec(enum).decode(body) == want


def test_big_enums_and_unions_have_multi_byte_indexes() -> None:
    symbols = [f"S{i}" for i in range(200)]
    enum = {"type": "enum", "name": "Big", "symbols": symbols}
    union = ["null", *({"type": "fixed", "name": f"F{i}", "size": 1} for i in range(99))]
    for index in (0, 63, 64, 199):
        body = fastavro_bytes(enum, symbols[index])
        assert check_body(enum, body) == "identical"
    for index in (0, 63, 64, 98):
        body = fastavro_bytes(union, (f"F{index}", b"z"))
        assert check_body(union, body) == "identical"
        assert decoder(union)(body) == b"z"  # defined in place: not tagged


def test_recursive_and_deeply_nested_schemas() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "value", "type": "long"},
            {"name": "next", "type": ["null", "Node"]},
            {"name": "kids", "type": {"type": "array", "items": "Node"}},
        ],
    }
    leaf: dict[str, Any] = {"value": 0, "next": None, "kids": []}
    datum: dict[str, Any] = leaf
    for value in range(1, 60):
        datum = {"value": value, "next": datum, "kids": [leaf, dict(leaf, kids=[leaf])]}
    assert check_body(node, fastavro_bytes(node, datum)) == "identical"
    deep: Any = "string"
    nested: Any = "x"
    for level in range(30):  # deeper than one function may nest loops
        deep = {"type": "array", "items": deep} if level % 3 else {"type": "map", "values": deep}
        nested = [nested] if level % 3 else {"k": nested, "": nested}
    assert check_body(deep, fastavro_bytes(deep, nested)) == "identical"


def test_a_decimal_without_precision_is_left_to_fastavro() -> None:
    schema = {"type": "bytes", "logicalType": "decimal"}
    with pytest.raises(Unsupported):
        decoder(schema)
    with pytest.raises(KeyError):  # fastavro cannot read it either
        reference(schema, b"\x02\x01")


@settings(max_examples=300, deadline=None)
@given(datum=ORDERS)
def test_order_like_records_decode_identically_in_every_shape(datum: dict[str, Any]) -> None:
    body = fastavro_bytes(ORDER_SCHEMA, datum)
    assert check_body(ORDER_SCHEMA, body) == "identical"
    codec = AvroCodec(ORDER_SCHEMA)
    assert_identical(codec.decode(body), reference(ORDER_SCHEMA, body))
    assert codec.column_decoder is not None
    names, decode_into, _ = codec.column_decoder
    columns: list[list[Any]] = [[] for _ in names]
    for _ in range(3):
        decode_into(body, columns)
    assert [len(c) for c in columns] == [3] * len(names)


def test_columns_accumulate_rows_and_refuse_a_wrong_number_of_columns() -> None:
    codec = AvroCodec(ORDER_SCHEMA)
    assert codec.column_decoder is not None
    names, decode_into, units = codec.column_decoder
    rows = order_rows(20)
    bodies = [codec.encode(row) for row in rows]
    columns: list[list[Any]] = [[] for _ in names]
    for body in bodies:
        decode_into(body, columns)
    assert units, "the order schema has a timestamp column"
    for position, (name, column) in enumerate(zip(names, columns, strict=True)):
        decoded = [codec.decode(body)[name] for body in bodies]
        if position in units:
            decoded = [epoch_longs(value, units[position]) for value in decoded]
        assert_identical(column, decoded)
    short: list[list[Any]] = [[] for _ in names[1:]]
    with pytest.raises(ValueError):
        decode_into(bodies[0], short)
    assert short == [[] for _ in names[1:]]


def test_the_model_with_every_type_decodes_identically() -> None:
    schema = build_avro_schema(Everything, namespace="ns")
    body = AvroCodec(schema).encode(DatumConverter(Everything, schema).to_datum(everything()))
    assert check_body(schema, body) == "identical"


def test_the_codec_uses_the_decoder_and_fastavro_only_when_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = AvroCodec(ORDER_SCHEMA)
    plain = AvroCodec(ORDER_SCHEMA, specialise=False)
    assert plain.specialised_decoder is None and plain.column_decoder is None
    datum = order_rows(1)[0]
    body = fastavro_bytes(ORDER_SCHEMA, datum)
    want = plain.decode(body)
    calls: list[Any] = []
    reader = fastavro.schemaless_reader

    def counting_reader(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return reader(*args, **kwargs)

    monkeypatch.setattr(fastavro, "schemaless_reader", counting_reader)
    assert_identical(codec.decode(body), want)
    assert_identical(codec.decode(body, writer_schema=dict(ORDER_SCHEMA)), want)
    assert not calls  # neither went to fastavro
    not_bytes: Any = bytearray(body)
    assert_identical(codec.decode(not_bytes), want)  # not bytes: fastavro's
    with pytest.raises(DeserializationError):
        codec.decode(body[:-1])
    assert len(calls) == 2
    # Another writer schema: fastavro resolves it onto this one.
    writer = {"type": "record", "name": "W", "fields": [{"name": "quantity", "type": "int"}]}
    reader_schema = {
        "type": "record",
        "name": "W",
        "fields": [{"name": "quantity", "type": "long"}],
    }
    assert AvroCodec(reader_schema).decode(b"\x06", writer_schema=writer) == {"quantity": 3}
    assert len(calls) == 3
    assert AvroCodec("long").column_decoder is None  # not a record


@pytest.mark.parametrize("unit", ["millis", "micros"])
def test_timestamp_columns_hold_longs_and_refuse_what_fastavro_refuses(unit: str) -> None:
    logical = {"type": "long", "logicalType": f"timestamp-{unit}"}
    schema = {
        "type": "record",
        "name": "Stamped",
        "fields": [
            {"name": "at", "type": logical},
            {"name": "maybe", "type": ["null", logical], "default": None},
        ],
    }
    as_longs = {
        "type": "record",
        "name": "Stamped",
        "fields": [
            {"name": "at", "type": "long"},
            {"name": "maybe", "type": ["null", "long"], "default": None},
        ],
    }
    step = 1000 if unit == "millis" else 1_000_000
    last = 253402300800 * step - 1  # 9999-12-31T23:59:59.999(999)
    first = -62135596800 * step  # 0001-01-01T00:00:00
    for at, maybe in [(last, None), (first, last), (-1, 0)]:
        body = fastavro_bytes(as_longs, {"at": at, "maybe": maybe})
        assert check_body(schema, body) == "identical"
    for at, maybe in [(last + 1, None), (first - 1, None), (0, last + 1), (0, first - 1)]:
        body = fastavro_bytes(as_longs, {"at": at, "maybe": maybe})
        assert check_body(schema, body) == "fastavro fails"
    parsed, named = parse(schema)
    short = {"millis": "ms", "micros": "us"}[unit]
    assert compile_column_decoder(parsed, named).epoch_units == {0: short, 1: short}
