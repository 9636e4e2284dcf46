"""The dtype of each column ``read_topic`` builds, and whether a field may skip validation.

One ``ColumnPlan`` per model (cached) says, per field, which pandas dtype its column gets:

===============================================  =============================================
field                                            column dtype
===============================================  =============================================
``str``, ``Optional[str]``                       ``string`` (``pd.StringDtype()``, ``<NA>``)
``int``, ``Int32``                               ``int64``; optional: ``Int64``
``float``, ``Float32``                           ``float64``; optional: ``Float64`` (a NaN value
                                                 stays NaN, a missing one is ``<NA>``)
``bool``                                         ``bool``; optional: ``boolean``
``datetime`` (millis or micros)                  ``datetime64[us, UTC]`` (``NaT`` if missing)
``Enum``, ``Literal[...]``                       ``category``: the values, in declared order
URLs, IP addresses                               ``string`` (their text)
``Decimal``, ``date``, ``time``, ``UUID``,       ``object``: the Python values
``bytes``
nested models, lists, dicts, unions              ``object``: dicts and lists (``model_dump``)
===============================================  =============================================

A model whose fields are all **exact** and that is **plain** (``flowodm.schema.exact``: Avro's
types are the fields' types, and nothing in the model validates or changes more), with no
``schema_path`` file, is read on the columnar path: Avro bodies are decoded straight into the
columns, with no dict or model per row. Any other model is validated row by row (in chunks) as
the model, as ``consume_iter`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from flowodm.pandas.fields import frame_fields
from flowodm.schema.exact import exact_field, plain_model, unwrap_optional
from flowodm.schema.types import (
    EnumSpec,
    LiteralSpec,
    LogicalSpec,
    PrimitiveSpec,
    StrLikeSpec,
    TypeSpec,
)

__all__ = [
    "ColumnPlan",
    "FieldColumn",
    "build_column",
    "column_plan",
    "datetimes",
    "epoch_array",
    "epoch_datetimes",
    "epoch_longs",
    "plain",
]

Dtype = Literal["int", "float", "bool", "str", "strlike", "datetime", "category", "object"]

_PRIMITIVE_DTYPES = {"string": "str", "long": "int", "int": "int", "double": "float"}
_PRIMITIVE_DTYPES |= {"float": "float", "boolean": "bool", "bytes": "object"}
_DATETIMES = ("timestamp-millis", "timestamp-micros")
_NAT = np.iinfo(np.int64).min
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class FieldColumn:
    """How one field becomes a column.

    Attributes:
        name: The field name (the column's name).
        dtype: The kind of column (see the module table).
        nullable: Whether the field admits ``None`` (nullable dtypes then).
        categories: The category values, for ``category`` columns.
        exact: Whether decoded Avro values need no validation (module docstring).
    """

    name: str
    dtype: Dtype
    nullable: bool
    categories: tuple[Any, ...] = ()
    exact: bool = False


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """The columns of one model, in field order, and whether the columnar path applies."""

    fields: tuple[FieldColumn, ...]
    columnar: bool


def _field_column(name: str, spec: TypeSpec | None, metadata: Sequence[Any]) -> FieldColumn:
    inner, nullable = unwrap_optional(spec)
    exact = exact_field(spec, metadata)
    dtype: Any = None
    if isinstance(inner, PrimitiveSpec):
        dtype = _PRIMITIVE_DTYPES.get(inner.avro)
    elif isinstance(inner, LogicalSpec):
        dtype = "datetime" if inner.logical in _DATETIMES else "object"
    elif isinstance(inner, EnumSpec):
        values = tuple(member.value for member in inner.cls)
        return FieldColumn(name, "category", nullable, values, exact)
    if dtype is not None:
        return FieldColumn(name, dtype, nullable, (), exact)
    if isinstance(inner, LiteralSpec):
        return FieldColumn(name, "category", nullable, inner.values)
    if isinstance(inner, StrLikeSpec):
        return FieldColumn(name, "strlike", nullable)
    return FieldColumn(name, "object", True)


@cache
def column_plan(model: type[BaseModel]) -> ColumnPlan:
    """Return the column plan of ``model`` (cached per class)."""
    columns = tuple(_field_column(f.name, f.spec, f.info.metadata) for f in frame_fields(model))
    columnar = plain_model(model) and all(c.exact for c in columns)
    return ColumnPlan(columns, columnar)


def plain(value: Any) -> Any:
    """A model attribute as a frame cell: nested models as dicts, tuples as lists, recursively.

    An enum member (a categorical cell) becomes its value.
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def datetimes(values: list[Any], unit: Literal["ms", "us"] = "us") -> pd.DatetimeIndex:
    """Aware datetimes (``None`` for missing) as a ``datetime64[<unit>, UTC]`` index.

    pandas 2 infers nanoseconds, which cannot hold years before 1677 or after 2262; such values
    are converted through integer microseconds instead.
    """
    try:
        index = pd.DatetimeIndex(values)
        index = index.as_unit(unit)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        micros = [_NAT if v is None else (v - _EPOCH) // _MICRO for v in values]
        index = pd.DatetimeIndex(np.array(micros, dtype=np.int64).view("datetime64[us]"))
        index = index.as_unit(unit)
    return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")


_UNIT_STEP = {"ms": dt.timedelta(milliseconds=1), "us": _MICRO}


def epoch_datetimes(
    values: list[int | None], unit: str, as_unit: Literal["ms", "us"] = "us"
) -> pd.DatetimeIndex:
    """Epoch longs in ``unit`` (``None`` for missing) as ``datetime64[<as_unit>, UTC]``.

    One conversion for a whole column, where a ``datetime`` per row would cost more than
    decoding the row.
    """
    longs = np.array(
        [_NAT if v is None else v for v in values] if None in values else values, dtype=np.int64
    )
    return epoch_array(longs, unit, as_unit)


def epoch_array(
    longs: np.ndarray[Any, np.dtype[np.int64]], unit: str, as_unit: Literal["ms", "us"] = "us"
) -> pd.DatetimeIndex:
    """``epoch_datetimes`` of an int64 array (``NaT``'s value, int64's minimum, for missing)."""
    index = pd.DatetimeIndex(longs.view(f"datetime64[{unit}]")).as_unit(as_unit)
    return index.tz_localize("UTC")


def epoch_longs(value: dt.datetime | None, unit: str) -> int | None:
    """An aware datetime as the epoch long ``epoch_datetimes`` takes back (``None`` stays)."""
    return None if value is None else (value - _EPOCH) // _UNIT_STEP[unit]


def _mask(values: list[Any]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.fromiter((v is None for v in values), dtype=np.bool_, count=len(values))


def _strings(values: list[Any]) -> Any:
    """``str`` values (``None`` for missing) as a ``string`` array, ``pd.array``'s own.

    With pyarrow storage the array is built by pyarrow directly: ``pd.array`` checks and
    copies every value first, which took longer than building the array (3 times as long with
    many missing values). Anything pyarrow refuses goes to ``pd.array``.
    """
    dtype = pd.StringDtype()
    if dtype.storage == "pyarrow":
        import pyarrow as pa

        try:
            chunks = pa.chunked_array([pa.array(values, type=pa.large_string())])
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        else:
            return pd.arrays.ArrowStringArray(chunks)
    return pd.array(values, dtype=dtype)


def build_column(column: FieldColumn, values: list[Any]) -> Any:
    """The array of one column (see the module table)."""
    kind = column.dtype
    if kind == "str":
        return _strings(values)
    if kind == "datetime":
        return datetimes(values)
    if kind == "category":
        codes_of: dict[Any, int] = {value: code for code, value in enumerate(column.categories)}
        codes_of[None] = -1
        codes = np.fromiter(map(codes_of.__getitem__, values), dtype=np.int32, count=len(values))
        dtype = pd.CategoricalDtype(list(column.categories), ordered=False)
        return pd.Categorical.from_codes(codes, dtype=dtype)
    if kind == "strlike":
        return pd.array([None if v is None else str(v) for v in values], dtype=pd.StringDtype())
    if kind == "object":
        return pd.Series(values, dtype=object).array
    if not column.nullable:
        numpy_dtype: Any = {"int": np.int64, "float": np.float64, "bool": np.bool_}[kind]
        return np.array(values, dtype=numpy_dtype)
    if kind == "float":
        mask = _mask(values)
        floats = np.array([0.0 if v is None else v for v in values], dtype=np.float64)
        return pd.arrays.FloatingArray(floats, mask)
    return pd.array(values, dtype="Int64" if kind == "int" else "boolean")
