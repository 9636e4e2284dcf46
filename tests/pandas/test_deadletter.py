"""Dead-letter records: the original values as strict JSON, with the row's index and errors."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flowodm.pandas.deadletter import dead_letter_payload
from flowodm.pandas.reports import RowError


def _strict(payload: bytes) -> Any:
    """Parse as strict JSON: ``NaN``/``Infinity`` literals are not JSON and fail here."""

    def reject(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(payload.decode("utf-8"), parse_constant=reject)


def test_values_are_plain_json_and_what_json_cannot_hold_is_text() -> None:
    values = {
        "count": np.int64(-2),
        "ratio": np.float64(np.inf),
        "low": -np.inf,
        "gap": np.nan,
        "na": pd.NA,
        "nat": pd.NaT,
        "at": pd.Timestamp("2024-05-01 10:30", tz="Europe/Paris"),
        "day": dt.date(2024, 5, 1),
        "price": Decimal("10.50"),
        "tags": np.array(["a", "b"]),
        "nested": {"x": [np.float32(0.5), float("nan")]},
        "flag": np.bool_(True),
        7: "a non-string column label",
    }
    errors = [RowError(3, "count", "Input should be greater than or equal to 0", "too_small")]
    record = _strict(dead_letter_payload(np.int64(3), values, errors, model="M", topic="t"))
    assert record == {
        "index": 3,
        "values": {
            "count": -2,
            "ratio": "inf",
            "low": "-inf",
            "gap": None,
            "na": None,
            "nat": None,
            "at": "2024-05-01T10:30:00+02:00",
            "day": "2024-05-01",
            "price": "10.50",
            "tags": ["a", "b"],
            "nested": {"x": [0.5, None]},
            "flag": True,
            "7": "a non-string column label",
        },
        "errors": [
            {
                "field": "count",
                "type": "too_small",
                "message": "Input should be greater than or equal to 0",
            }
        ],
        "model": "M",
        "topic": "t",
    }


@pytest.mark.parametrize("label", ["row-a", pd.Timestamp("2024-01-01"), (1, "x")])
def test_any_index_label_is_written(label: Any) -> None:
    record = _strict(dead_letter_payload(label, {"v": 1}, [], model="M", topic="t"))
    assert record["index"] in ("row-a", "2024-01-01T00:00:00", [1, "x"])
    assert record["errors"] == []


def test_text_is_kept_as_unicode() -> None:
    payload = dead_letter_payload(0, {"name": "Zoë ✓"}, [], model="M", topic="t")
    assert "Zoë ✓".encode() in payload
