"""The vectorised decoder (``read_vector``) takes a row only with fastavro's exact values.

For any body, a row it marks good has exactly fastavro's values (floats by their bits, ints
exactly, strings, nulls where null; timestamps as the longs the columns hold, enums as their
symbols), and the per-row column decoder accepts the same body with the same values; its frame
arrays equal ``build_column``'s from the per-row decoder's lists, dtype included. Any body
fastavro or the per-row decoder refuses, or that is unusual (bool 2, a bad index), is marked
bad, so the caller decodes (and reports) it the usual way.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import fastavro
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowodm.pandas.read_columns import FieldColumn, build_column, epoch_datetimes, epoch_longs
from flowodm.pandas.read_vector import VectorDecoder, vector_decoder
from flowodm.pandas.read_vector_run import Run, column_array
from flowodm.serde._decodegen import compile_column_decoder
from tests.serde.decoding import FAST, assert_identical, parse, reference
from tests.serde.test_encoder_identity import INT, LONG, VARINT_EDGES

SYMBOLS = ["A", "B", "C"]
SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "R",
    "fields": [
        {"name": "s", "type": "string"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "d", "type": "double"},
        {"name": "f", "type": "float"},
        {"name": "b", "type": "boolean"},
        {"name": "ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": SYMBOLS}},
        {"name": "ns", "type": ["null", "string"]},
        {"name": "nl", "type": ["long", "null"]},
        {"name": "nd", "type": ["null", "double"]},
        {"name": "nf", "type": ["float", "null"]},
        {"name": "nb", "type": ["null", "boolean"]},
        {"name": "nms", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
        {"name": "ne", "type": ["null", "E"]},  # a second field of one Enum: by name
    ],
}
_KINDS = {"s": "str", "i": "int", "l": "int", "d": "float", "f": "float", "b": "bool"}
_KINDS |= {"ms": "datetime", "us": "datetime", "e": "category", "ns": "str", "nl": "int"}
_KINDS |= {"nd": "float", "nf": "float", "nb": "bool", "nms": "datetime", "ne": "category"}
# Category order unlike the symbols': codes are mapped, not copied.
FIELDS = {
    name: FieldColumn(name, kind, name.startswith("n"), ("C", "A", "B") if "e" in name else ())  # type: ignore[arg-type]
    for name, kind in _KINDS.items()
}
PARSED, NAMED = parse(SCHEMA)
NAMES, DECODE_INTO, UNITS = compile_column_decoder(PARSED, NAMED)
HEAD = b"\x00\x00\x00\x00\x07"

# Timestamps: fastavro writes a long as it is; out of datetime's range it cannot read it back.
STAMP = st.one_of(st.integers(-(10**15), 10**15), LONG)
ROWS = st.fixed_dictionaries(
    {
        "s": st.text(max_size=30),
        "i": st.one_of(INT, st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31)])),
        "l": st.one_of(LONG, st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63)])),
        "d": st.floats(),
        "f": st.floats(width=32),
        "b": st.booleans(),
        "ms": STAMP,
        "us": STAMP,
        "e": st.sampled_from(SYMBOLS),
        "ns": st.one_of(st.none(), st.text(max_size=10)),
        "nl": st.one_of(st.none(), LONG),
        "nd": st.one_of(st.none(), st.floats()),
        "nf": st.one_of(st.none(), st.floats(width=32)),
        "nb": st.one_of(st.none(), st.booleans()),
        "nms": st.one_of(st.none(), STAMP),
        "ne": st.one_of(st.none(), st.sampled_from(SYMBOLS)),
    }
)


def decoder() -> VectorDecoder:
    found = vector_decoder(SCHEMA, FIELDS, UNITS)
    assert found is not None
    return found


def encode(row: dict[str, Any]) -> bytes:
    stream = io.BytesIO()
    fastavro.schemaless_writer(stream, PARSED, row)
    return stream.getvalue()


def cells(run: Run, row: int) -> list[Any]:
    """Row ``row`` of a run as the per-row column decoder holds it (enums as symbols)."""
    out: list[Any] = []
    for name, column in zip(NAMES, run.columns, strict=True):
        value = column.values[row]
        if isinstance(column.values, np.ndarray):
            value = value.item()
            if FIELDS[name].dtype == "category":
                value = None if value == -1 else FIELDS[name].categories[value]
            elif column.mask is not None and column.mask[row]:
                value = None
        else:
            value = value.as_py()
        out.append(value)
    return out


def expected(body: bytes) -> list[Any] | None:
    """fastavro's cells of ``body`` (timestamps as longs), or ``None`` if it refuses it.

    A body the per-row decoder also takes (it defers odd ones to fastavro) gives the same.
    """
    try:
        datum = reference(SCHEMA, body)
        want = [epoch_longs(v, UNITS[i]) if i in UNITS else v for i, v in enumerate(datum.values())]
    except Exception:  # any refusal (a datetime out of range too): left to the usual path
        return None
    lists: list[list[Any]] = [[] for _ in NAMES]
    try:
        DECODE_INTO(body, lists)
    except Exception:  # an over-long varint, say: fastavro's value is the one
        pass
    else:
        assert_identical([column[0] for column in lists], want)
    return want


def check(bodies: list[bytes]) -> list[bool]:
    """Decode ``bodies`` framed at once; every good row is exactly fastavro's; return ``good``."""
    good, run = decoder().decode([HEAD + body for body in bodies], HEAD)
    for row, body in enumerate(bodies):
        want = expected(body)
        if good[row]:
            assert want is not None, f"row {row} taken, but refused by fastavro: {body!r}"
            assert_identical(cells(run, row), want)
    return [bool(ok) for ok in good]


