"""Decode a run of Avro bodies of one flat schema at once: field by field, across all bodies.

``read_topic``'s columnar path decodes a value at a time in Python (``_decodegen``), about
1.6 µs per order-like row. Here a whole run of values is joined into one numpy buffer with a
cursor per row, and each field is read for every row in a few array operations: zig-zag
varints over at most 10 byte positions, floats gathered and viewed, strings gathered into a
pyarrow array. No Python object is made per value.

Only flat records are taken: ``int``/``long`` (timestamp-millis/-micros too, kept as longs),
``float``/``double``, ``boolean``, ``string``, ``enum``, and ``[null, X]``/``[X, null]`` of
those (``vector_decoder`` returns ``None`` for anything else, and for a model whose columns do
not match). A row is only taken when its body is exactly what the per-row decoder accepts and
fastavro decodes to the same values: any row with a truncated or over-long body, a bad varint,
a negative or oversized length, a bad enum or union index, a boolean byte other than 0 or 1,
an out-of-range timestamp or invalid UTF-8 is flagged, and the caller decodes it the usual way
(which reports it, or decodes what fastavro accepts).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from flowodm.pandas.read_columns import FieldColumn
from flowodm.pandas.read_vector_run import Column, Run
from flowodm.serde._decodegen import _EPOCH_RANGE

__all__ = ["VectorDecoder", "vector_decoder"]

Array = np.ndarray[Any, Any]

# Past the last body: a varint or float read at any clamped cursor stays inside the buffer.
_PAD = bytes(16)
_SPAN = np.arange(10, dtype=np.int64)
_SHIFTS = (7 * np.arange(10)).astype(np.uint64)
_BASES = {"int": "long", "long": "long", "float": "float", "double": "double"}
_BASES |= {"boolean": "boolean", "string": "string"}
# The Avro base type each column kind takes.
_KINDS = {"int": ("long",), "float": ("float", "double"), "bool": ("boolean",)}
_KINDS |= {"str": ("string",), "datetime": ("long",), "category": ("enum",)}


@dataclass(frozen=True, slots=True)
class _Field:
    """How one top-level field is read: its base type, union shape and value conversion."""

    base: str  # long, float, double, boolean, string or enum
    union: int | None  # the branch index of the value in a [null, X] union, else None
    low: int | None = None  # a timestamp's valid range (fastavro's datetime range)
    high: int | None = None
    codes: Array | None = None  # enum index -> category code


def vector_decoder(
    schema: Any, fields: dict[str, FieldColumn], epoch_units: dict[int, str]
) -> VectorDecoder | None:
    """The vectorised decoder of ``schema`` (the model's unparsed record), or ``None``.

    ``fields`` are the model's columns by name and ``epoch_units`` the column decoder's
    timestamp columns; the decoder is only made when every field reads into its column.
    """
    if not isinstance(schema, dict) or schema.get("type") != "record" or "logicalType" in schema:
        return None
    plans: list[_Field] = []
    enums: dict[str, Any] = {}  # enums defined so far, by name and full name
    for index, field in enumerate(schema.get("fields", ())):
        column = fields.get(field.get("name"))
        avro = _named(field["type"], enums, schema.get("namespace"))
        plan = None if column is None else _field(avro, column, epoch_units.get(index))
        if plan is None:
            return None
        plans.append(plan)
    return VectorDecoder(plans) if plans else None


def _named(avro: Any, enums: dict[str, Any], namespace: Any) -> Any:
    """``avro`` with a reference to an enum defined before replaced by its definition.

    Records its own enum definitions in ``enums``: a model with two fields of one ``Enum``
    refers to it by name the second time.
    """
    if isinstance(avro, list):
        return [_named(branch, enums, namespace) for branch in avro]
    if isinstance(avro, str):
        return enums.get(avro, avro)
    if isinstance(avro, dict) and avro.get("type") == "enum" and isinstance(avro.get("name"), str):
        name, space = avro["name"], avro.get("namespace", namespace)
        enums[name] = avro
        if "." not in name and space:
            enums[f"{space}.{name}"] = avro
    return avro


def _field(avro: Any, column: FieldColumn, unit: str | None) -> _Field | None:
    union = None
    if isinstance(avro, list):
        if len(avro) != 2 or "null" not in avro or not column.nullable:
            return None
        union = 1 - avro.index("null")
        avro = avro[union]
    elif column.nullable:
        return None
    base, logical, symbols = avro, None, None
    if isinstance(avro, dict):
        base, logical = avro.get("type"), avro.get("logicalType")
        if base == "enum":
            symbols = avro.get("symbols")
        elif base not in _BASES:
            return None
    base = _BASES.get(base, base)
    if base not in _KINDS.get(column.dtype, ()):
        return None
    if column.dtype == "datetime":
        if unit is None or logical != f"timestamp-{'millis' if unit == 'ms' else 'micros'}":
            return None
        low, high = _EPOCH_RANGE[unit]
        return _Field(base, union, low, high)
    if logical is not None or unit is not None:
        return None  # a logical type fastavro converts: the per-row decoder's job
    if base == "enum":
        code_of = {value: code for code, value in enumerate(column.categories)}
        if not isinstance(symbols, list) or not all(s in code_of for s in symbols):
            return None
        return _Field(base, union, codes=np.array([code_of[s] for s in symbols], np.int32))
    return _Field(base, union)


class VectorDecoder:
    """Decodes many bodies of one flat record schema at once (module docstring)."""

    def __init__(self, fields: list[_Field]) -> None:
        self._fields = fields

    def decode(self, values: Sequence[bytes | None], head: bytes) -> tuple[Array, Run]:
        """Decode every value (``head`` then a body); return which rows are good, and the run.

        A row is good only if it starts with ``head`` and its body decodes exactly (module
        docstring); the run's columns hold every row, the bad ones' cells being meaningless.
        ``None`` values are bad rows.
        """
        count = len(values)
        absent = None
        if None in values:
            absent = np.fromiter((v is None for v in values), np.bool_, count)
            values = [b"" if v is None else v for v in values]
        lengths = np.fromiter(map(len, values), np.int64, count)  # type: ignore[arg-type]
        ends = np.cumsum(lengths)
        starts = ends - lengths
        joined = b"".join(itertools.chain(values, (_PAD,)))  # type: ignore[arg-type]
        buf = np.frombuffer(joined, np.uint8)
        good = lengths >= len(head)
        if absent is not None:
            good &= ~absent
        for k, byte in enumerate(head):
            good &= buf[starts + k] == byte
        pos = starts + len(head)
        columns = [self._column(f, buf, pos, ends, good) for f in self._fields]
        good &= pos == ends
        return good, Run(count, columns)

    def _column(self, field: _Field, buf: Array, pos: Array, ends: Array, good: Array) -> Column:
        """Read ``field`` for every row at ``pos`` (advanced in place), clearing bad rows."""
        present: Array | None = None
        at = pos
        if field.union is not None:
            branch, after, bad = _varint(buf, pos, ends)
            present = branch == 2 * field.union
            good &= ~bad & (present | (branch == 2 * (1 - field.union)))
            pos[:] = np.where(good, after, pos)
            rows = np.flatnonzero(present)
            at = pos[rows]
        values, after, bad = _read(field, buf, at, ends if present is None else ends[rows])
        if present is None:
            good &= ~bad
            pos[:] = np.minimum(after, ends)
            return Column(values, None)
        good[rows] &= ~bad
        pos[rows] = np.minimum(after, ends[rows])
        return _spread(field, values, rows, present)


def _read(field: _Field, buf: Array, pos: Array, ends: Array) -> tuple[Any, Array, Array]:
    """``field``'s base values at ``pos``: (values, positions after, bad rows)."""
    base = field.base
    if base in ("double", "float"):
        size = 8 if base == "double" else 4
        raw = buf[pos[:, None] + _SPAN[:size]]
        floats = raw.view("<f8" if size == 8 else "<f4")[:, 0].astype(np.float64)
        return floats, pos + size, pos + size > ends
    if base == "boolean":
        byte = buf[pos]
        return byte == 1, pos + 1, (byte > 1) | (pos + 1 > ends)
    raw, after, bad = _varint(buf, pos, ends)
    if base == "string":
        return _strings(buf, raw, after, ends, bad)
    longs = ((raw >> np.uint64(1)) ^ (np.uint64(0) - (raw & np.uint64(1)))).view(np.int64)
    if base == "enum":
        codes = field.codes
        assert codes is not None
        bad |= (longs < 0) | (longs >= len(codes))
        return codes[np.where(bad, 0, longs)], after, bad
    if field.low is not None and field.high is not None:
        bad |= (longs < field.low) | (longs > field.high)
    return longs, after, bad


def _varint(buf: Array, pos: Array, ends: Array) -> tuple[Array, Array, Array]:
    """The raw (zig-zagged) varints at ``pos``: (uint64 values, positions after, bad rows).

    Bad: no end within 10 bytes, more than 64 bits, or past the body's end.
    """
    first = buf[pos]
    if not (first & 0x80).any():  # every varint one byte: the common case of small values
        return first.astype(np.uint64), pos + 1, pos + 1 > ends
    raw = buf[pos[:, None] + _SPAN]
    done = raw < 0x80
    last = done.argmax(axis=1)
    digits = (raw & 0x7F).astype(np.uint64) << _SHIFTS
    digits[_SPAN[None, :] > last[:, None]] = 0
    after = pos + last + 1
    bad = ~done.any(axis=1) | ((last == 9) & (raw[:, 9] > 1)) | (after > ends)
    return digits.sum(axis=1, dtype=np.uint64), after, bad


def _strings(
    buf: Array, raw: Array, after: Array, ends: Array, bad: Array
) -> tuple[pa.LargeStringArray, Array, Array]:
    """The strings whose raw length varints end at ``after``; invalid UTF-8 rows are bad."""
    room = np.maximum(ends - after, 0).astype(np.uint64)
    bad |= ((raw & np.uint64(1)) != 0) | ((raw >> np.uint64(1)) > room)
    sizes = np.where(bad, 0, raw >> np.uint64(1)).astype(np.int64)
    offsets = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    data = buf[np.repeat(after - offsets[:-1], sizes) + np.arange(offsets[-1])]
    array = _string_array(len(sizes), offsets, data)
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        bad |= _invalid_utf8(offsets, data)
        sizes[bad] = 0
        offsets[1:] = np.cumsum(sizes)
        data = buf[np.repeat(after - offsets[:-1], sizes) + np.arange(offsets[-1])]
        array = _string_array(len(sizes), offsets, data)
    return array, after + sizes, bad


def _string_array(
    count: int, offsets: Array, data: Array, valid: Array | None = None
) -> pa.LargeStringArray:
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = 0 if valid is None else count - int(valid.sum())
    buffers = [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.large_string(), count, buffers, null_count=nulls)


def _invalid_utf8(offsets: Array, data: Array) -> Array:
    """Per row, whether its bytes are not UTF-8 (the rare path: a run that has such a row)."""
    blob = data.tobytes()
    bad = np.zeros(len(offsets) - 1, np.bool_)
    for row, (start, stop) in enumerate(itertools.pairwise(offsets.tolist())):
        try:
            blob[start:stop].decode()
        except UnicodeDecodeError:
            bad[row] = True
    return bad


def _spread(field: _Field, values: Any, rows: Array, present: Array) -> Column:
    """The column of all rows from the values of the ``rows`` where the union is not null."""
    count = len(present)
    if isinstance(values, pa.LargeStringArray):
        sizes = np.zeros(count, np.int64)
        sizes[rows] = np.diff(np.frombuffer(values.buffers()[1], np.int64)[: len(rows) + 1])
        offsets = np.zeros(count + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        data = np.frombuffer(values.buffers()[2] or b"", np.uint8)[: offsets[-1]]
        return Column(_string_array(count, offsets, data, present), None)
    if field.base == "enum":
        codes = np.full(count, -1, np.int32)
        codes[rows] = values
        return Column(codes, None)
    full = np.zeros(count, values.dtype)
    full[rows] = values
    return Column(full, ~present)
