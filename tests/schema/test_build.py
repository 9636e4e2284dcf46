"""Golden tests of build_avro_schema: exact schemas per type, names, docs, defaults and errors."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Annotated, Any, Literal, NewType, Optional, Union
from uuid import UUID, uuid4

import fastavro
import pytest
from pydantic import AnyUrl, BaseModel, Field, conint, constr
from pydantic.types import condecimal

from flowodm.exceptions import SchemaGenerationError
from flowodm.schema import Float32, Int32, TimeMicros, TimestampMicros, build_avro_schema
from tests.schema.zoo import Address, Cat, Dog, Everything, Node, Status


def field_of(model: type[BaseModel], name: str) -> dict[str, Any]:
    schema = build_avro_schema(model)
    fastavro.parse_schema(schema)  # every generated schema must be valid Avro
    return next(f for f in schema["fields"] if f["name"] == name)


def named_types(schema: dict[str, Any]) -> set[str]:
    named: dict[str, Any] = {}
    fastavro.parse_schema(schema, named_schemas=named)
    return set(named)


class Scalars(BaseModel):
    s: str
    i: int
    f: float
    b: bool
    raw: bytes
    i32: Int32
    f32: Float32
    ci: conint(ge=0, le=10)  # type: ignore[valid-type]
    cs: constr(min_length=2)  # type: ignore[valid-type]
    ann: Annotated[int, Field(gt=0)]
    new: NewType("UserId", int)  # type: ignore[valid-type]


@pytest.mark.parametrize(
    ("name", "avro"),
    [
        ("s", "string"),
        ("i", "long"),
        ("f", "double"),
        ("b", "boolean"),
        ("raw", "bytes"),
        ("i32", "int"),
        ("f32", "float"),
        ("ci", "long"),
        ("cs", "string"),
        ("ann", "long"),
        ("new", "long"),
    ],
)
def test_scalar_types(name: str, avro: str) -> None:
    assert field_of(Scalars, name) == {"name": name, "type": avro}


class Logical(BaseModel):
    at: dt.datetime
    at_us: TimestampMicros
    day: dt.date
    clock: dt.time
    clock_us: TimeMicros
    ident: UUID
    money: Decimal = Field(max_digits=10, decimal_places=2)
    money2: condecimal(max_digits=5, decimal_places=0)  # type: ignore[valid-type]
    link: AnyUrl
    ip: ipaddress.IPv4Address


@pytest.mark.parametrize(
    ("name", "avro"),
    [
        ("at", {"type": "long", "logicalType": "timestamp-millis"}),
        ("at_us", {"type": "long", "logicalType": "timestamp-micros"}),
        ("day", {"type": "int", "logicalType": "date"}),
        ("clock", {"type": "int", "logicalType": "time-millis"}),
        ("clock_us", {"type": "long", "logicalType": "time-micros"}),
        ("ident", {"type": "string", "logicalType": "uuid"}),
        ("money", {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}),
        ("money2", {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 0}),
        ("link", "string"),
        ("ip", "string"),
    ],
)
def test_logical_types(name: str, avro: Any) -> None:
    assert field_of(Logical, name) == {"name": name, "type": avro}


class Containers(BaseModel):
    tags: list[str]
    seq: Sequence[int]
    tup: tuple[float, ...]
    pair: tuple[int, int]
    by_name: dict[str, int]
    mapping: Mapping[str, list[bool]]
    kind: Literal["a", "b"]
    level: Literal[1, 2]
    on: Literal[True]


@pytest.mark.parametrize(
    ("name", "avro"),
    [
        ("tags", {"type": "array", "items": "string"}),
        ("seq", {"type": "array", "items": "long"}),
        ("tup", {"type": "array", "items": "double"}),
        ("pair", {"type": "array", "items": "long"}),
        ("by_name", {"type": "map", "values": "long"}),
        ("mapping", {"type": "map", "values": {"type": "array", "items": "boolean"}}),
        ("kind", "string"),
        ("level", "long"),
        ("on", "boolean"),
    ],
)
def test_containers_and_literals(name: str, avro: Any) -> None:
    assert field_of(Containers, name) == {"name": name, "type": avro}


class WithEnum(BaseModel):
    status: Status = Status.NEW
    again: Status | None = None


def test_enum_defined_once_with_value_symbols_and_doc() -> None:
    assert build_avro_schema(WithEnum)["fields"] == [
        {
            "name": "status",
            "type": {
                "type": "enum",
                "name": "Status",
                "doc": "Order life cycle.",
                "symbols": ["NEW", "PAID", "SHIPPED"],
            },
            "default": "NEW",
        },
        {"name": "again", "type": ["null", "Status"], "default": None},
    ]


class Optionals(BaseModel):
    a: int | None = None
    b: Optional[str] = "x"  # noqa: UP045 - the typing spelling must map the same way
    c: int | None
    d: Union[int, str] = "s"  # noqa: UP007
    e: int | str
    f: int | str | None = 3


def test_optional_and_union_order_and_defaults() -> None:
    assert build_avro_schema(Optionals)["fields"] == [
        {"name": "a", "type": ["null", "long"], "default": None},
        {"name": "b", "type": ["string", "null"], "default": "x"},
        # Required but nullable: still null-first with a null default (evolution-safe).
        {"name": "c", "type": ["null", "long"], "default": None},
        {"name": "d", "type": ["string", "long"], "default": "s"},
        {"name": "e", "type": ["long", "string"]},
        {"name": "f", "type": ["long", "string", "null"], "default": 3},
    ]


class Defaults(BaseModel):
    at: dt.datetime = dt.datetime(2024, 1, 1, 0, 0, 1)
    at_aware: dt.datetime = dt.datetime(
        2024, 1, 1, 5, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
    )
    at_us: TimestampMicros = dt.datetime(1970, 1, 1, 0, 0, 0, 7, tzinfo=dt.UTC)
    day: dt.date = dt.date(1970, 1, 11)
    clock: dt.time = dt.time(0, 0, 1, 500)
    money: Decimal = Field(Decimal("1.5"), max_digits=5, decimal_places=2)
    negative: Decimal = Field(Decimal("-1.28"), max_digits=5, decimal_places=2)
    raw: bytes = b"\x00\xff"
    ident: UUID = UUID(int=1)
    ratio: float = 2
    tags: list[str] = Field(default_factory=list)
    attrs: dict[str, int] = Field(default_factory=dict)
    address: Address = Address(city="Bern")
    generated: UUID = Field(default_factory=uuid4)
    stamp: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))


def test_defaults_are_avro_json() -> None:
    fields = {f["name"]: f.get("default", "<none>") for f in build_avro_schema(Defaults)["fields"]}
    assert fields == {
        "at": 1_704_067_201_000,  # naive default taken as UTC
        "at_aware": 1_704_067_200_000,
        "at_us": 7,
        "day": 10,
        "clock": 1000,
        "money": "\x00\x96",  # 150 -> two's complement big endian, latin-1 text
        "negative": "\xff\x80",  # -128, sized like fastavro
        "raw": "\x00\xff",
        "ident": "00000000-0000-0000-0000-000000000001",
        "ratio": 2.0,
        "tags": [],
        "attrs": {},
        "address": {"city": "Bern", "zip": None},
        # Impure default factories are omitted: they would change the schema on every call.
        "generated": "<none>",
        "stamp": "<none>",
    }


def test_defaults_parse_with_fastavro_and_are_stable() -> None:
    first = build_avro_schema(Defaults)
    fastavro.parse_schema(first)
    assert build_avro_schema(Defaults) == first


class Documented(BaseModel):
    """Line one.

    Indented detail.
    """

    plain: int = Field(description="How many.")
    renamed: str = Field(alias="oldName")
    kebab: str = Field(alias="not-an-avro-name")
    both: str = Field(validation_alias="inName", serialization_alias="outName")


def test_docs_and_aliases() -> None:
    schema = build_avro_schema(Documented)
    assert schema["doc"] == "Line one.\n\nIndented detail."
    assert schema["fields"] == [
        {"name": "plain", "type": "long", "doc": "How many."},
        {"name": "renamed", "type": "string", "aliases": ["oldName"]},
        {"name": "kebab", "type": "string"},
        {"name": "both", "type": "string", "aliases": ["inName", "outName"]},
    ]


class NoDoc(BaseModel):
    x: int


class InheritsDoc(Documented):
    extra: int = 0


def test_pydantic_and_inherited_docstrings_do_not_leak() -> None:
    assert "doc" not in build_avro_schema(NoDoc)
    assert "doc" not in build_avro_schema(InheritsDoc)


def test_names_namespace_and_override() -> None:
    schema = build_avro_schema(NoDoc, namespace="com.acme.orders", name="OrderV2")
    assert schema == {
        "type": "record",
        "name": "OrderV2",
        "namespace": "com.acme.orders",
        "fields": [{"name": "x", "type": "long"}],
    }
    assert "namespace" not in build_avro_schema(NoDoc)


class Shipment(BaseModel):
    origin: Address
    destination: Address
    stops: list[Address] = []


def test_nested_model_defined_once_then_referenced() -> None:
    schema = build_avro_schema(Shipment, namespace="ns")
    address = {
        "type": "record",
        "name": "Address",
        "doc": "A postal address.",
        "fields": [
            {"name": "city", "type": "string"},
            {"name": "zip", "type": ["null", "string"], "default": None},
        ],
    }
    assert schema["fields"] == [
        {"name": "origin", "type": address},
        {"name": "destination", "type": "Address"},
        {"name": "stops", "type": {"type": "array", "items": "Address"}, "default": []},
    ]
    assert named_types(schema) == {"ns.Shipment", "ns.Address"}


def test_recursive_model() -> None:
    assert build_avro_schema(Node) == {
        "type": "record",
        "name": "Node",
        "doc": "A tree node (recursive).",
        "fields": [
            {"name": "value", "type": "long"},
            {"name": "children", "type": {"type": "array", "items": "Node"}, "default": []},
            {"name": "parent_hint", "type": ["null", "Node"], "default": None},
        ],
    }


def test_renamed_recursive_model_refers_to_its_new_name() -> None:
    schema = build_avro_schema(Node, name="TreeNode", namespace="t")
    assert schema["name"] == "TreeNode"
    assert schema["fields"][1]["type"] == {"type": "array", "items": "TreeNode"}
    assert named_types(schema) == {"t.TreeNode"}


class Flavour(StrEnum):
    SWEET = "SWEET"
    SOUR = "SOUR"


class Menu(BaseModel):
    flavour: Flavour | None = Flavour.SOUR


def test_str_enum_with_a_default_in_an_optional() -> None:
    assert build_avro_schema(Menu)["fields"] == [
        {
            "name": "flavour",
            "type": [{"type": "enum", "name": "Flavour", "symbols": ["SWEET", "SOUR"]}, "null"],
            "default": "SOUR",
        }
    ]


class Owner(BaseModel):
    pet: Dog | Cat
    maybe_pet: Cat | Dog | None = None


def test_union_of_records() -> None:
    schema = build_avro_schema(Owner)
    dog, cat = schema["fields"][0]["type"]
    assert (dog["name"], cat["name"]) == ("Dog", "Cat")
    assert schema["fields"][1] == {
        "name": "maybe_pet",
        "type": ["null", "Cat", "Dog"],
        "default": None,
    }


def test_field_order_is_model_order() -> None:
    names = [f["name"] for f in build_avro_schema(Everything)["fields"]]
    assert names == list(Everything.model_fields)


# ---- errors ----------------------------------------------------------------------------------


class Color(IntEnum):
    RED = 1


class Dashed(str, Enum):  # noqa: UP042 - the classic spelling must work too
    A = "a-b"


class Bad(BaseModel):
    anything: Any = None


@pytest.mark.parametrize(
    ("annotation", "fragment"),
    [
        (Any, "typing.Any"),
        (set[int], "use list"),
        (frozenset[str], "use list"),
        (dict[int, str], "map keys are strings"),
        (dict[str, Any], "typing.Any"),
        (list, "no item type"),
        (Color, "IntEnum"),
        (Dashed, "'a-b'"),
        (Decimal, "max_digits"),
        (tuple[int, str], "mixes item types"),
        (Literal["a", 1], "mixes kinds"),
        (dt.timedelta, "timedelta"),
        (int | dt.datetime, "both stored as Avro 'long'"),
        (str | UUID, "both stored as Avro 'string'"),
        (list[int] | list[str], "'array'"),
    ],
)
def test_unsupported_types_name_model_field_and_type(annotation: Any, fragment: str) -> None:
    model = type(
        "Shop",
        (BaseModel,),
        {"__annotations__": {"price": annotation}, "__module__": __name__},
    )
    with pytest.raises(SchemaGenerationError) as info:
        build_avro_schema(model)
    assert str(info.value).startswith("Shop.price: ")
    assert fragment in str(info.value)
    assert (info.value.model, info.value.field) == ("Shop", "price")


def test_bad_default_is_reported() -> None:
    model = type(
        "Shop",
        (BaseModel,),
        {"__annotations__": {"n": int}, "n": "seven", "__module__": __name__},
    )
    with pytest.raises(SchemaGenerationError, match=r"Shop\.n: default 'seven'"):
        build_avro_schema(model)


def test_invalid_names_are_rejected() -> None:
    with pytest.raises(SchemaGenerationError, match="namespace"):
        build_avro_schema(NoDoc, namespace="com.1bad")
    with pytest.raises(SchemaGenerationError, match="record name"):
        build_avro_schema(NoDoc, name="has-dash")
    with pytest.raises(SchemaGenerationError, match="not a pydantic model"):
        build_avro_schema(int)  # type: ignore[arg-type]


def test_two_classes_with_one_name_are_rejected() -> None:
    other = type(
        "Address", (BaseModel,), {"__annotations__": {"x": int}, "__module__": "elsewhere"}
    )
    model = type(
        "Both",
        (BaseModel,),
        {"__annotations__": {"a": Address, "b": other}, "__module__": __name__},
    )
    with pytest.raises(SchemaGenerationError, match="both named 'Address'"):
        build_avro_schema(model)


def test_generic_model_needs_a_concrete_subclass() -> None:
    from typing import Generic, TypeVar

    T = TypeVar("T")

    class Page(BaseModel, Generic[T]):
        items: list[T]

    model = type(
        "Holder", (BaseModel,), {"__annotations__": {"page": Page[int]}, "__module__": __name__}
    )
    with pytest.raises(SchemaGenerationError, match=r"Holder\.page: .*subclass the generic"):
        build_avro_schema(model)

    class IntPage(Page[int]):
        pass

    assert build_avro_schema(IntPage)["fields"] == [
        {"name": "items", "type": {"type": "array", "items": "long"}}
    ]
