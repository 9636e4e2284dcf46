"""What reports say about each bad row: in frame order, with its input, and dates out of range."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.model import FlowBaseModel
from tests.pandas.models import Order

RANGE = "outside the datetime range (years 1\u20139999)"  # with an en dash


class Event(FlowBaseModel):
    """A long and an optional timestamp: values can fail validation or only the Avro encoding."""

    class Settings:
        topic = "events-unused"

    big: int
    when: dt.datetime | None = None


def _problems(report: object) -> list[tuple[object, ...]]:
    frame = report.to_frame()  # type: ignore[attr-defined]
    return list(frame[["index", "field", "type", "input"]].itertuples(index=False, name=None))


# --- timestamps outside years 1 to 9999 ---------------------------------------------------------


def test_a_frame_timestamp_beyond_year_9999_is_reported_as_out_of_range() -> None:
    stamps = np.array(["2024-01-01", "10000-01-01", "NaT"], dtype="datetime64[s]")
    report = pd.DataFrame({"big": [1, 2, 3], "when": stamps}).flowodm.validate(Event)
    [error] = report.errors
    assert (error.index, error.field, error.type) == (1, "when", "datetime_range")
    assert error.message == f"10000-01-01 00:00:00 is {RANGE}"
    assert error.input == "10000-01-01 00:00:00"


@pytest.mark.parametrize(
    "text", ["10000-01-01T00:00:00", "+10000-01-01T00:00:00", "0000-12-31T00:00:00", "-0001-01-01"]
)
def test_timestamp_text_outside_the_range_is_reported_as_out_of_range(text: str) -> None:
    # As a CSV cell arrives: text that pydantic parses.
    report = pd.DataFrame({"big": ["1"], "when": [text]}).flowodm.validate(Event)
    assert [(e.index, e.field, e.type, e.message) for e in report.errors] == [
        (0, "when", "datetime_range", f"{text} is {RANGE}")
    ]


def test_other_unparsable_timestamp_text_keeps_pydantics_message() -> None:
    report = pd.DataFrame({"big": ["1"], "when": ["2024-13-01T00:00:00"]}).flowodm.validate(Event)
    [error] = report.errors
    assert error.type.startswith("datetime")
    assert error.type != "datetime_range"
    assert "outside the datetime range" not in error.message


# --- inputs and order ---------------------------------------------------------------------------


def test_a_value_that_fails_only_at_encoding_keeps_its_input() -> None:
    frame = pd.DataFrame({"big": pd.Series([1, 2**63], dtype=object)})
    report = frame.flowodm.produce(Event, on_invalid="report", dry_run=True, progress=False)
    [(index, field, kind, value)] = _problems(report)
    assert (index, field, kind) == (1, "big", "serialization")
    assert value == 2**63
    assert report.errors[0].input == 2**63


def test_problems_are_listed_by_row_position_whichever_step_found_them() -> None:
    # Row 1 fails at encoding (found after validation), row 2 at validation: the report still
    # lists row 1 first.
    frame = pd.DataFrame(
        {
            "big": pd.Series([1, 2**63, 3, 4], dtype=object),
            "when": np.array(["2024-01-01", "2024-01-01", "10000-01-01", "NaT"], "datetime64[s]"),
        }
    )
    for report in (
        frame.flowodm.validate(Event),
        frame.flowodm.produce(Event, on_invalid="report", dry_run=True, progress=False),
    ):
        assert [(i, f, t) for i, f, t, _ in _problems(report)] == [
            (1, "big", "serialization"),
            (2, "when", "datetime_range"),
        ]
        assert report.invalid_index == [1, 2]
    assert "row 1 big" in repr(report).splitlines()[1]


def test_key_problems_found_on_the_fast_path_are_listed_in_frame_order() -> None:
    # Row position 3 (label 10) takes the columnar path and has no key; position 1 (label 30)
    # is invalid and found later, on the per-row path. Labels are not in position order.
    frame = pd.DataFrame(
        {
            "order_id": ["a", "b", "c", "d"],
            "customer_id": ["C1", "C2", "C3", "C4"],
            "amount": [1.0, -1.0, 2.0, 3.0],
            "quantity": [1, 2, 3, 4],
            "created_at": pd.to_datetime(["2024-01-01"] * 4),
            "status": ["NEW"] * 4,
            "k": ["k1", "k2", "k3", None],
        },
        index=[40, 30, 20, 10],
    )
    report = frame.flowodm.validate(Order, key="k")
    assert [(e.index, e.field, e.type) for e in report.errors] == [
        (30, "amount", "greater_than_equal"),
        (10, "k", "missing_key"),
    ]
