"""``read_topic``: a topic as it is now, as a DataFrame with one column per model field.

What is read, in which order, and when the read stops is ``flowodm.consume.reader``'s (its
module docstring): every partition from ``start`` to the end offsets taken when the read
starts, rows sorted by partition then offset. Column dtypes are in
``flowodm.pandas.read_columns``.

Every message read is accounted for in the ``ReadReport`` at ``df.attrs["flowodm_report"]``:

- a row, or
- a **tombstone** (null value, Kafka's deletion marker): no row, counted in
  ``report.tombstones``;
- a **failure** (its key or value does not decode, or does not validate as the model): no
  row, listed in ``report.failures`` with partition, offset, field and reason. With
  ``on_error="raise"`` (the default) a failure raises ``TopicReadError``, whose ``partial`` is
  the frame of the other rows and ``report`` the report; ``on_error="report"`` returns the frame.

Two decoding paths give the same frame (``columnar=False`` forces the second):

- **columnar**, for models whose fields are all exact (``read_columns``): each value whose
  writer schema is the model's own is decoded straight into the columns by the schema's
  generated column decoder; values written with another schema version are decoded with Avro
  schema resolution (``decode_datum``) and appended to the same columns. Nothing is validated,
  because for these fields nothing could fail or change: Avro's types are the fields' types.
- **model**, for every other model: values are validated as the model in chunks of 256
  (``consume.decoding``), exactly as ``consume_iter`` does, and the columns are taken from the
  models (nested models as dicts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from flowodm._arguments import did_you_mean, require_choice
from flowodm.consume.decoding import MessageDecoder, located
from flowodm.consume.read_report import ReadFailure, TopicReadError, interrupted_read
from flowodm.consume.reader import OnError, Start, TopicReader
from flowodm.exceptions import ArgumentTypeError, DeserializationError, InvalidArgumentError
from flowodm.kafka.connection import get_connection
from flowodm.pandas.pipeline import check_model
from flowodm.pandas.read_columns import (
    ColumnPlan,
    FieldColumn,
    build_column,
    column_plan,
    epoch_datetimes,
    epoch_longs,
    plain,
)
from flowodm.serde.model_codec import get_model_codec
from flowodm.serde.wire import HEADER_SIZE
from flowodm.settings import display_name

if TYPE_CHECKING:
    from confluent_kafka import Message

    from flowodm.kafka.connection import Connection
    from flowodm.progress import ProgressOption
    from flowodm.serde._decodegen import ColumnDecoding, RowsDecoder
    from flowodm.serde.model_codec import ModelCodec

__all__ = [
    "METADATA_COLUMNS",
    "REPORT_ATTR",
    "check_read_options",
    "empty_frame",
    "read_frame",
    "read_topic",
]

M = TypeVar("M", bound=BaseModel)

#: The optional columns of each message's coordinates, in this order after the fields.
METADATA_COLUMNS = ("_topic", "_partition", "_offset", "_key", "_timestamp")
#: Where the read's ``ReadReport`` is kept: ``df.attrs[REPORT_ATTR]``.
REPORT_ATTR = "flowodm_report"

_NAT = np.iinfo(np.int64).min


def read_topic(
    model: type[M],
    *,
    start: Start = "earliest",
    max_messages: int | None = None,
    timeout: float | None = None,
    follow: bool = False,
    topic: str | None = None,
    connection: Connection | None = None,
    consumer_config: Mapping[str, Any] | None = None,
    metadata: bool | Sequence[str] = False,
    on_error: OnError = "raise",
    progress: ProgressOption = None,
    columnar: bool = True,
) -> pd.DataFrame:
    """Read the model's topic as it is now into a DataFrame (see the module docstring).

    Args:
        model: The ``FlowBaseModel`` subclass of the topic's values.
        start: ``"earliest"`` (default), ``"latest"`` (with ``follow``), a ``datetime``
            (naive means UTC) or ``{partition: offset}`` (only those partitions).
        max_messages: Stop after this many messages (the first in partition, offset order).
        timeout: Stop after this many seconds overall; the report says the read stopped early.
        follow: Read on past the end offsets until ``max_messages`` or ``timeout``.
        topic: Read this topic instead of the model's ``Settings.topic``.
        connection: The connection (default: the current one).
        consumer_config: librdkafka properties for this read (e.g. ``isolation.level``).
        metadata: Add message coordinates after the fields: ``True`` for all of
            ``_topic, _partition, _offset, _key, _timestamp``, or a list of some of them.
        on_error: ``"raise"`` (default) or ``"report"`` (module docstring).
        progress: A bar counting messages read: ``None`` (in notebooks and terminals unless
            ``FLOWODM_PROGRESS=0``), ``False``, ``True``, ``"text"``, ``"widget"`` or a tqdm class.
        columnar: Allow the columnar path (default); ``False`` validates every row as the model.

    Returns:
        One row per message, with the report at ``df.attrs["flowodm_report"]``.

    Raises:
        TopicReadError: a message failed to decode and ``on_error="raise"``.
        ReadInterrupted: Ctrl-C (a ``KeyboardInterrupt``), with ``.report`` and ``.partial``.
        ConsumerError: the topic or a named partition does not exist, or the broker failed.
        SchemaRegistryError: a writer's schema could not be fetched.
        ArgumentTypeError / InvalidArgumentError: a bad argument (named).
    """
    wanted = check_read_options(model, metadata, on_error, columnar)
    conn = connection if connection is not None else get_connection()
    codec = get_model_codec(model, conn, topic=topic)
    reader = TopicReader(
        conn,
        codec.topic,
        start=start,
        max_messages=max_messages,
        timeout=timeout,
        follow=follow,
        consumer_config=consumer_config,
        progress=progress,
    )
    return read_frame(model, codec, reader, wanted, on_error=on_error, columnar=columnar)


def check_read_options(
    model: type[BaseModel],
    metadata: object,
    on_error: object,
    columnar: object,
    caller: str = "read_topic",
) -> tuple[str, ...]:
    """Check ``read_topic``'s options before anything connects; return the metadata columns."""
    check_model(model, caller)
    wanted = _metadata_columns(metadata)
    require_choice("on_error", on_error, ("raise", "report"))
    if not isinstance(columnar, bool):
        raise ArgumentTypeError(
            f"columnar must be True or False, not {columnar!r}", argument="columnar"
        )
    return wanted


