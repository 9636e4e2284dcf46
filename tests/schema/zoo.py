"""Model zoo for the schema and serde tests: one model per concern, one with every type."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Literal
from uuid import UUID

from pydantic import AnyUrl, BaseModel, Field

from flowodm.schema import Float32, Int32, TimeMicros, TimestampMicros


class Status(str, Enum):  # noqa: UP042 - the spelling most users write
    """Order life cycle."""

    NEW = "NEW"
    PAID = "PAID"
    SHIPPED = "SHIPPED"


class Address(BaseModel):
    """A postal address."""

    city: str
    zip: str | None = None


class Dog(BaseModel):
    name: str
    good: bool = True


class Cat(BaseModel):
    name: str
    good: bool = True


class Node(BaseModel):
    """A tree node (recursive)."""

    value: int
    children: list[Node] = []
    parent_hint: Node | None = None


class Line(BaseModel):
    sku: str
    price: Decimal = Field(max_digits=8, decimal_places=2)
    qty: int = 1


class Everything(BaseModel):
    """A model with every mapped type."""

    text: str
    count: int
    ratio: float
    flag: bool
    blob: bytes
    small: Int32
    single: Float32
    at: dt.datetime
    at_micros: TimestampMicros
    day: dt.date
    clock: dt.time
    clock_micros: TimeMicros
    amount: Decimal = Field(max_digits=12, decimal_places=3)
    ident: UUID
    status: Status
    kind: Literal["a", "b"]
    link: AnyUrl
    maybe: int | None = None
    address: Address
    other_address: Address | None = None
    lines: list[Line] = []
    scores: dict[str, float] = {}
    pair: tuple[int, int] = (0, 0)
    pet: Dog | Cat
    pets: list[Dog | Cat] = []
    number_or_text: int | str = 0
    tree: Node | None = None


def everything(**overrides: object) -> Everything:
    """A fully populated ``Everything`` instance (aware UTC datetimes, so it round-trips equal)."""
    values: dict[str, object] = {
        "text": "héllo ✓",
        "count": -(2**40),
        "ratio": 0.1,
        "flag": False,
        "blob": b"\x00\xffbin",
        "small": -7,
        "single": 1.5,
        "at": dt.datetime(2024, 2, 29, 12, 30, 15, 123000, tzinfo=dt.UTC),
        "at_micros": dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        "day": dt.date(1960, 1, 2),
        "clock": dt.time(23, 59, 59, 999000),
        "clock_micros": dt.time(0, 0, 0, 1),
        "amount": Decimal("-123456789.125"),
        "ident": UUID("12345678-1234-5678-1234-567812345678"),
        "status": Status.PAID,
        "kind": "b",
        "link": AnyUrl("https://example.com/x?y=1"),
        "maybe": 0,
        "address": Address(city="Zürich", zip="8000"),
        "other_address": None,
        "lines": [Line(sku="A-1", price=Decimal("9.99"), qty=2), Line(sku="B", price=Decimal("0"))],
        "scores": {"x": 1.25, "y": float("inf")},
        "pair": (1, 2),
        "pet": Cat(name="Tom", good=False),
        "pets": [Dog(name="Rex"), Cat(name="Kit")],
        "number_or_text": "seven",
        "tree": Node(value=1, children=[Node(value=2), Node(value=3, children=[Node(value=4)])]),
    }
    values.update(overrides)
    return Everything.model_validate(values)
