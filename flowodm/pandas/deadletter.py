"""The dead-letter record of an invalid row: its original values, index and errors, as JSON.

Each invalid row becomes one UTF-8 JSON object::

    {"index": 3, "values": {"amount": "abc", ...}, "errors": [{"field": ..., "type": ...,
     "message": ...}], "model": "Order", "topic": "orders"}

The values are the frame's cells as plain Python values (the coercion rules: every missing
marker is ``null``, numpy scalars are numbers). What strict JSON cannot hold is written as text
rather than as invalid JSON: ``inf``/``-inf``/``nan`` floats, timestamps (ISO 8601), decimals,
and anything else by its ``str()``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from flowodm.pandas.coerce import python_value
from flowodm.pandas.reports import RowError

__all__ = ["dead_letter_payload", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` (already plain Python) with what strict JSON cannot hold turned into text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # 'inf', '-inf' or 'nan': json.dumps would write invalid JSON
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def dead_letter_payload(
    label: Hashable,
    values: Mapping[Hashable, Any],
    errors: Iterable[RowError],
    *,
    model: str,
    topic: str,
) -> bytes:
    """Return the UTF-8 JSON dead-letter record of one invalid row.

    Args:
        label: The row's index label.
        values: The row's cells by column, as the frame holds them (before coercion; read
            cell by cell, since ``df.iloc[i]`` would upcast an int column to float).
        errors: The row's validation problems.
        model: The model's name.
        topic: The topic the valid rows go to.
    """
    record = {
        "index": jsonable(python_value(label)),
        "values": {str(col): jsonable(python_value(value)) for col, value in values.items()},
        "errors": [{"field": e.field, "type": e.type, "message": e.message} for e in errors],
        "model": model,
        "topic": topic,
    }
    return json.dumps(record, default=str, ensure_ascii=False, allow_nan=False).encode("utf-8")
