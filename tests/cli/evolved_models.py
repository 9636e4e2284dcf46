"""A model the registry refuses after ``tests.cli.cli_models.CliOrder`` (the dry-run tests)."""

from __future__ import annotations

from datetime import datetime

from flowodm.model import FlowBaseModel


class CliOrderAmountText(FlowBaseModel):
    """``CliOrder`` with ``amount`` as text: an incompatible change of the same record."""

    class Settings:
        topic = "cli-orders"
        key_field = "order_id"
        record_name = "CliOrder"

    order_id: str
    amount: str
    quantity: int
    created_at: datetime
    note: str | None = None
