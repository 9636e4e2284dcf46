"""A column-at-a-time Avro encoder for models made only of plain scalar fields.

For ``str``, ``int``, ``float``, ``bool``, ``datetime`` and ``str`` Enum fields (optional or
not), a chunk of rows is checked and encoded with numpy/pyarrow operations over whole columns,
and only the final bytes slice is per row. The output is byte-identical to the per-row path
(model → datum → Avro), which the tests check with hypothesis.

Validation stays honest: the columnar checks only *admit* rows they can prove pydantic would
accept unchanged (right dtype, no missing value in a required field, enum values in the symbol
set, ``ge``/``gt``/``le``/``lt`` and ``min_length``/``max_length`` constraints). Every other
row is handed back to the per-row path, where pydantic decides and explains. A model with
anything the checks cannot reproduce (validators, other constraints, strict mode, string
transformations, 32-bit floats …) never takes this path at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import annotated_types as at
import numpy as np
import pandas as pd
from pydantic import BaseModel

try:  # pyarrow comes with the pandas extra; without it rows simply take the per-row path
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only without pyarrow installed
    pa = pc = None

from flowodm.pandas.eligibility import (
    LENGTH_BOUNDS,
    TIME_UNITS,
    columnar_blocker,
    constraints,
    named_types,
)
from flowodm.pandas.fields import FrameField, frame_fields
from flowodm.pandas.segments import (
    Mask,
    Segment,
    assemble,
    constant,
    drop,
    fixed,
    select,
    varints,
)
from flowodm.schema.types import AvroType

__all__ = ["ColumnarEncoder", "ColumnarResult", "columnar_blocker"]


class _Unsupported(Exception):
    """Internal: this chunk's column cannot be checked columnar (fall back per row)."""


# ---------------------------------------------------------------------------- field encoders


@dataclass(slots=True)
class _Checked:
    """One column after its checks: which rows pass, which are null, and how to encode."""

    ok: Mask
    null: Mask
    encode: Callable[[], list[Segment]]


def _bounds_ok(values: np.ndarray[Any, Any], bounds: list[Any]) -> Mask:
    ok = np.ones(len(values), dtype=bool)
    for b in bounds:
        if isinstance(b, at.Ge):
            ok &= values >= b.ge
        elif isinstance(b, at.Gt):
            ok &= values > b.gt
        elif isinstance(b, at.Le):
            ok &= values <= b.le
        elif isinstance(b, at.Lt):
            ok &= values < b.lt
        elif isinstance(b, at.MinLen):
            ok &= values >= b.min_length
        else:
            ok &= values <= b.max_length
    return ok


