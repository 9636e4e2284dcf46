"""``read_topic``'s columnar sink: Avro bodies decoded straight into columns, no model per row.

Two decoders fill the columns, with the same values:

- **vectorised** (``read_vector``), for flat records of scalars, enums and optional scalars:
  each partition's values are kept until about ``RUN_ROWS`` have come, then decoded all at
  once into arrays (a ``Run``). A row it does not take (a tombstone, a bad key, another
  schema, unusual or bad bytes) splits the run there and is handled on its own, as below.
- **per row** (``_decodegen``), for every other schema and every row set aside: one
  ``decode_rows`` call per stretch of plain values, and ``_one`` for each value it stops at
  (any schema, through Avro resolution; failures reported with their coordinates).

Rows stay in offset order: a run is stored with the number of list rows before it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from flowodm.exceptions import DeserializationError
from flowodm.pandas.read_columns import ColumnPlan, FieldColumn, epoch_datetimes, epoch_longs
from flowodm.pandas.read_sink import Part, Sink
from flowodm.serde.wire import HEADER_SIZE

if TYPE_CHECKING:
    from confluent_kafka import Message

    from flowodm.pandas.read_vector import VectorDecoder
    from flowodm.pandas.read_vector_run import Run
    from flowodm.serde._decodegen import ColumnDecoding, RowsDecoder
    from flowodm.serde.model_codec import ModelCodec

__all__ = ["RUN_ROWS", "ColumnarSink"]

#: A partition's values are decoded at once when this many are waiting (and at the end):
#: large enough that numpy's per-call cost is spread thin, small enough to stay in cache.
RUN_ROWS = 16384

_log = logging.getLogger(__name__)


class _Pending:
    """A partition's messages waiting for the vectorised decoder, with values and keys."""

    __slots__ = ("keys", "messages", "values")

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.values: list[Any] = []
        self.keys: list[Any] = []


