"""Small Avro schema builders shared by the tools tests."""

from __future__ import annotations

from typing import Any


def record(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    """A record named ``name`` with ``fields``."""
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    """A field ``name`` of ``type_`` (``default=…``, ``aliases=…`` as keywords)."""
    return {"name": name, "type": type_, **extra}


def one(type_: Any, **extra: Any) -> dict[str, Any]:
    """A record with one field ``a``."""
    return record(field("a", type_, **extra))


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    """An enum ``E`` with ``symbols``."""
    return {"type": "enum", "name": "E", "symbols": list(symbols), **extra}
