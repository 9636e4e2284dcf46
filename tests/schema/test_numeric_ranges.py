"""The 32-bit markers reject values their Avro type cannot hold, on every validation path."""

from __future__ import annotations

import math
from typing import Annotated, Any

import pandas as pd
import pytest
from pydantic import AfterValidator, BaseModel, Field, ValidationError

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm import FlowBaseModel
from flowodm.schema import AvroType, DatumConverter, Float32, Int32, build_avro_schema
from flowodm.schema.types import FLOAT32_MAX
from flowodm.serde.avro import AvroCodec

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class Single(BaseModel):
    x: Float32
    maybe: Float32 | None = None
    many: list[Float32] = []


class Narrow(BaseModel):
    n: Int32


class RawMarkers(BaseModel):
    """The markers used directly, without the ``Int32``/``Float32`` aliases."""

    n: Annotated[int, AvroType("int")] = 0
    x: Annotated[float, AvroType("float")] = 0.0


def _error(exc: ValidationError) -> dict[str, Any]:
    [error] = exc.errors()
    return dict(error)


def _round_trip(obj: BaseModel) -> Any:
    conv: DatumConverter[Any] = DatumConverter(type(obj), build_avro_schema(type(obj)))
    codec = AvroCodec(conv.schema)
    return conv.from_datum(codec.decode(codec.encode(conv.to_datum(obj))))


@pytest.mark.parametrize("value", [1e39, -1e39, 3.5e38, 2**200, float(2**128)])
def test_float32_rejects_finite_values_beyond_its_range(value: float) -> None:
    with pytest.raises(ValidationError) as info:
        Single(x=value)
    error = _error(info.value)
    assert error["loc"] == ("x",)
    assert error["type"] == "float32_range"
    assert "3.4028234663852886e38" in error["msg"] and "infinity" in error["msg"]


@pytest.mark.parametrize("field", ["maybe", "many"])
def test_float32_range_applies_inside_optional_and_list(field: str) -> None:
    value: Any = 1e39 if field == "maybe" else [1.0, 1e39]
    with pytest.raises(ValidationError, match="float32_range"):
        Single(x=0.0, **{field: value})


@pytest.mark.parametrize("value", [3.4e38, FLOAT32_MAX, -FLOAT32_MAX, 0.1, 1e-50])
def test_float32_accepts_values_in_range_and_round_trips_them_as_float32(value: float) -> None:
    back = _round_trip(Single(x=value)).x
    assert math.isfinite(back)
    assert back == pytest.approx(value, rel=1e-7, abs=1e-45)


def test_float32_value_that_rounds_to_its_largest_finite_value_is_kept() -> None:
    # 3.4028235e38 (float32's max as usually printed) is above FLOAT32_MAX but narrows to it.
    assert _round_trip(Single(x=3.4028235e38)).x == FLOAT32_MAX


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_float32_keeps_explicit_infinities(value: float) -> None:
    assert _round_trip(Single(x=value)).x == value


def test_float32_keeps_explicit_nan() -> None:
    assert math.isnan(_round_trip(Single(x=math.nan)).x)


@pytest.mark.parametrize("value", [INT32_MAX + 1, INT32_MIN - 1, 2**63])
def test_int32_rejects_values_beyond_32_bits(value: int) -> None:
    with pytest.raises(ValidationError) as info:
        Narrow(n=value)
    assert _error(info.value)["type"] in ("less_than_equal", "greater_than_equal")


@pytest.mark.parametrize("value", [INT32_MIN, INT32_MAX])
def test_int32_accepts_its_bounds(value: int) -> None:
    assert _round_trip(Narrow(n=value)).n == value


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({"n": 2**40}, "less_than_equal"),
        ({"n": -(2**40)}, "greater_than_equal"),
        ({"x": 1e39}, "float32_range"),
    ],
)
def test_raw_avro_type_markers_enforce_the_same_ranges(kwargs: dict[str, Any], kind: str) -> None:
    with pytest.raises(ValidationError) as info:
        RawMarkers(**kwargs)
    assert _error(info.value)["type"] == kind


class TighterBound(BaseModel):
    n: Annotated[int, Field(ge=0, le=10), AvroType("int")]


def test_int_marker_keeps_a_tighter_user_bound() -> None:
    with pytest.raises(ValidationError, match="less_than_equal"):
        TighterBound(n=11)
    with pytest.raises(ValidationError, match="greater_than_equal"):
        TighterBound(n=-1)
    assert TighterBound(n=10).n == 10


class WrappedInt(BaseModel):
    """A validator before the marker wraps the int schema, so the range is checked after it."""

    n: Annotated[int, AfterValidator(lambda v: v * 2), AvroType("int")]


def test_int_marker_checks_the_range_after_a_wrapping_validator() -> None:
    assert WrappedInt(n=INT32_MAX // 2).n == INT32_MAX - 1
    with pytest.raises(ValidationError) as info:
        WrappedInt(n=2**30)  # doubled to 2**31, one past the range
    error = _error(info.value)
    assert error["type"] == "int32_range"
    assert "2147483647" in error["msg"]


class Reading(FlowBaseModel):
    x: Float32
    n: Int32 = 0


def test_dataframe_validation_counts_out_of_range_rows_as_invalid() -> None:
    frame = pd.DataFrame(
        {"x": [0.1, 1e39, -1e39, 3.4e38, math.inf], "n": [1, 2, 3, 2**31, 5]},
        index=["a", "b", "c", "d", "e"],
    )
    report = frame.flowodm.validate(Reading)
    assert report.invalid_index == ["b", "c", "d"]
    assert report.valid == 2
    kinds = {(e.index, e.field, e.type) for e in report.errors}
    assert kinds == {
        ("b", "x", "float32_range"),
        ("c", "x", "float32_range"),
        ("d", "n", "less_than_equal"),
    }
