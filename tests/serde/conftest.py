"""Fixtures shared by the schema and serde tests."""

from __future__ import annotations

from tests.schema.tz import local_tz

__all__ = ["local_tz"]
