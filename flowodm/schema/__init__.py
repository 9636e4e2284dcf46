"""Pydantic → Avro: schema generation, datum conversion and subject naming.

Public API: ``build_avro_schema``, ``DatumConverter``, the marker types ``Int32``, ``Float32``,
``TimestampMicros``, ``TimeMicros`` and the subject strategies in ``flowodm.schema.naming``.
"""

from __future__ import annotations

from flowodm.schema.build import build_avro_schema
from flowodm.schema.datum import DatumConverter
from flowodm.schema.types import AvroType, Float32, Int32, TimeMicros, TimestampMicros

__all__ = [
    "AvroType",
    "DatumConverter",
    "Float32",
    "Int32",
    "TimeMicros",
    "TimestampMicros",
    "build_avro_schema",
]
