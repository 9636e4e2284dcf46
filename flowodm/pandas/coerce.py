"""Turn DataFrame columns into the plain Python values pydantic expects, without lying.

Rules (one column at a time, vectorised where the dtype allows):

- every pandas missing value (``NaN`` in any dtype, ``NaT``, ``pd.NA``, ``None``) becomes
  ``None``; a required field then fails validation, it never gets a default;
- numpy scalars, ``pd.Timestamp`` and nullable, categorical, string and Arrow dtypes become
  ``int``/``float``/``bool``/``str``/``datetime``;
- a float holding an integer becomes ``int`` for an integer field only when it is exact
  (``2.0`` → ``2``; ``2.5`` stays a float so validation rejects it);
- timestamps for ``datetime`` fields become aware UTC ``datetime`` objects; naive ones are taken
  as UTC (the core's rule), so the machine's time zone never matters;
- a timestamp that Python's ``datetime`` cannot hold (outside years 1 to 9999, e.g. a
  ``datetime64[s]`` in year 10000) becomes an ``OutOfRange`` marker, which no field accepts, so
  the row is reported as outside the datetime range (years 1 to 9999);
- the frame is never modified.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from flowodm.pandas.columns import ColumnPlan
from flowodm.pandas.fields import Kind

__all__ = [
    "OUT_OF_RANGE",
    "OutOfRange",
    "coerce_columns",
    "coerce_series",
    "key_values",
    "python_value",
]

OUT_OF_RANGE = "outside the datetime range (years 1\u20139999)"  # an en dash

_UTC = dt.UTC
_PLAIN = frozenset({str, int, bool, Decimal, dt.date, dt.time, bytes})


def _missing(value: Any) -> bool:
    """Whether a scalar is one of pandas' missing-value markers (or ``None``)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(value != value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


@dataclass(frozen=True, slots=True)
class OutOfRange:
    """A timestamp outside what ``datetime`` holds (years 1 to 9999), kept to name it in errors.

    No pydantic field type accepts it, so the row fails validation; the validator then reports
    it as ``OUT_OF_RANGE`` rather than as a type mismatch.

    Attributes:
        text: The timestamp as pandas prints it.
    """

    text: str

    def __str__(self) -> str:
        return self.text


def _to_datetime(value: pd.Timestamp, utc: bool) -> dt.datetime | OutOfRange:
    """A stdlib datetime, or ``OutOfRange`` when ``datetime`` cannot hold the value."""
    try:
        if value.nanosecond:
            value = value.floor("us")  # datetime holds microseconds; floor, as fastavro does
        out: dt.datetime = value.to_pydatetime()
    except (ValueError, OverflowError):
        return OutOfRange(str(value))
    return _as_utc(out) if utc else out


