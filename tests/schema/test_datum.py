"""DatumConverter: instance -> Avro-ready datum -> instance, and its error reporting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowodm.exceptions import DeserializationError, SchemaGenerationError, SerializationError
from flowodm.schema import DatumConverter, TimeMicros, TimestampMicros, build_avro_schema
from flowodm.serde.avro import AvroCodec
from tests.schema.zoo import Address, Cat, Dog, Everything, Line, Node, Status, everything

UTC = dt.UTC


def converter(model: type[BaseModel], namespace: str | None = None) -> DatumConverter[Any]:
    return DatumConverter(model, build_avro_schema(model, namespace=namespace))


def round_trip(obj: BaseModel, *, specialise: bool = True, namespace: str | None = None) -> Any:
    """obj -> datum -> bytes -> datum -> obj through the converter and a codec."""
    conv = converter(type(obj), namespace)
    codec = AvroCodec(conv.schema, specialise=specialise)
    return conv.from_datum(codec.decode(codec.encode(conv.to_datum(obj))))


class Stamp(BaseModel):
    at: dt.datetime
    maybe: dt.datetime | None = None
    many: list[dt.datetime] = []


# ---- to_datum --------------------------------------------------------------------------------


def test_scalar_fields_are_copied_and_enums_become_values() -> None:
    datum = converter(Line).to_datum(Line(sku="A", price=Decimal("2.5"), qty=3))
    assert datum == {"sku": "A", "price": Decimal("2.50"), "qty": 3}
    assert str(datum["price"]) == "2.50"  # quantized to the field's scale


class Holder(BaseModel):
    model_config = ConfigDict(use_enum_values=True)

    status: Status
    statuses: list[Status] = []


def test_enum_members_and_raw_values_both_become_symbols() -> None:
    assert converter(Holder).to_datum(Holder(status=Status.PAID, statuses=[Status.NEW])) == {
        "status": "PAID",
        "statuses": ["NEW"],
    }
    datum = converter(Everything).to_datum(everything())
    assert datum["status"] == "PAID" and type(datum["status"]) is str


def test_union_of_records_uses_tuple_notation_with_full_names() -> None:
    datum = converter(Everything, "com.acme").to_datum(everything())
    assert datum["pet"] == ("com.acme.Cat", {"name": "Tom", "good": False})
    assert datum["pets"] == [
        ("com.acme.Dog", {"name": "Rex", "good": True}),
        ("com.acme.Cat", {"name": "Kit", "good": True}),
    ]
    assert datum["number_or_text"] == "seven"  # untagged primitives: fastavro picks the branch


@pytest.mark.parametrize("specialise", [True, False])
def test_same_shape_records_keep_their_branch(specialise: bool) -> None:
    dog = everything(pet=Dog(name="Rex"), pets=[Cat(name="a"), Dog(name="b"), Cat(name="c")])
    back = round_trip(dog, specialise=specialise, namespace="ns")
    assert type(back.pet) is Dog
    assert [type(p) for p in back.pets] == [Cat, Dog, Cat]
    assert back == dog


@pytest.mark.parametrize("specialise", [True, False])
def test_every_type_round_trips_equal(specialise: bool) -> None:
    obj = everything()
    back = round_trip(obj, specialise=specialise)
    assert back == obj
    assert back.tree is not None and back.tree.children[1].children[0].value == 4


def test_nested_and_containers_convert_recursively() -> None:
    datum = converter(Everything).to_datum(everything())
    assert datum["address"] == {"city": "Zürich", "zip": "8000"}
    assert datum["lines"][0] == {"sku": "A-1", "price": Decimal("9.99"), "qty": 2}
    assert datum["pair"] == [1, 2]  # tuples become lists (Avro arrays)
    assert datum["link"] == "https://example.com/x?y=1"
    assert datum["tree"]["children"][1]["children"][0] == {
        "value": 4,
        "children": [],
        "parent_hint": None,
    }


class Pet(BaseModel):
    name: str


class Puppy(Pet):
    age: int


class Kennel(BaseModel):
    pet: Pet


def test_subclass_instance_writes_only_declared_fields() -> None:
    kennel = Kennel(pet=Puppy(name="Rex", age=1))
    assert converter(Kennel).to_datum(kennel) == {"pet": {"name": "Rex"}}


class Shelter(BaseModel):
    animal: Pet | Puppy


def test_union_picks_the_exact_class_before_a_base_class() -> None:
    shelter = Shelter(animal=Puppy(name="Rex", age=1))
    assert converter(Shelter).to_datum(shelter) == {"animal": ("Puppy", {"name": "Rex", "age": 1})}
    assert round_trip(shelter) == shelter
    only_pet = Shelter(animal=Pet(name="Tom"))
    assert converter(Shelter).to_datum(only_pet) == {"animal": ("Pet", {"name": "Tom"})}


def test_wrong_nested_type_names_the_field() -> None:
    bad = Kennel.model_construct(pet={"name": "Rex"})  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match=r"Kennel\.pet: expected a Pet instance") as info:
        converter(Kennel).to_datum(bad)
    assert (info.value.model, info.value.field) == ("Kennel", "pet")


def test_not_a_model_instance_is_rejected() -> None:
    with pytest.raises(SerializationError, match="expected a Kennel instance, got dict"):
        converter(Kennel).to_datum({"pet": {"name": "x"}})


# ---- datetimes -------------------------------------------------------------------------------


def test_naive_datetime_is_utc_regardless_of_local_zone(local_tz: str) -> None:
    conv = converter(Stamp)
    noon = dt.datetime(2024, 6, 1, 12, 0)
    datum = conv.to_datum(Stamp(at=noon, maybe=noon, many=[noon]))
    expected = dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert datum == {"at": expected, "maybe": expected, "many": [expected]}
    for specialise in (True, False):
        codec = AvroCodec(conv.schema, specialise=specialise)
        decoded = codec.decode(codec.encode(datum))
        assert decoded["at"] == expected, (local_tz, specialise)


@pytest.mark.parametrize("specialise", [True, False])
def test_codec_takes_naive_datetimes_as_utc_too(local_tz: str, specialise: bool) -> None:
    codec = AvroCodec(build_avro_schema(Stamp), specialise=specialise)
    noon = dt.datetime(2024, 6, 1, 12, 0)
    decoded = codec.decode(codec.encode({"at": noon, "maybe": noon, "many": [noon]}))
    expected = dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert decoded == {"at": expected, "maybe": expected, "many": [expected]}


def test_aware_datetimes_are_converted_to_utc() -> None:
    kolkata = dt.datetime(2024, 6, 1, 17, 30, tzinfo=ZoneInfo("Asia/Kolkata"))
    datum = converter(Stamp).to_datum(Stamp(at=kolkata))
    assert datum["at"] == dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert datum["at"].tzinfo is UTC


def test_pandas_timestamps_become_stdlib_datetimes() -> None:
    ts = pd.Timestamp("2024-06-01 12:00:00.123456789", tz="Europe/Berlin")
    naive = pd.Timestamp("2024-06-01 12:00:00.5")
    datum = converter(Stamp).to_datum(Stamp.model_construct(at=ts, maybe=naive, many=[]))
    assert type(datum["at"]) is dt.datetime
    assert datum["at"] == dt.datetime(2024, 6, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert datum["maybe"] == dt.datetime(2024, 6, 1, 12, 0, 0, 500000, tzinfo=UTC)


def test_nat_is_an_error_naming_the_field() -> None:
    with pytest.raises(SerializationError, match=r"Stamp\.at: .*use None for missing"):
        bad = Stamp.model_construct(at=pd.NaT, maybe=None, many=[])  # type: ignore[arg-type]
        converter(Stamp).to_datum(bad)


def test_pre_epoch_and_sub_millisecond_values_floor_like_fastavro() -> None:
    conv = converter(Stamp)
    codec = AvroCodec(conv.schema)
    at = dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    decoded = codec.decode(codec.encode(conv.to_datum(Stamp(at=at))))
    # timestamp-millis keeps milliseconds: the sub-millisecond part is truncated (floored).
    assert decoded["at"] == dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


class Clock(BaseModel):
    at: dt.time


def test_time_with_a_zone_is_rejected() -> None:
    aware = dt.time(12, 0, tzinfo=UTC)
    with pytest.raises(SerializationError, match=r"Clock\.at: .*has a time zone"):
        converter(Clock).to_datum(Clock(at=aware))


# ---- what a round trip changes (docs/avro-mapping.md) ---------------------------------------


class Precise(BaseModel):
    amount: Decimal = Field(max_digits=12, decimal_places=4)
    at: dt.datetime
    at_us: TimestampMicros
    clock: dt.time
    clock_us: TimeMicros


@pytest.mark.parametrize("specialise", [True, False])
def test_round_trip_changes_only_what_the_avro_types_cannot_carry(specialise: bool) -> None:
    naive = dt.datetime(2024, 1, 1, 12, 0, 0, 123456)
    clock = dt.time(12, 0, 0, 123456)
    sent = Precise(amount=Decimal("1.5"), at=naive, at_us=naive, clock=clock, clock_us=clock)

    back = round_trip(sent, specialise=specialise)

    # The decimal comes back at the schema's scale: equal, but with four places.
    assert back.amount == sent.amount
    assert back.amount.as_tuple() == Decimal("1.5000").as_tuple()
    # Naive means UTC, and decoding is aware UTC; millis floor, micros keep every digit.
    assert back.at == dt.datetime(2024, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert back.at.tzinfo is UTC
    assert back.at_us == dt.datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert back.clock == dt.time(12, 0, 0, 123000)
    assert back.clock_us == clock


# ---- decimals --------------------------------------------------------------------------------


class Price(BaseModel):
    amount: Decimal = Field(max_digits=5, decimal_places=2)


def test_decimal_is_quantized_to_the_scale() -> None:
    datum = converter(Price).to_datum(Price(amount=Decimal("7")))
    assert datum["amount"].as_tuple() == Decimal("7.00").as_tuple()


def test_pydantic_rejects_extra_places_before_we_could_round() -> None:
    with pytest.raises(ValidationError, match="decimal places"):
        Price(amount=Decimal("1.234"))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (Decimal("1.234"), "more than 2 decimal places"),
        (Decimal("1234.5"), "does not fit decimal(precision=5, scale=2)"),
        (Decimal("NaN"), "not a finite decimal"),
        (1.5, "expected a Decimal, got float"),
    ],
)
def test_decimal_that_does_not_fit_is_an_error_not_a_rounding(value: Any, fragment: str) -> None:
    with pytest.raises(SerializationError, match=r"Price\.amount: ") as info:
        converter(Price).to_datum(Price.model_construct(amount=value))
    assert fragment in str(info.value)
    assert info.value.field == "amount"


def test_nested_error_path_names_outer_and_inner_field() -> None:
    bad_line = Line.model_construct(sku="x", price=Decimal("1000000.5"), qty=1)
    obj = everything(lines=[])
    obj.lines.append(bad_line)
    with pytest.raises(SerializationError, match=r"Everything\.lines: Line\.price: ") as info:
        converter(Everything).to_datum(obj)
    assert info.value.field == "lines.price"


# ---- from_datum ------------------------------------------------------------------------------


class Aliased(BaseModel):
    model_config = ConfigDict(strict=True)

    user_name: str = Field(alias="userName")
    status: Status
    pair: tuple[int, int]


def test_from_datum_accepts_field_names_for_aliased_strict_models() -> None:
    conv = converter(Aliased)
    obj = Aliased.model_validate({"userName": "ann", "status": Status.NEW, "pair": (1, 2)})
    codec = AvroCodec(conv.schema)
    assert conv.from_datum(codec.decode(codec.encode(conv.to_datum(obj)))) == obj


def test_from_datum_validation_failure_is_a_deserialization_error() -> None:
    with pytest.raises(DeserializationError, match="does not validate as Line"):
        converter(Line).from_datum({"sku": "x", "price": "not a number", "qty": 1})


def test_unknown_record_name_in_union_is_reported() -> None:
    conv = converter(Everything)
    datum = conv.to_datum(everything())
    datum["pet"] = ("Fish", {"name": "Nemo", "good": True})
    with pytest.raises(DeserializationError, match="'Fish' is not a branch"):
        conv.from_datum(datum)


def test_recursive_model_round_trips() -> None:
    tree = Node(value=1, children=[Node(value=2, parent_hint=Node(value=0))])
    assert round_trip(tree) == tree


class Flavour(Enum):
    SWEET = "SWEET"
    SOUR = "SOUR"


class Snack(BaseModel):
    flavour: Flavour
    choice: Flavour | Status | None = None


def test_plain_enum_and_union_of_enums() -> None:
    snack = Snack(flavour=Flavour.SOUR, choice=Status.SHIPPED)
    assert converter(Snack).to_datum(snack) == {
        "flavour": "SOUR",
        "choice": "SHIPPED",
    }
    assert round_trip(snack) == snack


# ---- construction errors ---------------------------------------------------------------------


def test_schema_that_does_not_describe_the_model_is_rejected() -> None:
    with pytest.raises(SchemaGenerationError, match="does not describe Line"):
        DatumConverter(Line, build_avro_schema(Address))
    with pytest.raises(SchemaGenerationError, match="not an Avro record"):
        DatumConverter(Line, {"type": "string"})