def empty_frame(
    model: type[BaseModel], codec: ModelCodec[Any], wanted: tuple[str, ...], columnar: bool
) -> pd.DataFrame:
    """The frame of a read that found no message: ``read_topic``'s columns and dtypes, no rows.

    Built by the very sink a read uses, so it is the exact ``meta`` of a Dask read.
    """
    return _sink(model, codec, wanted, columnar).frame(codec.topic)


def read_frame(
    model: type[BaseModel],
    codec: ModelCodec[Any],
    reader: TopicReader,
    wanted: tuple[str, ...],
    *,
    on_error: OnError,
    columnar: bool,
) -> pd.DataFrame:
    """Read with ``reader`` (not yet opened) into ``read_topic``'s frame, with its report.

    ``read_topic`` is this with a reader of its arguments; a Dask task is this with a reader
    of one offset range (``TopicReader(until=...)``).

    Raises:
        TopicReadError: a message failed to decode and ``on_error="raise"``.
    """
    sink = _sink(model, codec, wanted, columnar)
    with reader:
        for batch in reader.batches():
            sink.add(batch)
    frame = sink.frame(codec.topic)
    report = reader.report(
        display_name(model),
        returned=len(frame),
        failures=sink.failures,
        tombstones=sink.tombstones,
        columnar=sink.columnar,
    )
    frame.attrs[REPORT_ATTR] = report
    if report.stopped == "interrupted":
        raise interrupted_read(report, frame)
    if report.failures and on_error == "raise":
        raise TopicReadError(report, frame)
    return frame


