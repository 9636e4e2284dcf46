"""Confluent wire format: magic byte 0, a big-endian 4-byte schema id, then the Avro body.

Whether a payload is framed is decided by configuration, never by looking at its first byte:
raw Avro often starts with 0x00 (a first field of 0, False, or a null union branch).
"""

from __future__ import annotations

import struct
from functools import lru_cache

from flowodm.exceptions import DeserializationError

__all__ = ["HEADER_SIZE", "MAGIC_BYTE", "frame", "frame_prefix", "unframe"]

MAGIC_BYTE = 0
HEADER_SIZE = 5
_HEADER = struct.Struct(">bI")


@lru_cache(maxsize=1024)
def frame_prefix(schema_id: int) -> bytes:
    """The 5-byte header for ``schema_id`` (cached, so the hot path is ``prefix + body``).

    Raises:
        ValueError: ``schema_id`` is not an unsigned 32-bit integer.
    """
    if not 0 <= schema_id <= 0xFFFFFFFF:
        raise ValueError(f"schema id {schema_id} is not an unsigned 32-bit integer")
    return _HEADER.pack(MAGIC_BYTE, schema_id)


def frame(schema_id: int, body: bytes) -> bytes:
    """Prefix ``body`` with the Confluent header for ``schema_id``."""
    return frame_prefix(schema_id) + body


def unframe(data: bytes) -> tuple[int, bytes]:
    """Split a Confluent-framed payload into ``(schema_id, body)``.

    Raises:
        DeserializationError: the payload is shorter than the header or the magic byte is wrong.
    """
    if len(data) < HEADER_SIZE:
        raise DeserializationError(
            f"payload of {len(data)} bytes is shorter than the 5-byte Confluent header; "
            "is the topic written without a schema registry (raw Avro)?"
        )
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise DeserializationError(
            f"payload starts with byte {data[0]:#04x}, not the Confluent magic byte 0x00; "
            "it was not written in the Confluent wire format"
        )
    return schema_id, bytes(data[HEADER_SIZE:])
