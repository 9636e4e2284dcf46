"""Confluent wire framing."""

from __future__ import annotations

import pytest

from flowodm.exceptions import DeserializationError
from flowodm.serde.wire import MAGIC_BYTE, frame, frame_prefix, unframe


def test_frame_layout() -> None:
    assert MAGIC_BYTE == 0
    assert frame(1, b"body") == b"\x00\x00\x00\x00\x01body"
    assert frame(0xFFFFFFFF, b"") == b"\x00\xff\xff\xff\xff"


def test_prefix_is_cached() -> None:
    assert frame_prefix(258) == b"\x00\x00\x00\x01\x02"
    assert frame_prefix(258) is frame_prefix(258)


@pytest.mark.parametrize("schema_id", [-1, 2**32])
def test_prefix_rejects_ids_outside_32_bits(schema_id: int) -> None:
    with pytest.raises(ValueError, match="unsigned 32-bit"):
        frame_prefix(schema_id)


def test_unframe_round_trip() -> None:
    assert unframe(frame(42, b"\x00abc")) == (42, b"\x00abc")
    assert unframe(memoryview(frame(7, b"x")).tobytes()) == (7, b"x")


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x00\x01"])
def test_short_payload(data: bytes) -> None:
    with pytest.raises(DeserializationError, match="shorter than the 5-byte"):
        unframe(data)


def test_wrong_magic_byte() -> None:
    with pytest.raises(DeserializationError, match="byte 0x02, not the Confluent magic"):
        unframe(b"\x02\x00\x00\x00\x01body")