def _metadata_columns(metadata: object) -> tuple[str, ...]:
    if metadata is True:
        return METADATA_COLUMNS
    if metadata is False or metadata is None:
        return ()
    if isinstance(metadata, str) or not isinstance(metadata, Sequence):
        raise ArgumentTypeError(
            f"metadata must be True, False or a list of {', '.join(METADATA_COLUMNS)}, "
            f"not {metadata!r}",
            argument="metadata",
        )
    for name in metadata:
        if name not in METADATA_COLUMNS:
            hint = did_you_mean(name, METADATA_COLUMNS) if isinstance(name, str) else ""
            raise InvalidArgumentError(
                f"metadata: unknown column {name!r}{hint}; the columns are "
                f"{', '.join(METADATA_COLUMNS)}",
                argument="metadata",
            )
    return tuple(c for c in METADATA_COLUMNS if c in metadata)


def _sink(
    model: type[BaseModel], codec: ModelCodec[Any], wanted: tuple[str, ...], columnar: bool
) -> _Sink:
    plan = column_plan(model)
    fast = codec.column_decoder if columnar and _columnar(plan, codec) else None
    if fast is None:
        return _ModelSink(codec, plan, wanted)
    return _ColumnarSink(codec, plan, wanted, fast)


def _columnar(plan: ColumnPlan, codec: ModelCodec[Any]) -> bool:
    # A schema_path file may give a field another Avro type than its annotation: validate.
    return plan.columnar and not codec.is_json and codec.settings.schema_path is None


class _Part:
    """The rows of one partition, as column lists (plus the metadata asked for)."""

    __slots__ = ("columns", "keys", "offsets", "stamps")

    def __init__(self, width: int, wanted: tuple[str, ...]) -> None:
        self.columns: list[list[Any]] = [[] for _ in range(width)]
        self.offsets: list[int] | None = [] if "_offset" in wanted else None
        self.keys: list[Any] | None = [] if "_key" in wanted else None
        self.stamps: list[int | None] | None = [] if "_timestamp" in wanted else None

    def note_many(self, messages: list[Message], keys: list[Any] | None) -> None:
        """``note`` for rows just added from ``messages`` (``keys``: their keys, or all None)."""
        if self.offsets is not None:
            self.offsets += [message.offset() for message in messages]  # type: ignore[misc]
        if self.keys is not None:
            self.keys += [None] * len(messages) if keys is None else keys
        if self.stamps is not None:
            stamps = [message.timestamp() for message in messages]
            self.stamps += [millis if kind else None for kind, millis in stamps]

    def note(self, message: Message, key: Any) -> None:
        """Record the metadata of a row just added."""
        if self.offsets is not None:
            self.offsets.append(message.offset())  # type: ignore[arg-type]
        if self.keys is not None:
            self.keys.append(key)
        if self.stamps is not None:
            kind, millis = message.timestamp()
            self.stamps.append(millis if kind else None)


class _Sink:
    """Collects decoded rows per partition and builds the frame in partition, offset order."""

    def __init__(self, codec: ModelCodec[Any], plan: ColumnPlan, wanted: tuple[str, ...]) -> None:
        self.codec = codec
        self.plan = plan
        self.wanted = wanted
        self.parts: dict[int, _Part] = {}
        self.failures: list[ReadFailure] = []
        self.tombstones = 0
        self.columnar = 0
        #: The order of each part's column lists: the plan's field names.
        self.names = [f.name for f in plan.fields]

    def add(self, batch: dict[int, list[Message]]) -> None:
        """Decode one fetch's messages (grouped by partition)."""
        raise NotImplementedError

    def part(self, partition: int) -> _Part:
        found = self.parts.get(partition)
        if found is None:
            found = self.parts[partition] = _Part(len(self.names), self.wanted)
        return found

    def fail(self, error: DeserializationError, message: Message) -> None:
        self.failures.append(ReadFailure.of(located(error, message)))

    def frame(self, topic: str) -> pd.DataFrame:
        """The rows of every partition, partition by partition, as typed columns."""
        order = sorted(self.parts)
        index = {name: i for i, name in enumerate(self.names)}
        data: dict[str, Any] = {}
        for field in self.plan.fields:
            values: list[Any] = []
            for partition in order:
                values += self.parts[partition].columns[index[field.name]]
            data[field.name] = self.build(field, index[field.name], values)
        counts = [len(self.parts[p].columns[0]) if self.names else 0 for p in order]
        rows = sum(counts)
        for name in self.wanted:
            data[name] = self._metadata(name, order, counts, topic)
        return pd.DataFrame(data, index=pd.RangeIndex(rows))

    def build(self, field: FieldColumn, position: int, values: list[Any]) -> Any:
        """The array of one field's column, from its values in the parts' ``position``."""
        return build_column(field, values)

    def _metadata(self, name: str, order: list[int], counts: list[int], topic: str) -> Any:
        rows = sum(counts)
        if name == "_topic":
            return pd.array([topic] * rows, dtype=pd.StringDtype())
        if name == "_partition":
            return np.repeat(np.array(order, dtype=np.int64), counts)
        parts = [self.parts[p] for p in order]
        if name == "_offset":
            return np.array([o for part in parts for o in part.offsets or ()], dtype=np.int64)
        if name == "_key":
            keys = [k for part in parts for k in part.keys or ()]
            if self.codec.settings.key_serializer == "string":
                return pd.array(keys, dtype=pd.StringDtype())
            return pd.Series(keys, dtype=object).array
        stamps = [s for part in parts for s in part.stamps or ()]
        return epoch_datetimes(stamps, "ms", as_unit="ms")