@FAST
@given(st.lists(ROWS, min_size=1, max_size=8))
def test_every_row_fastavro_reads_back_is_taken_with_its_exact_values(
    rows: list[dict[str, Any]],
) -> None:
    bodies = [encode(row) for row in rows]
    good = check(bodies)
    assert good == [expected(body) is not None for body in bodies]


@FAST
@given(st.lists(ROWS, min_size=1, max_size=4), st.data())
def test_a_damaged_body_is_taken_only_when_it_still_decodes_the_same(
    rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    bodies = []
    for row in rows:
        body = bytearray(encode(row))
        at = data.draw(st.integers(0, len(body)))
        damage = data.draw(st.sampled_from(["cut", "add", "flip", "drop"]))
        if damage == "cut":
            del body[at:]
        elif damage == "add":
            body.insert(at, data.draw(st.integers(0, 255)))
        elif at < len(body):
            if damage == "flip":
                body[at] ^= data.draw(st.integers(1, 255))
            else:
                del body[at]
        bodies.append(bytes(body))
    check(bodies)


@FAST
@given(st.lists(ROWS, min_size=1, max_size=6))
def test_the_frame_arrays_equal_build_columns_from_the_per_row_lists(
    rows: list[dict[str, Any]],
) -> None:
    values = [HEAD + encode(row) for row in rows]
    good, run = decoder().decode(values, HEAD)
    kept = [v for v, ok in zip(values, good, strict=True) if ok]
    lists: list[list[Any]] = [[] for _ in NAMES]
    for value in kept:
        DECODE_INTO(value, lists, len(HEAD))
    rows_taken = np.flatnonzero(good)
    for position, name in enumerate(NAMES):
        field, unit = FIELDS[name], UNITS.get(position)
        pieces = [run.slice(int(r), int(r) + 1).columns[position] for r in rows_taken]
        want = build_column(field, lists[position]) if unit is None else None
        if unit is not None:
            want = epoch_datetimes(lists[position], unit)
        if not pieces:
            continue
        got = column_array(field, unit, pieces)
        pd.testing.assert_series_equal(pd.Series(got), pd.Series(want), check_exact=True)


ZERO = encode(
    {
        "s": "",
        "i": 0,
        "l": 0,
        "d": 0.0,
        "f": 0.0,
        "b": False,
        "ms": 0,
        "us": 0,
        "e": "A",
        "ns": None,
        "nl": None,
        "nd": None,
        "nf": None,
        "nb": None,
        "nms": None,
        "ne": None,
    }
)
# Offsets of fields in ZERO: s=0 i=1 l=2 d=3..10 f=11..14 b=15 ms=16 us=17 e=18 ns=19 nl=20 ...
MALFORMED = {
    "truncated": ZERO[:-1],
    "trailing byte": ZERO + b"\x00",
    "empty": b"",
    "varint of 11 bytes": ZERO[:2] + b"\x80" * 10 + b"\x00" + ZERO[3:],
    "varint over 64 bits": ZERO[:2] + b"\xff" * 9 + b"\x02" + ZERO[3:],
    "negative string length": b"\x01" + ZERO[1:],
    "string past the body": b"\x7e" + ZERO[1:],
    "invalid UTF-8": b"\x02\xff" + ZERO[1:],
    "UTF-8 surrogate": b"\x06\xed\xa0\x80" + ZERO[1:],
    "boolean 2": ZERO[:15] + b"\x02" + ZERO[16:],
    "enum index 3": ZERO[:18] + b"\x06" + ZERO[19:],
    "enum index -1": ZERO[:18] + b"\x01" + ZERO[19:],
    "union index 2": ZERO[:19] + b"\x04" + ZERO[20:],
    "union index -1": ZERO[:20] + b"\x01" + ZERO[21:],
    "timestamp past year 9999": ZERO[:16] + b"\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01" + ZERO[17:],
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_bodies_are_never_taken(body: bytes) -> None:
    assert check([ZERO, body, ZERO]) == [True, False, True]


def test_edge_values_and_ten_byte_varints_are_taken() -> None:
    longs = [(z >> 1) ^ -(z & 1) for z in VARINT_EDGES]
    row = dict(reference(SCHEMA, ZERO), ms=0, us=0, nms=None)
    bodies = [encode(dict(row, l=v, nl=v, s="ü€𝄞" * 3, ns="")) for v in longs]
    bodies += [encode(dict(row, d=v, nd=v, f=v, nf=v)) for v in (float("nan"), float("inf"))]
    bodies += [encode(dict(row, d=-0.0, f=-0.0, b=True, nb=False))]
    bodies += [encode(dict(row, e=s, ne=s)) for s in SYMBOLS]
    assert all(check(bodies))
    assert struct.pack("<d", -0.0) in b"".join(bodies)


def test_values_of_another_header_or_none_are_not_taken() -> None:
    values: list[bytes | None] = [HEAD + ZERO, b"\x00\x00\x00\x00\x08" + ZERO, None, HEAD[:3]]
    good, _ = decoder().decode(values, HEAD)
    assert good.tolist() == [True, False, False, False]
    bare, _ = decoder().decode([ZERO, None, ZERO], b"")
    assert bare.tolist() == [True, False, True]


@pytest.mark.parametrize(
    "avro",
    [
        "bytes",
        {"type": "array", "items": "long"},
        {"type": "map", "values": "long"},
        {"type": "record", "name": "In", "fields": [{"name": "x", "type": "long"}]},
        {"type": "string", "logicalType": "uuid"},
        {"type": "fixed", "name": "F", "size": 2},
        ["null", "long", "string"],
        "R",  # a record referred to by name
    ],
)
def test_other_types_are_left_to_the_per_row_decoder(avro: Any) -> None:
    schema = dict(SCHEMA, fields=[*SCHEMA["fields"], {"name": "x", "type": avro}])
    fields = dict(FIELDS, x=FieldColumn("x", "int", False))
    assert vector_decoder(schema, fields, UNITS) is None


def test_a_column_of_another_kind_is_left_to_the_per_row_decoder() -> None:
    fields = dict(FIELDS, l=FieldColumn("l", "str", False))
    assert vector_decoder(SCHEMA, fields, UNITS) is None
    fields = dict(FIELDS, e=FieldColumn("e", "category", False, ("A", "B")))  # no "C"
    assert vector_decoder(SCHEMA, fields, UNITS) is None
