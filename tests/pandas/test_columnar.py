"""The columnar fast path: same bytes, same keys, same verdicts as the per-row path."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field, field_validator

from flowodm.model import FlowBaseModel
from flowodm.pandas.columnar import ColumnarEncoder, columnar_blocker
from flowodm.pandas.columns import plan_columns
from flowodm.pandas.encoding import RowEncoding, local_encoding
from flowodm.pandas.prepare import ChunkPreparer, Prepared
from flowodm.schema.types import Float32, Int32
from tests.pandas.models import Invoice, Order, Reading
from tests.schema.tz import local_tz

__all__ = ["local_tz"]

HEADER = b"\x00\x00\x00\x01\x2a"


def _framed(encoding: RowEncoding) -> RowEncoding:
    """The local encoding with a Confluent header, as a registry-backed codec writes it."""
    one, many = encoding.value, encoding.values
    return dataclasses.replace(
        encoding,
        header=HEADER,
        value=lambda m: HEADER + one(m),
        values=lambda ms: [HEADER + v for v in many(ms)],
    )


def _both(
    model: type[FlowBaseModel], frame: pd.DataFrame, **plan: Any
) -> tuple[Prepared, Prepared]:
    encoding = _framed(local_encoding(model))
    layout = plan_columns(model, frame.columns, **plan)
    fast = ChunkPreparer(model, layout, encoding, columnar=True)
    slow = ChunkPreparer(model, layout, encoding, columnar=False)
    assert fast.columnar
    return fast.prepare(frame), slow.prepare(frame)


def _assert_same(fast: Prepared, slow: Prepared) -> None:
    assert fast.labels == slow.labels
    assert fast.values == slow.values
    assert fast.keys == slow.keys
    assert fast.invalid == slow.invalid
    assert {(e.index, e.field, e.type) for e in fast.errors} == {
        (e.index, e.field, e.type) for e in slow.errors
    }


# ------------------------------------------------------------------------------- strategies

MISSING = st.sampled_from([None, np.nan, pd.NA])
TEXT = st.text(max_size=12)


def _maybe_missing(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Half the columns have no gaps; the others have about one missing value in four."""
    if draw(st.booleans()):
        return values
    return st.one_of(values, values, values, MISSING)


@st.composite
def text_column(draw: st.DrawFn, n: int, values: st.SearchStrategy[Any] = TEXT) -> pd.Series:
    items = draw(st.lists(_maybe_missing(draw, values), min_size=n, max_size=n))
    dtype = draw(st.sampled_from(["str", "string[pyarrow]", "object", "category"]))
    if dtype == "category":
        return pd.Series([None if v is pd.NA else v for v in items], dtype="category")
    return pd.Series(items, dtype=dtype)


@st.composite
def float_column(draw: st.DrawFn, n: int) -> pd.Series:
    if draw(st.integers(0, 4)) == 0:  # integers for a float field: pydantic converts them
        return draw(int_column(n))
    finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
    values = st.one_of(finite, finite, finite, st.floats())
    items = draw(st.lists(_maybe_missing(draw, values), min_size=n, max_size=n))
    dtype = draw(st.sampled_from(["float64", "float32", "Float64"]))
    with np.errstate(over="ignore"):
        return pd.Series([np.nan if v is None or v is pd.NA else v for v in items], dtype=dtype)


@st.composite
def int_column(draw: st.DrawFn, n: int, low: int = -(2**63), high: int = 2**63 - 1) -> pd.Series:
    kind = draw(st.sampled_from(["int64", "Int64", "float64", "uint64", "int32"]))
    if kind == "int64":
        values = st.integers(low, high)
        return pd.Series(draw(st.lists(values, min_size=n, max_size=n)), dtype="int64")
    if kind == "int32":
        values = st.integers(max(low, -(2**31)), min(high, 2**31 - 1))
        return pd.Series(draw(st.lists(values, min_size=n, max_size=n)), dtype="int32")
    if kind == "uint64":
        values = st.one_of(st.integers(max(low, 0), high), st.integers(max(low, 0), 2**64 - 1))
        return pd.Series(draw(st.lists(values, min_size=n, max_size=n)), dtype="uint64")
    if kind == "Int64":
        maybe_values = _maybe_missing(draw, st.integers(low, high))
        items = [
            None if v is pd.NA or v is np.nan else v
            for v in draw(st.lists(maybe_values, min_size=n, max_size=n))
        ]
        return pd.Series(items, dtype="Int64")
    floats = st.one_of(st.integers(max(low, -(2**60)), min(high, 2**60)).map(float), st.floats())
    items = draw(st.lists(_maybe_missing(draw, floats), min_size=n, max_size=n))
    return pd.Series([np.nan if v is None or v is pd.NA else v for v in items], dtype="float64")