class _ModelSink(_Sink):
    """Validates each chunk as the model (``MessageDecoder``), then takes columns from models."""

    def __init__(self, codec: ModelCodec[Any], plan: ColumnPlan, wanted: tuple[str, ...]) -> None:
        super().__init__(codec, plan, wanted)
        self._decoder = MessageDecoder(codec)
        # Nested values become dicts and lists; enum members their values.
        self._plain = [f.dtype in ("object", "category") for f in plan.fields]

    def add(self, batch: dict[int, list[Message]]) -> None:
        names, nested = self.names, self._plain
        for partition, messages in batch.items():
            part = self.part(partition)
            columns = part.columns
            for message, item in zip(messages, self._decoder.decode(messages), strict=True):
                if isinstance(item, DeserializationError):
                    self.failures.append(ReadFailure.of(item))
                    continue
                value = item.value
                if value is None:
                    self.tombstones += 1
                    continue
                attrs = value.__dict__
                for column, name, dump in zip(columns, names, nested, strict=True):
                    cell = attrs[name]
                    column.append(plain(cell) if dump else cell)
                part.note(message, item.key)


class _ColumnarSink(_Sink):
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

    def add(self, batch: dict[int, list[Message]]) -> None:
        """Decode each partition's run with one ``decode_rows`` call per stretch of plain values.

        ``decode_rows`` stops at the first value it does not take (a tombstone, a bad key,
        another schema, unusual bytes); ``_one`` handles that message as it would any, and
        the next stretch starts after it.
        """
        decode_rows, framed = self._decode_rows, self.codec.framed
        for partition, messages in batch.items():
            part = self.part(partition)
            columns = part.columns
            values: list[Any] = [message.value() for message in messages]
            keys = self._keys(messages, values)
            plain_rows = part.offsets is None and part.keys is None and part.stamps is None
            count, index = len(values), 0
            while index < count:
                head = self._prefix if framed else b""
                stop = index if head is None else decode_rows(values, columns, index, head)
                if stop > index:
                    self.columnar += stop - index
                    if not plain_rows:
                        part.note_many(
                            messages[index:stop], None if keys is None else keys[index:stop]
                        )
                if stop < count:
                    self._one(messages[stop], part, plain_rows)
                index = stop + 1

    def _keys(self, messages: list[Message], values: list[Any]) -> list[Any] | None:
        """The decoded keys of ``messages`` (``None``: none has a key).

        The value of a message whose key does not decode is replaced by ``None`` in
        ``values``, so that ``decode_rows`` stops there and ``_one`` reports it.
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

    def _one(self, message: Message, part: _Part, plain_rows: bool) -> None:
        """Add one message the fast path did not take: any value, any key, any schema."""
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

    def build(self, field: FieldColumn, position: int, values: list[Any]) -> Any:
        unit = self._epoch_units.get(position)
        return build_column(field, values) if unit is None else epoch_datetimes(values, unit)


def _one_by_one(values: list[Any], columns: list[list[Any]], index: int, head: bytes) -> int:
    """A ``RowsDecoder`` that takes nothing: every message goes through ``_one``."""
    return index
