"""Models for the ``flowodm produce`` tests, importable by name and by file path."""

from __future__ import annotations

from datetime import datetime

from flowodm.model import FlowBaseModel


class CliOrder(FlowBaseModel):
    """An order as the backfill tests produce it (tests pass their own ``--topic``)."""

    class Settings:
        topic = "cli-orders"
        key_field = "order_id"

    order_id: str
    amount: float
    quantity: int
    created_at: datetime
    note: str | None = None


class Untopiced(FlowBaseModel):
    """A model without a topic: ``--topic`` is required for it."""

    order_id: str


class NotAModel:
    """A plain class, which ``--model`` must refuse."""


NOT_A_CLASS = 42
