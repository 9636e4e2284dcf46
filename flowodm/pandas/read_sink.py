"""The sinks of ``read_topic``: decoded rows per partition, and the frame built from them.

``Sink`` keeps each partition's rows (``Part``: column lists, metadata lists, and any runs of
rows decoded as arrays) and builds the frame in partition, offset order. ``ModelSink`` fills
it from models validated in chunks; the columnar sink (``read_columnar``) from Avro bodies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowodm.consume.decoding import MessageDecoder, located
from flowodm.consume.read_report import ReadFailure
from flowodm.exceptions import DeserializationError
from flowodm.pandas.read_columns import (
    ColumnPlan,
    FieldColumn,
    build_column,
    epoch_datetimes,
    plain,
)

if TYPE_CHECKING:
    from confluent_kafka import Message

    from flowodm.pandas.read_vector_run import Run
    from flowodm.serde.model_codec import ModelCodec

__all__ = ["ModelSink", "Part", "Sink"]


class Part:
    """The rows of one partition: column lists, runs of arrays between them, metadata asked for."""

    __slots__ = ("columns", "keys", "offsets", "runs", "stamps")

    def __init__(self, width: int, wanted: tuple[str, ...]) -> None:
        self.columns: list[list[Any]] = [[] for _ in range(width)]
        #: Runs of rows decoded as arrays, each with the number of list rows before it.
        self.runs: list[tuple[int, Run]] = []
        self.offsets: list[int] | None = [] if "_offset" in wanted else None
        self.keys: list[Any] | None = [] if "_key" in wanted else None
        self.stamps: list[int | None] | None = [] if "_timestamp" in wanted else None

    def rows(self) -> int:
        """The number of rows, in the lists and the runs."""
        listed = len(self.columns[0]) if self.columns else 0
        return listed + sum(run.rows for _, run in self.runs)

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


class Sink:
    """Collects decoded rows per partition and builds the frame in partition, offset order."""

    def __init__(self, codec: ModelCodec[Any], plan: ColumnPlan, wanted: tuple[str, ...]) -> None:
        self.codec = codec
        self.plan = plan
        self.wanted = wanted
        self.parts: dict[int, Part] = {}
        self.failures: list[ReadFailure] = []
        self.tombstones = 0
        self.columnar = 0
        #: The order of each part's column lists: the plan's field names.
        self.names = [f.name for f in plan.fields]

    def add(self, batch: dict[int, list[Message]]) -> None:
        """Decode one fetch's messages (grouped by partition)."""
        raise NotImplementedError

    def part(self, partition: int) -> Part:
        found = self.parts.get(partition)
        if found is None:
            found = self.parts[partition] = Part(len(self.names), self.wanted)
        return found

    def fail(self, error: DeserializationError, message: Message) -> None:
        self.failures.append(ReadFailure.of(located(error, message)))

    def frame(self, topic: str) -> pd.DataFrame:
        """The rows of every partition, partition by partition, as typed columns."""
        order = sorted(self.parts)
        index = {name: i for i, name in enumerate(self.names)}
        data: dict[str, Any] = {}
        for field in self.plan.fields:
            data[field.name] = self.field_array(field, index[field.name], order)
        counts = [self.parts[p].rows() for p in order]
        rows = sum(counts)
        for name in self.wanted:
            data[name] = self._metadata(name, order, counts, topic)
        return pd.DataFrame(data, index=pd.RangeIndex(rows))

    def field_array(self, field: FieldColumn, position: int, order: list[int]) -> Any:
        """The column of ``field`` (the parts' ``position``) over the partitions in ``order``."""
        values: list[Any] = []
        for partition in order:
            values += self.parts[partition].columns[position]
        return self.build(field, position, values)

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


class ModelSink(Sink):
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
