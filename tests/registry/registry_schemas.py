"""Schema builders shared by the registry tests."""

from __future__ import annotations

import json
from typing import Any

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def record(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    """Build an Avro record schema."""
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    """Build an Avro record field."""
    return {"name": name, "type": type_, **extra}


def text(schema: Any) -> str:
    """JSON-encode a schema the way a client sends it."""
    return json.dumps(schema)


V1 = record(field("a", "int"))
V2 = record(field("a", "int"), field("b", "string", default=""))
V3 = record(field("a", "int"), field("b", "string", default=""), field("c", "long", default=0))
