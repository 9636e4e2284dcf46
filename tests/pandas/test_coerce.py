"""Coercion of DataFrame columns into the Python values pydantic expects (no Kafka)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flowodm.pandas.coerce import OutOfRange, coerce_series, python_value

UTC = dt.UTC


def _types(values: list[Any]) -> list[type]:
    return [type(v) for v in values]


@pytest.mark.parametrize(
    ("series", "kind", "expected"),
    [
        (pd.Series([1.5, np.nan, 3.0]), "float", [1.5, None, 3.0]),
        (pd.Series([1.0, np.nan, 3.0]), "int", [1, None, 3]),
        (pd.Series([1.0, 2.5, -0.0]), "int", [1, 2.5, 0]),
        (pd.Series(["a", None, np.nan]), "str", ["a", None, None]),
        (pd.Series(["a", None], dtype="string[pyarrow]"), "str", ["a", None]),
        (pd.Series(["a", pd.NA], dtype="string[python]"), "str", ["a", None]),
        (pd.Series([1, None, 3], dtype="Int64"), "int", [1, None, 3]),
        (pd.Series([1, None], dtype="UInt8"), "int", [1, None]),
        (pd.Series([True, None], dtype="boolean"), "bool", [True, None]),
        (pd.Series([1.5, None], dtype="Float64"), "float", [1.5, None]),
        (pd.Series([2.0, None], dtype="Float64"), "int", [2, None]),
        (pd.Series([1, None], dtype="int64[pyarrow]"), "int", [1, None]),
        (pd.Series(["x", None], dtype="large_string[pyarrow]"), "str", ["x", None]),
        (
            pd.Series([np.int64(4), np.float64("nan"), None, pd.NA, pd.NaT], dtype=object),
            "other",
            [4, None, None, None, None],
        ),
        (
            pd.Series([np.bool_(True), np.str_("s"), np.float32(0.5)], dtype=object),
            "other",
            [True, "s", 0.5],
        ),
        (pd.Series(["x", None, "y"], dtype="category"), "str", ["x", None, "y"]),
        (pd.Series([1, None, 2], dtype="category"), "int", [1, None, 2]),
        (pd.Series([True, False]), "bool", [True, False]),
        (pd.Series([Decimal("1.10"), None], dtype=object), "decimal", [Decimal("1.10"), None]),
    ],
)
def test_missing_values_become_none_and_scalars_become_python(
    series: pd.Series, kind: Any, expected: list[Any]
) -> None:
    out = coerce_series(series, kind)
    assert out == expected
    assert _types(out) == _types(expected)


def test_every_missing_marker_in_an_object_column_becomes_none() -> None:
    markers = [None, np.nan, float("nan"), pd.NA, pd.NaT, np.datetime64("NaT"), np.float32("nan")]
    assert coerce_series(pd.Series(markers, dtype=object)) == [None] * len(markers)


def test_floats_become_ints_only_when_exact() -> None:
    out = coerce_series(pd.Series([3.0, 3.5, np.inf, 2.0**70, -7.0]), "int")
    assert out == [3, 3.5, np.inf, 2**70, -7]
    assert _types(out) == [int, float, float, int, int]


def test_floats_stay_floats_for_float_fields() -> None:
    out = coerce_series(pd.Series([3.0, 1e300]), "float")
    assert _types(out) == [float, float]


def test_float32_values_are_kept_exactly_not_rounded() -> None:
    (value,) = coerce_series(pd.Series([1.1], dtype="float32"), "float")
    assert value == float(np.float32(1.1))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_naive_timestamps_are_utc_for_datetime_fields(unit: str) -> None:
    # pandas-stubs refuse what pandas accepts: None (NaT) in the list, a computed dtype string.
    series = pd.Series(pd.to_datetime(["2024-01-01 12:00", None])).astype(f"datetime64[{unit}]")  # type: ignore[arg-type, call-overload]
    out = coerce_series(series, "datetime")
    assert out == [dt.datetime(2024, 1, 1, 12, tzinfo=UTC), None]
    assert type(out[0]) is dt.datetime  # not pd.Timestamp: fastavro's slow path avoided


def test_aware_timestamps_are_converted_to_utc() -> None:
    series = pd.Series(pd.to_datetime(["2024-01-01 12:00"]).tz_localize("Europe/Berlin"))
    assert coerce_series(series, "datetime") == [dt.datetime(2024, 1, 1, 11, tzinfo=UTC)]


def test_nanoseconds_are_floored_to_microseconds() -> None:
    series = pd.Series(pd.to_datetime(["1969-12-31 23:59:59.999999999"]))
    (value,) = coerce_series(series, "datetime")
    assert value == dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_timestamps_in_object_columns() -> None:
    values = [
        pd.Timestamp("2024-01-01 00:00:00.000000500"),
        np.datetime64("2024-01-02T00:00"),
        dt.datetime(2024, 1, 3),
        dt.datetime(2024, 1, 4, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ]
    out = coerce_series(pd.Series(values, dtype=object), "datetime")
    assert out == [
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        dt.datetime(2024, 1, 2, tzinfo=UTC),
        dt.datetime(2024, 1, 3, tzinfo=UTC),
        dt.datetime(2024, 1, 3, 22, tzinfo=UTC),
    ]
    assert all(type(v) is dt.datetime for v in out)


def test_timestamps_for_other_fields_keep_their_time_zone() -> None:
    series = pd.Series(pd.to_datetime(["2024-01-01"]))
    assert coerce_series(series, "date") == [dt.datetime(2024, 1, 1)]


def test_containers_are_cleaned_recursively() -> None:
    value = {"a": [np.int64(1), np.nan], "b": np.array([1.5, 2.5])}
    assert python_value(value) == {"a": [1, None], "b": [1.5, 2.5]}


def test_categorical_of_timestamps() -> None:
    # pandas-stubs refuse what pandas accepts: None (NaT) in the list, non-str categories.
    series = pd.Series(pd.Categorical(pd.to_datetime(["2024-01-01", None, "2024-01-01"])))  # type: ignore[arg-type]
    assert coerce_series(series, "datetime") == [
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        None,
        dt.datetime(2024, 1, 1, tzinfo=UTC),
    ]


def test_the_series_is_not_modified() -> None:
    series = pd.Series([1.0, np.nan, 2.0])
    before = series.copy(deep=True)
    coerce_series(series, "int")
    pd.testing.assert_series_equal(series, before)


def test_timestamps_outside_the_datetime_range_become_a_marker_naming_them() -> None:
    stamps = np.array(["2024-01-01", "10000-01-02", "NaT"], dtype="datetime64[s]")
    first, second, third = coerce_series(pd.Series(stamps), "datetime")
    assert first == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert second == OutOfRange("10000-01-02 00:00:00")
    assert third is None


def test_an_aware_datetime_that_leaves_the_range_in_utc_is_out_of_range() -> None:
    late = dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    [value] = coerce_series(pd.Series([late], dtype=object), "datetime")
    assert value == OutOfRange("9999-12-31T23:00:00-05:00")