class _Field:
    """Checks and encodes one model field from one frame column."""

    def __init__(self, field: FrameField, avro: Any, named: dict[str, Any]) -> None:
        self.field = field
        branches = avro if isinstance(avro, list) else [avro]
        self.null_index = branches.index("null") if "null" in branches else None
        self.value_index = next(i for i, b in enumerate(branches) if b != "null")
        value_type = branches[self.value_index]
        if isinstance(value_type, str) and value_type in named:
            value_type = named[value_type]
        self.avro = value_type
        self.bounds = [m for m in constraints(field) if not isinstance(m, AvroType)]
        if isinstance(value_type, dict) and value_type.get("type") == "enum":
            self.symbols: list[str] = list(value_type["symbols"])

    def check(self, series: pd.Series) -> _Checked:
        kind = self.field.kind
        if kind == "str":
            values, null, ok, encode = self._strings(series)
        elif kind == "enum":
            values, null, ok, encode = self._enum(series)
        elif kind == "datetime":
            values, null, ok, encode = self._datetimes(series)
        else:
            values, null, ok, encode = self._numbers(series, kind)
        if self.bounds:
            ok &= null | _bounds_ok(values, self.bounds)
        if self.null_index is None:
            ok &= ~null
        return _Checked(ok, null, lambda: self._with_branch(null, encode()))

    def all_null(self, rows: int) -> _Checked:
        """The column of a field absent from the frame whose default is ``None``."""
        null = np.ones(rows, dtype=bool)
        ok = null if self.null_index is not None else ~null
        return _Checked(ok, null, lambda: self._with_branch(null, []))

    def _with_branch(self, null: Mask, segments: list[Segment]) -> list[Segment]:
        present = ~null
        segments = [drop(s, present) for s in segments]
        if self.null_index is None:
            return segments
        index = np.where(null, self.null_index, self.value_index).astype(np.int64)
        return [varints(index), *segments]

    # Each _kind method returns (values to bound-check, null mask, ok mask, encoder).

    def _numbers(self, series: pd.Series, kind: str) -> tuple[Any, Mask, Mask, Any]:
        dtype = series.dtype
        rows = len(series)
        if kind == "bool":
            if dtype.kind != "b":
                raise _Unsupported(f"{dtype} for a bool field")
            flags = series.to_numpy(dtype=np.bool_, na_value=False).astype(np.uint8)
            null = series.isna().to_numpy()
            return None, null, np.ones(rows, bool), lambda: [fixed(flags[:, None])]
        if dtype.kind not in "iuf":
            raise _Unsupported(f"{dtype} for a {kind} field")
        if kind == "float":
            floats = series.to_numpy(dtype=np.float64, na_value=np.nan)
            null = np.isnan(floats)  # NaN is a missing value, like pd.NA
            return (
                floats,
                null,
                np.ones(rows, bool),
                lambda: [fixed(floats.astype("<f8").view(np.uint8).reshape(-1, 8))],
            )
        if dtype.kind == "f":  # an int field from floats: only exact integers within int64
            raw = series.to_numpy(dtype=np.float64, na_value=np.nan)
            null = np.isnan(raw)
            with np.errstate(invalid="ignore"):
                ok = null | (np.isfinite(raw) & (np.floor(raw) == raw) & (np.abs(raw) < 2.0**63))
            ints = np.where(ok & ~null, raw, 0).astype(np.int64)
        elif dtype.kind == "u":  # beyond int64: pydantic accepts it, Avro long cannot hold it
            null = series.isna().to_numpy()
            unsigned = series.to_numpy(dtype=np.uint64, na_value=0)
            ok = unsigned <= np.uint64(2**63 - 1)
            ints = np.where(ok, unsigned, 0).astype(np.int64)
        else:
            null = series.isna().to_numpy()
            ints = series.to_numpy(dtype=np.int64, na_value=0)
            ok = np.ones(rows, bool)
        return ints, null, ok, lambda: [varints(ints)]

    def _strings(self, series: pd.Series) -> tuple[Any, Mask, Mask, Any]:
        array = _arrow_strings(series)
        null = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        lengths = None
        if any(isinstance(b, LENGTH_BOUNDS) for b in self.bounds):
            lengths = pc.utf8_length(array).to_numpy(zero_copy_only=False)
            lengths = np.where(null, 0, lengths).astype(np.int64)
        filled = pc.fill_null(array, "") if array.null_count else array
        offsets = np.frombuffer(filled.buffers()[1], dtype=np.int64)[
            filled.offset : filled.offset + len(filled) + 1
        ]
        data = np.frombuffer(filled.buffers()[2], dtype=np.uint8)

        def encode() -> list[Segment]:
            sizes = np.diff(offsets)
            return [varints(sizes), (sizes, data[offsets[0] : offsets[-1]])]

        ok = np.ones(len(null), dtype=bool)
        return lengths, null, ok, encode

    def _enum(self, series: pd.Series) -> tuple[Any, Mask, Mask, Any]:
        if isinstance(series.dtype, pd.CategoricalDtype):
            categories = series.cat.categories
            if not all(type(c) is str for c in categories):
                raise _Unsupported("non-string categories")
            lookup = np.array([*(self._symbol(c) for c in categories), -1], dtype=np.int64)
            codes = lookup[series.cat.codes.to_numpy()]
        else:
            found = pc.index_in(_arrow_strings(series), value_set=pa.array(self.symbols))
            codes = pc.fill_null(found, -1).to_numpy().astype(np.int64)
        null = series.isna().to_numpy()
        ok = null | (codes >= 0)
        index = np.where(ok & ~null, codes, 0).astype(np.int64)
        return None, null, ok, lambda: [varints(index)]

    def _symbol(self, value: str) -> int:
        return self.symbols.index(value) if value in self.symbols else -1

    def _datetimes(self, series: pd.Series) -> tuple[Any, Mask, Mask, Any]:
        dtype = series.dtype
        if not (
            isinstance(dtype, pd.DatetimeTZDtype)
            or (isinstance(dtype, np.dtype) and dtype.kind == "M")
        ):
            raise _Unsupported(f"{dtype} for a datetime field")
        unit: str = series.dt.unit
        null = series.isna().to_numpy()
        # asi8 counts from the epoch in UTC for aware values and as if UTC for naive ones,
        # which is the core's rule (naive = UTC).
        raw = series.array.asi8
        per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
        target = TIME_UNITS[self.avro["logicalType"]]
        # Floor to microseconds first (what datetime keeps), then to the schema's unit.
        if per_second > 1_000_000:
            micros = np.floor_divide(raw, per_second // 1_000_000)
        else:
            micros = raw * (1_000_000 // per_second)
        ticks = np.floor_divide(micros, 1_000_000 // target)
        ok = null | ((micros >= _MIN_MICROS) & (micros <= _MAX_MICROS))
        ticks = np.where(ok & ~null, ticks, 0).astype(np.int64)
        return None, null, ok, lambda: [varints(ticks)]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MIN_MICROS = (dt.datetime(1, 1, 2, tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)
_MAX_MICROS = (dt.datetime(9999, 12, 30, tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)


def _arrow_strings(series: pd.Series) -> pa.Array:
    """The column as one Arrow ``large_string`` array, or ``_Unsupported`` if it is not text."""
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise _Unsupported(f"not text: {exc}") from None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_null(array.type):  # an object column holding only missing values
        array = pa.nulls(len(array), pa.large_string())
    if pa.types.is_string(array.type):
        array = array.cast(pa.large_string())
    if not pa.types.is_large_string(array.type):
        raise _Unsupported(f"column holds {array.type}, not text")
    return array


# ---------------------------------------------------------------------------- the encoder


@dataclass(frozen=True, slots=True)
class ColumnarResult:
    """A chunk after the columnar pass.

    Attributes:
        rows: Positions (0-based, in the chunk) of the rows encoded here.
        values: Their encoded values, header included, in the same order.
        rest: Positions of the rows left to the per-row path (they may be invalid).
    """

    rows: list[int]
    values: list[bytes]
    rest: list[int]


class ColumnarEncoder:
    """Check and encode whole chunks of a frame for one model and schema.

    Build it with ``ColumnarEncoder.build``; it is ``None`` when the model is not eligible.
    """

    def __init__(self, fields: list[tuple[FrameField, _Field]], header: bytes) -> None:
        self._fields = fields
        self._header = header

    @classmethod
    def build(
        cls, model: type[BaseModel], schema: dict[str, Any], header: bytes = b""
    ) -> ColumnarEncoder | None:
        """Compile an encoder for ``model`` writing ``schema``, or ``None`` if not eligible.

        Args:
            model: The model class rows must validate as.
            schema: Its Avro record schema (the one the per-row path writes).
            header: Bytes written before every value (the Confluent prefix, or nothing).
        """
        if columnar_blocker(model, schema) is not None:
            return None
        named = named_types(schema)
        avro = {f["name"]: f["type"] for f in schema["fields"]}
        by_name = {f.name: f for f in frame_fields(model)}
        ordered = [by_name[f["name"]] for f in schema["fields"]]
        return cls([(f, _Field(f, avro[f.name], named)) for f in ordered], header)

    def encode(self, columns: dict[str, pd.Series], rows: int) -> ColumnarResult | None:
        """Encode the rows whose columns pass every check.

        Args:
            columns: ``{field name: column}`` for the fields the frame has; absent fields
                take their default.
            rows: Number of rows in the chunk.

        Returns:
            The encoded rows and the rest, or ``None`` when a column's dtype is not one the
            columnar checks understand (the whole chunk then goes per row).
        """
        try:
            checked = [(f, self._check(f, enc, columns, rows)) for f, enc in self._fields]
        except _Unsupported:
            return None
        ok = np.ones(rows, dtype=bool)
        for _, c in checked:
            ok &= c.ok
        positions = np.arange(rows)
        good = positions[ok].tolist()
        rest = positions[~ok].tolist()
        if not good:
            return ColumnarResult([], [], rest)
        segments: list[Segment] = []
        if self._header:
            segments.append(constant(self._header, rows))
        for _, c in checked:
            segments.extend(c.encode())
        if rest:
            segments = [select(s, ok) for s in segments]
        return ColumnarResult(good, assemble(segments), rest)

    @staticmethod
    def _check(f: FrameField, enc: _Field, columns: dict[str, pd.Series], rows: int) -> _Checked:
        if f.name in columns:
            return enc.check(columns[f.name])
        if f.info.default is None:
            return enc.all_null(rows)
        return enc.check(_default_column(f, rows))


def _default_column(f: FrameField, rows: int) -> pd.Series:
    """A column holding ``f``'s (non-``None``) default on every row."""
    default = f.info.default
    if isinstance(default, Enum):
        default = default.value
    values: list[Any] = [default] * rows
    if f.kind == "datetime":
        return pd.Series(pd.to_datetime(values, utc=True))
    return pd.Series(values)
