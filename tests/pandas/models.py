"""Model factories for the DataFrame tests: a fresh class (and codec) per topic."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from pydantic import Field

from flowodm.model import FlowBaseModel
from flowodm.schema import TimestampMicros


class Status(enum.StrEnum):
    """Order status; stored as an Avro enum."""

    NEW = "NEW"
    PAID = "PAID"
    SHIPPED = "SHIPPED"


class Order(FlowBaseModel):
    """The performance workload's order record (columnar-eligible)."""

    class Settings:
        topic = "orders-unused"
        key_field = "order_id"

    order_id: str
    customer_id: str
    amount: float = Field(ge=0)
    quantity: int
    created_at: dt.datetime
    status: Status
    note: str | None = None


class Reading(FlowBaseModel):
    """Plain scalars with nullable variants, a non-null default and no key."""

    class Settings:
        topic = "readings-unused"

    sensor: str = Field(max_length=8)
    value: float | None = None
    count: int = Field(default=0, ge=0, le=1000)
    ok: bool | None = None
    at: dt.datetime | None = None
    exact: TimestampMicros | None = None
    level: Status = Status.NEW


class Invoice(FlowBaseModel):
    """Not columnar: a Decimal, a date and a list."""

    class Settings:
        topic = "invoices-unused"
        key_field = "number"

    number: int
    total: Decimal = Field(max_digits=8, decimal_places=2)
    issued: dt.date
    tags: list[str] = Field(default_factory=list)
    ref: str | None = Field(default=None, alias="Reference")


def order_model(topic: str) -> type[Order]:
    """An ``Order`` subclass writing to ``topic`` (its own codec and schema registration)."""
    name = topic

    class TopicOrder(Order):
        class Settings:
            topic = name

    return TopicOrder


def reading_model(topic: str) -> type[Reading]:
    """A ``Reading`` subclass writing to ``topic``."""
    name = topic

    class TopicReading(Reading):
        class Settings:
            topic = name

    return TopicReading


def invoice_model(topic: str) -> type[Invoice]:
    """An ``Invoice`` subclass writing to ``topic``."""
    name = topic

    class TopicInvoice(Invoice):
        class Settings:
            topic = name

    return TopicInvoice


__all__ = [
    "Invoice",
    "Order",
    "Reading",
    "Status",
    "invoice_model",
    "order_model",
    "reading_model",
]
