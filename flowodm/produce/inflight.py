"""The in-flight window of a ``BulkSender``: which ref a failed message belongs to.

Sending costs nothing extra here: the window only keeps references to the sequences that were
sent (``send_many``) or three small lists (``send``). Only when a failure is reported does it
build an index from ``(key, value)`` to refs, and only over what was not indexed yet. With no
failures no per-message object is created, so bulk sends do not feed the cyclic GC.

The window is forgotten whenever the producer's queue is empty (every report was served), so
it spans only messages that may still be reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["InflightWindow"]

_NO_PARTITION = -1


class _Segment:
    """Messages sent together: parallel sequences of values, keys, refs and partitions."""

    __slots__ = ("indexed", "keys", "partitions", "refs", "skipped", "values")

    def __init__(
        self,
        values: Sequence[bytes],
        keys: Sequence[bytes | None] | None,
        refs: Sequence[Any],
        partitions: Sequence[int] | None,
    ) -> None:
        self.values = values
        self.keys = keys
        self.refs = refs
        self.partitions = partitions
        self.skipped: set[int] = set()  # positions never enqueued (rejected at once)
        self.indexed = 0


class InflightWindow:
    """Maps a failed message back to the ref it was sent with.

    Identical messages (same key, value and, when given, partition) are interchangeable: a
    failure is attributed to the earliest one not yet attributed.
    """

    def __init__(self) -> None:
        self._segments: list[_Segment] = []
        self._open: _Segment | None = None  # the segment ``add`` appends to
        self._open_lists: tuple[list[bytes], list[bytes | None], list[Any], list[int]] = (
            [],
            [],
            [],
            [],
        )
        self._first_unindexed = 0
        self._index: dict[tuple[bytes | None, bytes], list[tuple[Any, int]]] = {}
        self.size = 0

    def add(self, value: bytes, key: bytes | None, ref: Any, partition: int | None) -> None:
        """Track one enqueued message."""
        if self._open is None:
            self._open_lists = ([], [], [], [])
            self._open = _Segment(*self._open_lists)
            self._segments.append(self._open)
        values, keys, refs, partitions = self._open_lists
        values.append(value)
        keys.append(key)
        refs.append(ref)
        partitions.append(_NO_PARTITION if partition is None else partition)
        self.size += 1

    def add_many(
        self,
        values: Sequence[bytes],
        keys: Sequence[bytes | None] | None,
        refs: Sequence[Any],
        skipped: set[int],
    ) -> None:
        """Track ``values[i]`` (key ``keys[i]``, ref ``refs[i]``) except positions ``skipped``."""
        segment = _Segment(values, keys, refs, None)
        segment.skipped = skipped
        self._segments.append(segment)
        self._open = None
        self.size += len(values) - len(skipped)

    def pop_ref(self, key: bytes | None, value: bytes | None, partition: int | None) -> Any:
        """Return (and forget) the ref of a failed message; ``None`` if it is not tracked."""
        if value is None:
            return None
        self._extend_index()
        entries = self._index.get((key, value))
        if not entries:
            return None
        chosen = 0
        # Prefer the message sent to exactly this partition, then one the partitioner placed.
        for position, (_, wanted) in enumerate(entries):
            if wanted == partition:
                chosen = position
                break
        else:
            for position, (_, wanted) in enumerate(entries):
                if wanted == _NO_PARTITION:
                    chosen = position
                    break
        ref, _ = entries.pop(chosen)
        if not entries:
            del self._index[(key, value)]
        return ref

    def clear(self) -> None:
        """Forget everything (the producer's queue is empty: nothing more will be reported)."""
        self._segments.clear()
        self._open = None
        self._first_unindexed = 0
        self._index.clear()
        self.size = 0

    def _extend_index(self) -> None:
        """Index the messages added since the last failure (amortised over a burst)."""
        index = self._index
        segments = self._segments
        for number in range(self._first_unindexed, len(segments)):
            segment = segments[number]
            keys, refs, partitions = segment.keys, segment.refs, segment.partitions
            skipped = segment.skipped
            for i in range(segment.indexed, len(segment.values)):
                if i in skipped:
                    continue
                pair = (None if keys is None else keys[i], segment.values[i])
                wanted = _NO_PARTITION if partitions is None else partitions[i]
                entries = index.get(pair)
                if entries is None:
                    index[pair] = [(refs[i], wanted)]
                else:
                    entries.append((refs[i], wanted))
            segment.indexed = len(segment.values)
        # The open segment may still grow; everything before it is complete.
        last = len(segments) - 1
        self._first_unindexed = last if segments and segments[last] is self._open else len(segments)
