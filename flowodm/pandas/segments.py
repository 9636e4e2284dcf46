"""Avro bytes for whole columns at once: each field becomes a ``Segment`` of per-row bytes.

A ``Segment`` is ``(lengths, flat)``: each row's byte count, and all rows' bytes back to back.
Rows are assembled by scattering every segment into one buffer with numpy and slicing it once
per row, so no Python runs per field value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["I64", "Mask", "Segment", "assemble", "constant", "drop", "fixed", "select", "varints"]

U8 = np.ndarray[Any, np.dtype[np.uint8]]
I64 = np.ndarray[Any, np.dtype[np.int64]]
Mask = np.ndarray[Any, np.dtype[np.bool_]]
Segment = tuple[I64, U8]  # per-row byte lengths, then every row's bytes back to back

_SHIFTS = np.arange(10, dtype=np.uint64) * np.uint64(7)
_COLS = np.arange(10)


def varints(values: I64) -> Segment:
    """Avro ``long`` encoding (zigzag varint) of every value."""
    zig = ((values << 1) ^ (values >> 63)).view(np.uint64)
    count = np.ones(len(zig), dtype=np.int64)
    rest = zig >> np.uint64(7)
    while rest.any():
        count += rest > 0
        rest = rest >> np.uint64(7)
    width = int(count.max()) if len(count) else 1
    groups = ((zig[:, None] >> _SHIFTS[:width]) & np.uint64(0x7F)).astype(np.uint8)
    cols = _COLS[:width]
    groups[cols[None, :] < (count[:, None] - 1)] |= 0x80
    return count, groups[cols[None, :] < count[:, None]]


def fixed(matrix: U8) -> Segment:
    """Rows of equal width (doubles, booleans, a header)."""
    return np.full(len(matrix), matrix.shape[1], dtype=np.int64), matrix.reshape(-1)


def constant(data: bytes, rows: int) -> Segment:
    """The same bytes on every row."""
    one = np.frombuffer(data, dtype=np.uint8)
    return fixed(np.broadcast_to(one, (rows, len(one))).copy())


def drop(segment: Segment, keep: Mask) -> Segment:
    """Give rows outside ``keep`` zero bytes in ``segment`` (e.g. the value of a null)."""
    lengths, flat = segment
    if keep.all():
        return segment
    return np.where(keep, lengths, 0), flat[np.repeat(keep, lengths)]


def select(segment: Segment, rows: Mask) -> Segment:
    """Keep only the rows in ``rows``."""
    lengths, flat = segment
    return lengths[rows], flat[np.repeat(rows, lengths)]


def assemble(segments: list[Segment]) -> list[bytes]:
    """Concatenate each row's segments and return one ``bytes`` per row."""
    row_len = np.sum([lengths for lengths, _ in segments], axis=0, dtype=np.int64)
    ends = np.cumsum(row_len)
    starts = ends - row_len
    buf = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.uint8)
    pos = starts.copy()
    for lengths, flat in segments:
        src = np.cumsum(lengths) - lengths
        buf[np.repeat(pos - src, lengths) + np.arange(flat.size)] = flat
        pos += lengths
    data = buf.tobytes()
    return [data[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