class ColumnarSink(Sink):
    """Decodes Avro bodies straight into the columns (see the module docstring)."""

    def __init__(
        self,
        codec: ModelCodec[Any],
        plan: ColumnPlan,
        wanted: tuple[str, ...],
        decoder: ColumnDecoding,
    ) -> None:
        super().__init__(codec, plan, wanted)
        self.names, self._decode_into, units = decoder  # the parts' columns: the schema's order
        # Timestamp columns hold longs (the decoder's and ``_slow``'s), converted per column.
        self._epoch_units = units
        self._prefix: bytes | None = None  # the header of the last value of the model's schema
        self._decode_rows: RowsDecoder = codec.rows_decoder or _one_by_one
        self._vector = _vector_decoder(codec, plan, units)
        self._pending: dict[int, _Pending] = {}
        #: Rows decoded by the vectorised decoder (also counted in ``columnar``).
        self.vectorised = 0

    def add(self, batch: dict[int, list[Message]]) -> None:
        """Decode one fetch's messages: keep them for a run, or decode them row by row."""
        for partition, messages in batch.items():
            values: list[Any] = [message.value() for message in messages]
            keys = self._keys(messages, values)
            if self._vector is None:
                self._rows(self.part(partition), messages, values, keys)
                continue
            pending = self._pending.get(partition)
            if pending is None:
                pending = self._pending[partition] = _Pending()
            pending.messages += messages
            pending.values += values
            if self.part(partition).keys is not None:
                pending.keys += [None] * len(messages) if keys is None else keys
            if len(pending.values) >= RUN_ROWS:
                self._run(partition)

    def frame(self, topic: str) -> pd.DataFrame:
        """Decode what is still pending, then build the frame (``Sink.frame``)."""
        for partition in list(self._pending):
            self._run(partition)
        if self._vector is not None:
            _log.debug("read %s: %d rows vectorised", topic, self.vectorised)
        return super().frame(topic)

    def _run(self, partition: int) -> None:
        """Decode a partition's pending values at once; rows it does not take one by one."""
        pending = self._pending.pop(partition)
        vector, part = self._vector, self.part(partition)
        assert vector is not None
        messages, values = pending.messages, pending.values
        keys = pending.keys if part.keys is not None else None
        plain_rows = part.offsets is None and part.keys is None and part.stamps is None
        start, count = 0, len(values)
        while start < count and self.codec.framed and self._prefix is None:
            self._one(messages[start], part, plain_rows)  # learns the model's header
            start += 1
        if start == count:
            return
        head = (self._prefix or b"") if self.codec.framed else b""  # the loop above set it
        good, run = vector.decode(values[start:], head)
        bad = (~good).nonzero()[0].tolist()
        first = 0
        for stop in [*bad, count - start]:
            if stop > first:
                self._take(part, run.slice(first, stop), messages, keys, start + first, plain_rows)
            if stop < count - start:
                self._one(messages[start + stop], part, plain_rows)
            first = stop + 1

    def _take(
        self,
        part: Part,
        run: Run,
        messages: list[Message],
        keys: list[Any] | None,
        start: int,
        plain_rows: bool,
    ) -> None:
        """Add ``run``, the rows of ``messages[start:]``, after the part's list rows."""
        part.runs.append((len(part.columns[0]), run))
        self.columnar += run.rows
        self.vectorised += run.rows
        if not plain_rows:
            stop = start + run.rows
            part.note_many(messages[start:stop], None if keys is None else keys[start:stop])

    def _rows(
        self, part: Part, messages: list[Message], values: list[Any], keys: list[Any] | None
    ) -> None:
        """Decode ``values`` with one ``decode_rows`` call per stretch of plain values.

        ``decode_rows`` stops at the first value it does not take (a tombstone, a bad key,
        another schema, unusual bytes); ``_one`` handles that message as it would any, and
        the next stretch starts after it.
        """
        decode_rows, framed, columns = self._decode_rows, self.codec.framed, part.columns
        plain_rows = part.offsets is None and part.keys is None and part.stamps is None
        count, index = len(values), 0
        while index < count:
            head = self._prefix if framed else b""
            stop = index if head is None else decode_rows(values, columns, index, head)
            if stop > index:
                self.columnar += stop - index
                if not plain_rows:
                    part.note_many(messages[index:stop], None if keys is None else keys[index:stop])
            if stop < count:
                self._one(messages[stop], part, plain_rows)
            index = stop + 1

    def _keys(self, messages: list[Message], values: list[Any]) -> list[Any] | None:
        """The decoded keys of ``messages`` (``None``: none has a key).

        The value of a message whose key does not decode is replaced by ``None`` in
        ``values``, so that the decoders set it aside and ``_one`` reports it.
        """
        raw: list[Any] = [message.key() for message in messages]
        if raw.count(None) == len(raw):
            return None
        decode_key = self.codec.decode_key
        keys: list[Any] = []
        for index, key in enumerate(raw):
            try:
                keys.append(None if key is None else decode_key(key))
            except DeserializationError:
                keys.append(None)
                values[index] = None
        return keys

    def _one(self, message: Message, part: Part, plain_rows: bool) -> None:
        """Add one message the fast paths did not take: any value, any key, any schema."""
        value = message.value()
        if value is None:
            self.tombstones += 1
            return
        raw_key = message.key()
        columns = part.columns
        try:
            key = None if raw_key is None else self.codec.decode_key(raw_key)
            start = 0
            if self.codec.framed:
                prefix = self._prefix
                if prefix is None or not value.startswith(prefix):
                    head = value[:HEADER_SIZE]
                    self._prefix = prefix = head if self.codec.same_schema_prefix(head) else None
                start = -1 if prefix is None else HEADER_SIZE
            if start < 0:
                self._slow(value, columns)
            else:
                try:
                    self._decode_into(value, columns, start)
                    self.columnar += 1
                except Exception:  # unusual bytes: fastavro decodes or explains
                    self._slow(value, columns)
        except DeserializationError as exc:
            self.fail(exc, message)
            return
        if not plain_rows:
            part.note(message, key)

    def _slow(self, value: bytes, columns: list[list[Any]]) -> None:
        """Decode ``value`` with schema resolution and append its fields to the columns."""
        datum = self.codec.decode_datum(value)
        units = self._epoch_units
        for position, (column, name) in enumerate(zip(columns, self.names, strict=True)):
            cell = datum[name]
            column.append(epoch_longs(cell, units[position]) if position in units else cell)

    def field_array(self, field: FieldColumn, position: int, order: list[int]) -> Any:
        """The column over the partitions: list stretches and runs joined in row order."""
        if not any(self.parts[p].runs for p in order):
            return super().field_array(field, position, order)
        from flowodm.pandas.read_vector_run import column_array

        unit = self._epoch_units.get(position)
        pieces: list[Any] = []  # alternating list values and lists of run columns
        for partition in order:
            part = self.parts[partition]
            values, done = part.columns[position], 0
            for at, run in part.runs:
                _extend(pieces, values[done:at], list)
                _extend(pieces, [run.columns[position]], tuple)
                done = at
            _extend(pieces, values[done:], list)
        arrays = [
            column_array(field, unit, list(piece))
            if isinstance(piece, tuple)
            else self.build(field, position, piece)
            for piece in pieces
        ]
        if len(arrays) == 1:
            return arrays[0]
        return pd.concat([pd.Series(a, copy=False) for a in arrays], ignore_index=True)

    def build(self, field: FieldColumn, position: int, values: list[Any]) -> Any:
        unit = self._epoch_units.get(position)
        return (
            super().build(field, position, values)
            if unit is None
            else epoch_datetimes(values, unit)
        )


def _extend(pieces: list[Any], items: list[Any], kind: type) -> None:
    """Append ``items`` to the last piece if it is of ``kind``, else as a new piece."""
    if not items:
        return
    if pieces and type(pieces[-1]) is kind:
        pieces[-1] = pieces[-1] + kind(items)
    else:
        pieces.append(kind(items))


def _vector_decoder(
    codec: ModelCodec[Any], plan: ColumnPlan, units: dict[int, str]
) -> VectorDecoder | None:
    """The vectorised decoder of the model's schema, if it takes it and strings are Arrow's."""
    if pd.StringDtype().storage != "pyarrow":
        return None  # its strings are pyarrow arrays; build_column's would be another kind
    try:
        from flowodm.pandas.read_vector import vector_decoder
    except ImportError:  # pragma: no cover - pyarrow is in the pandas extra
        return None
    return vector_decoder(codec.schema, {f.name: f for f in plan.fields}, units)


def _one_by_one(values: list[Any], columns: list[list[Any]], index: int, head: bytes) -> int:
    """A ``RowsDecoder`` that takes nothing: every message goes through ``_one``."""
    return index
