"""Models of the Dask read tests, at module level so that workers import them by reference."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from flowodm.model import FlowBaseModel


class Status(str, Enum):  # noqa: UP042 - the spelling most users write
    NEW = "new"
    PAID = "paid"


class ReadOrder(FlowBaseModel):
    """Exact fields only: read on the columnar path. Tests pass their own ``topic=``."""

    class Settings:
        topic = "dask-read-orders-unused"
        key_field = "order_id"

    order_id: str
    amount: float
    quantity: int
    status: Status
    created_at: dt.datetime
    note: str | None = None


class ReadBasket(FlowBaseModel):
    """A dict field (an ``object`` column): read on the model path, validated row by row."""

    class Settings:
        topic = "dask-read-baskets-unused"
        key_field = "basket_id"

    basket_id: str
    items: dict[str, int]
    total: float | None = None


def read_orders(count: int, start: int = 0) -> list[ReadOrder]:
    """``count`` distinct orders numbered from ``start``."""
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [
        ReadOrder(
            order_id=f"o-{i}",
            amount=i * 1.5,
            quantity=i,
            status=Status.PAID if i % 2 else Status.NEW,
            created_at=base + dt.timedelta(seconds=i),
            note=None if i % 3 else f"n{i}",
        )
        for i in range(start, start + count)
    ]


def read_baskets(count: int) -> list[ReadBasket]:
    """``count`` distinct baskets, some without a total."""
    return [
        ReadBasket(basket_id=f"b-{i}", items={"x": i, "y": i % 5}, total=None if i % 4 else i / 2)
        for i in range(count)
    ]