@st.composite
def time_column(draw: st.DrawFn, n: int) -> pd.Series:
    instants = st.integers(-(2**62), 2**62)  # nanoseconds since the epoch, inside datetime64[ns]
    values = draw(st.lists(_maybe_missing(draw, instants), min_size=n, max_size=n))
    values = [None if v is pd.NA or v is np.nan else v for v in values]
    series = pd.Series(pd.to_datetime(values, unit="ns"))
    zone = draw(st.sampled_from([None, "UTC", "Asia/Kolkata", "America/New_York"]))
    if zone is not None:
        series = series.dt.tz_localize("UTC").dt.tz_convert(zone)
    if draw(st.booleans()):
        # pandas-stubs take dtype strings as Literals only; this one is computed.
        series = series.astype("datetime64[us]" if zone is None else f"datetime64[us, {zone}]")  # type: ignore[call-overload]
    return series


@st.composite
def bool_column(draw: st.DrawFn, n: int) -> pd.Series:
    if draw(st.booleans()):
        return pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    values = _maybe_missing(draw, st.booleans())
    items = [
        None if v is pd.NA or v is np.nan else v
        for v in draw(st.lists(values, min_size=n, max_size=n))
    ]
    return pd.Series(items, dtype="boolean")


STATUS = st.one_of(
    st.sampled_from(["NEW", "PAID", "SHIPPED"]), st.sampled_from(["new", "LOST", ""])
)


@st.composite
def order_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 25))
    frame = pd.DataFrame(
        {
            "order_id": draw(text_column(n)),
            "customer_id": draw(text_column(n)),
            "amount": draw(float_column(n)),
            "quantity": draw(int_column(n)),
            "created_at": draw(time_column(n)),
            "status": draw(text_column(n, STATUS)),
            "note": draw(text_column(n)),
        }
    )
    frame.index = pd.RangeIndex(100, 100 + n)
    return frame


@st.composite
def reading_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 25))
    columns = {
        "sensor": draw(text_column(n)),
        "value": draw(float_column(n)),
        "count": draw(int_column(n, -5, 1005)),
        "ok": draw(bool_column(n)),
        "at": draw(time_column(n)),
        "exact": draw(time_column(n)),
        "level": draw(text_column(n, STATUS)),
    }
    keep = draw(st.sets(st.sampled_from(["value", "count", "ok", "at", "exact", "level"])))
    return pd.DataFrame({k: v for k, v in columns.items() if k == "sensor" or k in keep})


# ------------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order_frames())
def test_order_frames_encode_identically_to_the_per_row_path(frame: pd.DataFrame) -> None:
    fast, slow = _both(Order, frame)
    _assert_same(fast, slow)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reading_frames())
def test_reading_frames_encode_identically_to_the_per_row_path(frame: pd.DataFrame) -> None:
    fast, slow = _both(Reading, frame)
    _assert_same(fast, slow)


@settings(max_examples=25, deadline=None)
@given(order_frames())
def test_a_key_column_gives_the_same_keys(frame: pd.DataFrame) -> None:
    # pandas-stubs refuse None (a missing key) in a list column; pandas takes it.
    frame = frame.assign(pk=[f"k{i}" if i % 4 else None for i in range(len(frame))])  # type: ignore[misc]
    fast, slow = _both(Order, frame, key="pk")
    _assert_same(fast, slow)


def test_the_clean_workload_takes_the_columnar_path_entirely() -> None:
    n = 1000
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "order_id": [f"id-{i}" for i in range(n)],
            "customer_id": [f"CUST-{i:07d}" for i in range(n)],
            "amount": rng.random(n) * 100,
            "quantity": rng.integers(1, 50, n),
            "created_at": pd.to_datetime(
                rng.integers(1_600_000_000_000, 1_700_000_000_000, n), unit="ms", utc=True
            ),
            "status": rng.choice(["NEW", "PAID", "SHIPPED"], n),
            "note": [None if i % 3 else f"note {i}" for i in range(n)],
        }
    )
    fast, slow = _both(Order, frame)
    assert fast.columnar == n
    _assert_same(fast, slow)


