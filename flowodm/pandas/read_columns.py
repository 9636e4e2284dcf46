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

A field is **exact** when every value Avro can decode for it is a valid value of the field,
so validating it could neither reject nor change anything: the scalar types of the table
(optional or not) whose only constraints are the ones their Avro type already enforces
(``Int32``'s range, a ``Decimal``'s digits and places). A model whose fields are all exact,
that has no validators, ``model_post_init``, value-changing ``model_config`` options
(``str_strip_whitespace``, ``str_to_lower``/``upper``, ``str_min/max_length``,
``allow_inf_nan=False``) and no ``schema_path`` file, is read on the
columnar path: Avro bodies are decoded straight into the columns, with no dict or model per row.
Any other model is validated row by row (in chunks) as the model, as ``consume_iter`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Literal

import annotated_types
import numpy as np
import pandas as pd
from pydantic import BaseModel

from flowodm.pandas.fields import frame_fields
from flowodm.schema.types import (
    AvroType,
    EnumSpec,
    LiteralSpec,
    LogicalSpec,
    PrimitiveSpec,
    StrLikeSpec,
    TypeSpec,
    UnionSpec,
)

__all__ = ["ColumnPlan", "FieldColumn", "build_column", "column_plan", "datetimes", "plain"]

Dtype = Literal["int", "float", "bool", "str", "strlike", "datetime", "category", "object"]

_EXACT_PRIMITIVES = {"string": "str", "long": "int", "int": "int", "double": "float"}
_EXACT_PRIMITIVES |= {"float": "float", "boolean": "bool", "bytes": "object"}
_EXACT_LOGICAL = {"timestamp-millis": "datetime", "timestamp-micros": "datetime"}
_EXACT_LOGICAL |= dict.fromkeys(("date", "time-millis", "time-micros", "uuid", "decimal"), "object")
_INT32 = annotated_types.Interval(ge=-(2**31), le=2**31 - 1)
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


def _unwrap(spec: TypeSpec | None) -> tuple[TypeSpec | None, bool]:
    if isinstance(spec, UnionSpec) and len(spec.branches) == 1:
        return spec.branches[0], spec.nullable
    return spec, isinstance(spec, UnionSpec) and spec.nullable


def _harmless(item: Any, spec: TypeSpec) -> bool:
    """Whether a field constraint is one its Avro type already guarantees."""
    if isinstance(item, AvroType):
        return True
    if isinstance(item, annotated_types.Interval):
        return spec == PrimitiveSpec("int") and item == _INT32
    if isinstance(spec, LogicalSpec) and spec.logical == "decimal":
        known = {"max_digits": spec.precision, "decimal_places": spec.scale}
        found = {k: v for k, v in vars(item).items() if v is not None}
        return bool(found) and all(known.get(k) == v for k, v in found.items())
    return False


def _field_column(name: str, spec: TypeSpec | None, metadata: Sequence[Any]) -> FieldColumn:
    inner, nullable = _unwrap(spec)
    dtype: Any = None
    if isinstance(inner, PrimitiveSpec):
        dtype = _EXACT_PRIMITIVES.get(inner.avro)
    elif isinstance(inner, LogicalSpec):
        dtype = _EXACT_LOGICAL.get(inner.logical)
    elif isinstance(inner, EnumSpec):
        values = tuple(member.value for member in inner.cls)
        exact = all(_harmless(m, inner) for m in metadata)
        return FieldColumn(name, "category", nullable, values, exact)
    if dtype is not None and inner is not None:
        return FieldColumn(name, dtype, nullable, (), all(_harmless(m, inner) for m in metadata))
    if isinstance(inner, LiteralSpec):
        return FieldColumn(name, "category", nullable, inner.values)
    if isinstance(inner, StrLikeSpec):
        return FieldColumn(name, "strlike", nullable)
    return FieldColumn(name, "object", True)


#: ``model_config`` options under which validation changes or rejects decoded Avro values.
_TRANSFORMING_CONFIG = ("str_strip_whitespace", "str_to_lower", "str_to_upper")
_CONSTRAINING_CONFIG = ("str_min_length", "str_max_length")


def _plain_model(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    config = model.model_config
    return not (
        decorators.validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.model_validators
        or model.__pydantic_post_init__
        or any(config.get(option) for option in _TRANSFORMING_CONFIG)
        or any(config.get(option) is not None for option in _CONSTRAINING_CONFIG)
        or config.get("allow_inf_nan") is False
    )


@cache
def column_plan(model: type[BaseModel]) -> ColumnPlan:
    """Return the column plan of ``model`` (cached per class)."""
    columns = tuple(_field_column(f.name, f.spec, f.info.metadata) for f in frame_fields(model))
    columnar = _plain_model(model) and all(c.exact for c in columns)
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


def _mask(values: list[Any]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.fromiter((v is None for v in values), dtype=np.bool_, count=len(values))


def build_column(column: FieldColumn, values: list[Any]) -> Any:
    """The array of one column (see the module table)."""
    kind = column.dtype
    if kind == "str":
        return pd.array(values, dtype=pd.StringDtype())
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
