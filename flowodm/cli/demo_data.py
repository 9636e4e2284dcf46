"""The demo's data: an order model and an order-like DataFrame with a few broken rows."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import Field

from flowodm.cli.demo import DEMO_TOPIC
from flowodm.model import FlowBaseModel

if TYPE_CHECKING:
    import pandas as pd


class OrderStatus(enum.StrEnum):
    """Lifecycle of an order."""

    NEW = "NEW"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class DemoOrder(FlowBaseModel):
    """An order placed in the demo shop."""

    class Settings:
        topic = DEMO_TOPIC
        key_field = "order_id"

    order_id: str
    customer_id: str
    amount: float = Field(ge=0, description="Order total in EUR")
    quantity: int = Field(ge=1, le=1000)
    created_at: datetime
    status: OrderStatus
    note: str | None = None


def build_orders(rows: int, *, seed: int = 7) -> pd.DataFrame:
    """Build an order-like frame with a handful of deliberately broken rows."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = np.array([s.value for s in OrderStatus])
    notes = [
        "please leave at the front door" if has_note else None
        for has_note in rng.random(rows) < 0.3
    ]
    frame = pd.DataFrame(
        {
            "order_id": [str(uuid.UUID(int=int(i) + 1, version=4)) for i in range(rows)],
            "customer_id": [f"CUST-{n:07d}" for n in rng.integers(0, 2_000_000, rows)],
            "amount": np.round(rng.uniform(1, 500, rows), 2),
            "quantity": rng.integers(1, 50, rows),
            "created_at": pd.to_datetime(
                [start + timedelta(seconds=int(s)) for s in rng.integers(0, 86_400 * 300, rows)]
            ),
            "status": statuses[rng.integers(0, len(statuses), rows)],
            "note": notes,
        }
    )
    if rows >= 10:
        # Broken on purpose: the report must name each of these rows and its reason.
        frame.loc[3, "quantity"] = 0
        frame.loc[5, "status"] = "LOST"
        frame.loc[8, "customer_id"] = None
    return frame
