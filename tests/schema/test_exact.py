"""Models built from decoded datums without validation are the models validation builds."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from flowodm.schema import DatumConverter, build_avro_schema
from flowodm.schema.exact import trusted_builder
from flowodm.schema.types import Float32, Int32, TimeMicros, TimestampMicros
from flowodm.serde.avro import AvroCodec


class Colour(StrEnum):
    RED = "RED"
    GREEN = "GREEN"


class Exact(BaseModel):
    text: str
    count: int
    small: Int32
    ratio: float
    single: Float32
    flag: bool
    blob: bytes
    at: dt.datetime
    at_micros: TimestampMicros
    day: dt.date
    clock: dt.time
    clock_micros: TimeMicros
    ident: uuid.UUID
    price: Annotated[Decimal, Field(max_digits=9, decimal_places=2)]
    colour: Colour
    maybe_text: str | None = None
    maybe_colour: Colour | None = None
    maybe_at: dt.datetime | None = None


_AWARE = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)
_EXACT = st.builds(
    Exact,
    text=st.text(),
    count=st.integers(-(2**63), 2**63 - 1),
    small=st.integers(-(2**31), 2**31 - 1),
    ratio=st.floats(allow_nan=False),
    single=st.floats(width=32, allow_nan=False),
    flag=st.booleans(),
    blob=st.binary(),
    at=_AWARE.map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    at_micros=_AWARE,
    day=st.dates(),
    clock=st.times().map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000)),
    clock_micros=st.times(),
    ident=st.uuids(),
    price=st.decimals(places=2, min_value=-9_999_999, max_value=9_999_999),
    colour=st.sampled_from(Colour),
    maybe_text=st.none() | st.text(),
    maybe_colour=st.none() | st.sampled_from(Colour),
    maybe_at=st.none() | _AWARE.map(lambda d: d.replace(microsecond=0)),
)


def _round_trip(model: type[BaseModel], instances: list[Any]) -> list[dict[str, Any]]:
    schema = build_avro_schema(model)
    codec, converter = AvroCodec(schema), DatumConverter(model, schema)
    return [codec.decode(codec.encode(converter.to_datum(i))) for i in instances]


@settings(max_examples=60, deadline=None)
@given(st.lists(_EXACT, min_size=1, max_size=5))
def test_trusted_models_equal_validated_ones_in_every_detail(instances: list[Exact]) -> None:
    datums = _round_trip(Exact, instances)
    build = trusted_builder(Exact)
    assert build is not None
    trusted = build([dict(d) for d in datums])
    validated = [Exact.model_validate(d, by_name=True, strict=False) for d in datums]
    for got, want in zip(trusted, validated, strict=True):
        assert got == want
        assert repr(got) == repr(want)
        assert got.model_fields_set == want.model_fields_set
        assert got.model_dump() == want.model_dump()
        assert [type(v) for v in vars(got).values()] == [type(v) for v in vars(want).values()]
    # Each instance owns its fields-set, as a validated one does.
    trusted[0].model_fields_set.discard("text")
    assert "text" in build([dict(datums[0])])[0].model_fields_set


def test_the_converter_trusts_only_a_generated_schema() -> None:
    schema = build_avro_schema(Exact)
    datums = _round_trip(Exact, [_example()])
    generated = DatumConverter(Exact, schema, generated=True)
    from_file = DatumConverter(Exact, schema)
    assert generated._trusted is not None and from_file._trusted is None
    assert generated.from_datums([dict(d) for d in datums]) == from_file.from_datums(datums)


def test_a_datum_that_is_not_the_models_falls_back_to_validation() -> None:
    converter = DatumConverter(Exact, build_avro_schema(Exact), generated=True)
    [datum] = _round_trip(Exact, [_example()])
    wrong_symbol = dict(datum, colour="BLUE")
    missing = {k: v for k, v in datum.items() if k != "count"}
    good, bad, short = converter.from_datums([dict(datum), wrong_symbol, missing])
    assert isinstance(good, Exact)
    assert "colour" in str(bad) and "count" in str(short)


class _Validated(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def _shout(cls, value: str) -> str:
        return value.upper()


class _Constrained(BaseModel):
    name: Annotated[str, Field(max_length=3)]


class _Private(BaseModel):
    name: str
    _seen: int = PrivateAttr(default=0)


class _Stripping(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str


class _EnumValues(BaseModel):
    model_config = ConfigDict(use_enum_values=True)
    colour: Colour


class _Extra(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str


class _Nested(BaseModel):
    inner: _Validated


class _Listed(BaseModel):
    names: list[str]


@pytest.mark.parametrize(
    "model", [_Validated, _Constrained, _Private, _Stripping, _EnumValues, _Extra, _Nested, _Listed]
)
def test_models_whose_validation_could_change_or_reject_a_value_are_validated(
    model: type[BaseModel],
) -> None:
    assert trusted_builder(model) is None


def _example() -> Exact:
    return Exact(
        text="t",
        count=1,
        small=2,
        ratio=0.5,
        single=0.25,
        flag=True,
        blob=b"\x00",
        at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        at_micros=dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
        day=dt.date(2024, 2, 29),
        clock=dt.time(1, 2, 3),
        clock_micros=dt.time(1, 2, 3, 4),
        ident=uuid.UUID(int=7),
        price=Decimal("12.34"),
        colour=Colour.GREEN,
    )