def _as_utc(value: dt.datetime) -> dt.datetime | OutOfRange:
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    if value.tzinfo is _UTC:
        return value
    try:
        return value.astimezone(_UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is in year 10000 in UTC
        return OutOfRange(value.isoformat())


def python_value(value: Any, kind: Kind = "other") -> Any:
    """Return ``value`` as the plain Python value pydantic expects for a field of ``kind``.

    Containers (lists, tuples, dicts, numpy arrays) are cleaned recursively.
    """
    t = type(value)
    if t in _PLAIN:
        return value
    if t is float:
        if value != value:
            return None
        return int(value) if kind == "int" and value.is_integer() else value
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return _to_datetime(value, kind == "datetime")
    if isinstance(value, np.datetime64):
        return _to_datetime(pd.Timestamp(value), kind == "datetime")
    if isinstance(value, np.timedelta64):
        return pd.Timedelta(value).to_pytimedelta()
    if isinstance(value, np.ndarray):
        return [python_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return python_value(value.item(), kind)
    if isinstance(value, dt.datetime):
        return _as_utc(value) if kind == "datetime" else value
    if isinstance(value, list | tuple):
        return type(value)(python_value(v) for v in value) if t in (list, tuple) else value
    if isinstance(value, dict):
        return {k: python_value(v) for k, v in value.items()}
    return value


def _objects(values: Sequence[Any], kind: Kind) -> list[Any]:
    return [python_value(v, kind) for v in values]


def _floats(array: np.ndarray[Any, Any], kind: Kind) -> list[Any]:
    array = np.asarray(array, dtype=np.float64)
    missing = np.isnan(array)
    if kind != "int":
        if not missing.any():
            return array.tolist()  # type: ignore[no-any-return]  # numpy stubs: list[Any]
        out = array.astype(object)
        out[missing] = None
        return out.tolist()  # type: ignore[no-any-return]
    out = array.astype(object)
    with np.errstate(invalid="ignore"):
        exact = np.isfinite(array) & (np.floor(array) == array)
    small = exact & (np.abs(array) < 2.0**62)
    out[small] = array[small].astype(np.int64)
    for i in np.flatnonzero(exact & ~small):  # beyond int64: exact, but needs Python ints
        out[i] = int(array[i])
    out[missing] = None
    return out.tolist()  # type: ignore[no-any-return]


def _datetimes(series: pd.Series, kind: Kind) -> list[Any]:
    values = series
    if kind == "datetime":
        tz = getattr(series.dtype, "tz", None)
        values = series.dt.tz_localize(_UTC) if tz is None else series.dt.tz_convert(_UTC)
    try:
        # to_pydatetime floors nanoseconds to microseconds, as fastavro does with the remainder.
        # Through DatetimeIndex: an ndarray on every pandas (Series.dt.to_pydatetime warns on
        # pandas 2.x and returns a Series on 3.x).
        out = np.array(pd.DatetimeIndex(values).to_pydatetime(), dtype=object)
    except (ValueError, OverflowError):  # a value beyond year 9999 (datetime64[s] and wider)
        # Per value from the frame's own values, so an OutOfRange names the value as written.
        utc = kind == "datetime"
        out = np.array([_to_datetime(v, utc) for v in series], dtype=object)
    missing = series.isna().to_numpy()
    if missing.any():
        out[missing] = None
    return out.tolist()  # type: ignore[no-any-return]


def _categorical(series: pd.Series, kind: Kind) -> list[Any]:
    categories = coerce_series(pd.Series(series.cat.categories), kind)
    lookup = [*categories, None]  # code -1 (missing) picks the trailing None
    return [lookup[code] for code in series.cat.codes.tolist()]


def _object_values(series: pd.Series) -> list[Any]:
    # pandas-stubs reject na_value=None, which pandas documents and honours for every dtype.
    values = series.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
    return values.tolist()  # type: ignore[no-any-return]


def coerce_series(series: pd.Series, kind: Kind = "other") -> list[Any]:
    """Return the values of ``series`` as plain Python values for a field of ``kind``."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical(series, kind)
    is_numpy = isinstance(dtype, np.dtype)
    if dtype.kind == "M" and (is_numpy or isinstance(dtype, pd.DatetimeTZDtype)):
        return _datetimes(series, kind)
    if dtype.kind == "f":
        return _floats(series.to_numpy(dtype=np.float64, na_value=np.nan), kind)
    if is_numpy and dtype.kind in "iub":
        return series.tolist()
    if isinstance(dtype, pd.StringDtype) or dtype.kind in "iubU":
        # Nullable and Arrow integer, boolean and string arrays already yield Python scalars.
        return _object_values(series)
    return _objects(_object_values(series), kind)


def coerce_columns(frame: pd.DataFrame, plan: ColumnPlan) -> dict[str, list[Any]]:
    """Coerce every planned column of ``frame``; returns ``{field name: values}``."""
    return {f.name: coerce_series(frame[column], f.kind) for column, f in plan.pairs}


def key_values(frame: pd.DataFrame, column: Hashable) -> list[Any]:
    """Return the key column's values as plain Python values (missing → ``None``)."""
    return coerce_series(frame[column])
