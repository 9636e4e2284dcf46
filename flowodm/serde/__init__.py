"""Serialization: Avro codec, Confluent wire framing, registry access and per-model codecs."""

from __future__ import annotations

from flowodm.serde.avro import AvroCodec
from flowodm.serde.wire import MAGIC_BYTE, frame, frame_prefix, unframe

__all__ = ["MAGIC_BYTE", "AvroCodec", "frame", "frame_prefix", "unframe"]
