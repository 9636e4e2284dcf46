"""Models of the consume tests, made per test so every test has its own topic."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from flowodm.model import FlowBaseModel


class Status(str, Enum):  # noqa: UP042 - the spelling most users write
    NEW = "new"
    PAID = "paid"


class OrderFields(FlowBaseModel):
    order_id: str
    amount: float
    quantity: int
    status: Status
    created_at: dt.datetime
    note: str | None = None


def order_model(topic_name: str, group: str | None = None) -> type[OrderFields]:
    """A fresh order model on ``topic_name`` keyed by ``order_id`` (group optional)."""

    class Order(OrderFields):
        class Settings:
            topic = topic_name
            key_field = "order_id"
            consumer_group = group

    return Order


def orders(model: type[OrderFields], count: int, start: int = 0) -> list[OrderFields]:
    """``count`` distinct orders numbered from ``start``."""
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [
        model(
            order_id=f"o-{i}",
            amount=i * 1.5,
            quantity=i,
            status=Status.PAID if i % 2 else Status.NEW,
            created_at=base + dt.timedelta(seconds=i),
            note=None if i % 3 else f"n{i}",
        )
        for i in range(start, start + count)
    ]