def test_unsupported_dtypes_fall_back_to_the_per_row_path() -> None:
    frame = pd.DataFrame({"sensor": ["a", "b"], "count": pd.Series(["1", "2"], dtype=object)})
    fast, slow = _both(Reading, frame)
    assert fast.columnar == 0
    _assert_same(fast, slow)
    assert len(fast.values) == 2  # pydantic's lax mode accepts "1" for an int


def test_absent_columns_take_their_defaults_on_both_paths() -> None:
    frame = pd.DataFrame({"sensor": ["a", "b", None]})
    fast, slow = _both(Reading, frame)
    assert fast.columnar == 2
    _assert_same(fast, slow)
    assert fast.invalid == [2]


def test_encoder_is_none_for_models_that_do_not_qualify() -> None:
    assert ColumnarEncoder.build(Invoice, Invoice.avro_schema()) is None


# ------------------------------------------------------------------------------- eligibility


class WithValidator(FlowBaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class WithPattern(FlowBaseModel):
    name: str = Field(pattern="^a")


class Strict(FlowBaseModel):
    model_config = {"strict": True, "extra": "forbid"}
    n: int


class Narrow(FlowBaseModel):
    n: Int32
    x: float = 0.0


class Single(FlowBaseModel):
    x: Float32


class Factory(FlowBaseModel):
    at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))


class Multiple(FlowBaseModel):
    n: int = Field(multiple_of=2)


class HugeBoundOnFloat(FlowBaseModel):
    x: float = Field(le=2**60)  # not exact as a float64, so numpy could compare differently


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (WithValidator, "validators"),
        (WithPattern, "constraint"),
        (Strict, "strict"),
        (Single, "Avro 'float'"),
        (Factory, "default_factory"),
        (Multiple, "constraint"),
        (HugeBoundOnFloat, "constraint"),
        (Invoice, "values"),
    ],
)
def test_models_the_checks_cannot_reproduce_never_take_the_columnar_path(
    model: type[FlowBaseModel], reason: str
) -> None:
    blocker = columnar_blocker(model, model.avro_schema())
    assert blocker is not None
    assert reason in blocker


@pytest.mark.parametrize("model", [Order, Reading, Narrow])
def test_plain_scalar_models_qualify(model: type[FlowBaseModel]) -> None:
    assert columnar_blocker(model, model.avro_schema()) is None


def test_int32_range_is_enforced_like_pydantic() -> None:
    frame = pd.DataFrame({"n": [2**31 - 1, 2**31, -(2**31), -(2**31) - 1]})
    fast, slow = _both(Narrow, frame)
    _assert_same(fast, slow)
    assert fast.invalid == [1, 3]


def test_uint64_beyond_avro_long_is_left_to_the_per_row_path_which_rejects_it() -> None:
    frame = pd.DataFrame({"n": pd.Series([2**63 - 1, 2**63, 2**64 - 1], dtype="uint64")})
    fast, slow = _both(Wide, frame)
    _assert_same(fast, slow)
    assert fast.invalid == [1, 2]
    assert {e.type for e in fast.errors} == {"serialization"}


def test_timestamps_beyond_year_9999_are_invalid_rows_not_crashes() -> None:
    stamps = np.array(["2024-01-01", "10000-01-01", "0001-01-01"], dtype="datetime64[s]")
    frame = pd.DataFrame({"at": pd.Series(stamps), "n": [1, 2, 3]})
    fast, slow = _both(Stamped, frame)
    _assert_same(fast, slow)
    assert fast.invalid == [1]
    assert fast.columnar == 1  # year 1 is left to pydantic, which accepts it


class Wide(FlowBaseModel):
    n: int


class Stamped(FlowBaseModel):
    at: dt.datetime
    n: int


def test_naive_timestamps_are_written_as_utc_under_any_local_time_zone(local_tz: str) -> None:
    import io

    import fastavro

    frame = pd.DataFrame(
        {
            "at": pd.to_datetime(["2024-01-01 10:00:00.123456"]),  # naive
            "n": [1],
        }
    )
    fast, slow = _both(Stamped, frame)
    _assert_same(fast, slow)
    assert fast.columnar == 1
    schema = fastavro.parse_schema(Stamped.avro_schema())
    (value,) = fast.values
    datum = cast(
        dict[str, Any], fastavro.schemaless_reader(io.BytesIO(value[len(HEADER) :]), schema, None)
    )
    assert datum["at"] == dt.datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=dt.UTC)
