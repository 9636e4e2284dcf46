"""Runs of rows decoded by ``read_vector``: their columns as arrays, and the frame's arrays.

A ``Run`` holds one numpy array (or pyarrow string array) per field for a stretch of rows.
Runs are sliced where a row had to be decoded on its own, joined per column at the end, and
turned into exactly the pandas arrays ``read_columns.build_column`` makes from value lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from flowodm.pandas.read_columns import FieldColumn, epoch_array

__all__ = ["Column", "Run", "column_array"]

_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True, slots=True)
class Column:
    """One field's values for a run: a numpy array (``mask``: True where null) or, for
    strings, a pyarrow ``large_string`` array (its own nulls); enums as category codes
    (-1 for null)."""

    values: Any
    mask: np.ndarray[Any, np.dtype[np.bool_]] | None

    def slice(self, start: int, stop: int) -> Column:
        """Rows ``start`` to ``stop`` (views, no copy)."""
        mask = None if self.mask is None else self.mask[start:stop]
        return Column(self.values[start:stop], mask)


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of rows decoded at once: ``rows`` rows, one ``Column`` per field."""

    rows: int
    columns: list[Column]

    def slice(self, start: int, stop: int) -> Run:
        """Rows ``start`` to ``stop``."""
        return Run(stop - start, [column.slice(start, stop) for column in self.columns])


def _join(columns: list[Column]) -> Column:
    if len(columns) == 1:
        return columns[0]
    first = columns[0].values
    if isinstance(first, pa.Array):
        return Column(pa.concat_arrays([c.values for c in columns]), None)
    values = np.concatenate([c.values for c in columns])
    if all(c.mask is None for c in columns):
        return Column(values, None)
    masks = [np.zeros(len(c.values), np.bool_) if c.mask is None else c.mask for c in columns]
    return Column(values, np.concatenate(masks))


def column_array(field: FieldColumn, unit: str | None, columns: list[Column]) -> Any:
    """The frame's array of ``field`` from its columns in consecutive runs (same dtype as
    ``build_column``, or ``epoch_datetimes`` for a timestamp column of ``unit``)."""
    column = _join(columns)
    values, mask = column.values, column.mask
    kind = field.dtype
    if kind == "str":
        return pd.arrays.ArrowStringArray(pa.chunked_array([values], type=pa.large_string()))
    if kind == "category":
        dtype = pd.CategoricalDtype(list(field.categories), ordered=False)
        return pd.Categorical.from_codes(values, dtype=dtype)
    if unit is not None:
        longs = values if mask is None else np.where(mask, _NAT, values)
        return epoch_array(longs, unit)
    if not field.nullable:
        return values
    mask = np.zeros(len(values), np.bool_) if mask is None else mask
    if kind == "int":
        return pd.arrays.IntegerArray(values, mask)
    if kind == "float":
        return pd.arrays.FloatingArray(values, mask)
    return pd.arrays.BooleanArray(values, mask)
