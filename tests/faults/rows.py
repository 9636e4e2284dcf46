"""The message the fault suite sends: a unique key per row, so read-back can count each row.

It needs no Schema Registry (plain Avro), so broker faults are tested alone; the backfill CLI
imports it as ``--model tests/faults/rows.py:FaultRow``.
"""

from __future__ import annotations

from flowodm.model import FlowBaseModel

__all__ = ["FaultRow", "row_key"]


class FaultRow(FlowBaseModel):
    """One row of a fault scenario; ``key`` is unique within the scenario."""

    class Settings:
        topic = "fault-rows"
        key_field = "key"
        confluent_wire_format = False

    key: str
    n: int


def row_key(n: int) -> str:
    """The key of row ``n`` (fixed width, so keys sort as rows do)."""
    return f"row-{n:06d}"
