"""Shared checks of the decoder tests: fastavro's reference value, a typed comparison, strategies.

``check_body`` is the one property every decoder test states: for any body, the generated dict
and column decoders return exactly fastavro's value, or raise; they raise whenever fastavro
fails or leaves bytes over, and the column decoder then appends nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from decimal import Decimal
from typing import Any
from uuid import UUID

import fastavro
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from flowodm.pandas.read_columns import epoch_longs
from flowodm.serde._decodegen import (
    RowsDecoder,
    Unsupported,
    compile_column_decoder,
    compile_decoder,
    compile_rows_decoder,
)
from tests.serde.test_encoder_identity import AWARE, LONG

__all__ = [
    "FAST",
    "ORDERS",
    "assert_identical",
    "check_body",
    "decoder",
    "has_endless_arrays",
    "order_rows",
    "parse",
    "reference",
]

FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(schema: Any) -> tuple[Any, dict[str, Any]]:
    named: dict[str, Any] = {}
    return fastavro.parse_schema(schema, named_schemas=named), named


def decoder(schema: Any) -> Any:
    return compile_decoder(*parse(schema))


def reference(schema: Any, body: bytes) -> Any:
    """fastavro's value for ``body``; raises (``EOFError`` for trailing bytes) as it fails."""
    stream = io.BytesIO(body)
    value = fastavro.schemaless_reader(
        stream, parse(schema)[0], None, return_record_name=True, return_record_name_override=True
    )
    if stream.tell() != len(body):
        raise EOFError("trailing bytes")
    return value


def assert_identical(got: Any, want: Any, path: str = "$") -> None:
    """Equal values of exactly the same types, all the way down."""
    assert type(got) is type(want), f"{path}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        for key in want:
            assert_identical(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list | tuple):
        assert len(got) == len(want), f"{path}: length {len(got)} != {len(want)}"
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_identical(a, b, f"{path}[{i}]")
    elif isinstance(want, float):
        assert struct.pack("<d", got) == struct.pack("<d", want), f"{path}: {got} != {want}"
    elif isinstance(want, Decimal):
        assert got.as_tuple() == want.as_tuple(), f"{path}: {got!r} != {want!r}"
    elif isinstance(want, dt.datetime | dt.time):
        assert (got, got.fold) == (want, want.fold), f"{path}: {got!r} != {want!r}"
        assert got.tzinfo is want.tzinfo, f"{path}: {got.tzinfo!r} is not {want.tzinfo!r}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def check_body(schema: Any, body: bytes) -> str:
    """Decode ``body`` with both decoders and fastavro; return what happened (for ``event``).

    Where fastavro fails the decoders must raise, and the column decoder append nothing.
    """
    parsed, named = parse(schema)
    decode = compile_decoder(parsed, named)
    is_record = isinstance(parsed, dict) and parsed["type"] == "record"
    columns = compile_column_decoder(parsed, named) if is_record else None
    rows = _rows_decoder(parsed, named) if is_record else None
    try:
        want = reference(schema, body)
    except Exception:  # any failure of fastavro's is one the decoders share
        with pytest.raises(Exception):  # noqa: B017 - any error is a correct refusal
            decode(body)
        if columns is not None and rows is not None:
            lists: list[list[Any]] = [[] for _ in columns[0]]
            with pytest.raises(Exception):  # noqa: B017
                columns[1](body, lists)
            assert rows([body, body], lists, 0, b"") == 0  # stops at the body, appends nothing
            assert lists == [[] for _ in columns[0]]
        return "fastavro fails"
    try:
        got = decode(body)
    except Exception:  # allowed for bytes no writer produces; see the module doc
        return "decoder defers"
    assert_identical(got, want)
    if columns is not None:
        names, decode_into, units = columns
        lists = [[] for _ in names]
        decode_into(body, lists)
        decode_into(b"\0" * 5 + body, lists, 5)  # a framed value, read in place
        assert names == list(want)
        # Timestamp columns hold the longs fastavro's datetimes stand for.
        expected = [
            epoch_longs(value, units[i]) if i in units else value
            for i, value in enumerate(want.values())
        ]
        for row in (0, 1):
            assert_identical([column[row] for column in lists], expected)
        assert all(len(column) == 2 for column in lists)
    if rows is not None:
        # Many values per call, each after the header; it stops at the first it does not take.
        head = b"\0\0\0\0\1"
        values: list[Any] = [head + body, head + body, b"\0\0\0\0\2" + body, head + body]
        lists = [[] for _ in want]
        assert rows(values, lists, 0, head) == 2
        assert rows(values, lists, 3, head) == 4
        assert rows([body, None, body], lists, 0, b"") == 1
        assert all(len(column) == 4 for column in lists)
        for row in range(4):
            assert_identical([column[row] for column in lists], expected)
    return "identical"


def _rows_decoder(parsed: Any, named: dict[str, Any]) -> RowsDecoder | None:
    """The rows decoder, or ``None`` for a schema too deep for it (decoded one by one)."""
    try:
        return compile_rows_decoder(parsed, named)
    except Unsupported:
        return None


def _zero_size(schema: Any, named: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``schema`` can be encoded in no bytes (an array of such is endless to fuzz)."""
    if isinstance(schema, str):
        if schema in named and schema not in seen:
            return _zero_size(named[schema], named, seen | {schema})
        return schema == "null"
    if isinstance(schema, list):
        return False
    kind: str = schema["type"]
    if kind == "fixed":
        return int(schema["size"]) == 0
    if kind == "record":
        return all(_zero_size(f["type"], named, seen) for f in schema["fields"])
    return kind == "null"


def has_endless_arrays(schema: Any, named: dict[str, Any]) -> bool:
    """Whether ``schema`` has an array of zero-size items: fuzzed counts could be endless."""
    text = repr(schema)
    if "'array'" not in text:
        return False
    stack, seen = [schema], set()
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack += item
        elif isinstance(item, str):
            if item in named and item not in seen:
                seen.add(item)
                stack.append(named[item])
        elif isinstance(item, dict):
            if item["type"] == "array" and _zero_size(item["items"], named):
                return True
            stack += [item.get("items"), item.get("values")]
            stack += [f["type"] for f in item.get("fields", [])]
    return False


ORDERS = st.fixed_dictionaries(
    {
        "order_id": st.uuids().map(str),
        "customer_id": st.text(max_size=40),
        "amount": st.floats(),
        "quantity": LONG,
        "created_at": st.one_of(AWARE, st.integers(-(2**40), 2**40)),
        "status": st.sampled_from(["NEW", "PAID"]),
        "note": st.one_of(st.none(), st.text(max_size=50)),
        "mix": st.one_of(st.none(), st.booleans(), LONG, st.floats(), st.text(max_size=20)),
        "tags": st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=5),
        "money": st.decimals(min_value=-9999999, max_value=9999999, places=2),
        "ident": st.uuids(),
    }
)


def order_rows(count: int) -> list[dict[str, Any]]:
    """``count`` deterministic datums of ``ORDER_SCHEMA`` covering each ``mix`` branch."""
    return [
        {
            "order_id": str(UUID(int=i)),
            "customer_id": f"C{i}",
            "amount": i / 4,
            "quantity": i,
            "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=i),
            "status": "NEW",
            "note": None if i % 2 else "n",
            "mix": [None, True, i, 1.5, "s"][i % 5],
            "tags": ["a", None][: i % 3],
            "money": Decimal(i).scaleb(-2),
            "ident": UUID(int=i),
        }
        for i in range(20)
    ]
