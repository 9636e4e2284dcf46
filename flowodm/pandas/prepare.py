"""Turn one chunk of a frame into messages ready to send, and account for every row.

Each row ends up either in ``Prepared.labels``/``values``/``keys`` (valid, encoded) or in
``Prepared.invalid`` with its reasons in ``Prepared.errors``. Rows first try the columnar fast
path when the model allows it; whatever that path does not admit goes through coercion →
pydantic (in batches of ``VALIDATE_BATCH``) → the model's encoder, where pydantic decides.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

import pandas as pd
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from flowodm.exceptions import SerializationError
from flowodm.pandas.coerce import coerce_series
from flowodm.pandas.columnar import ColumnarEncoder
from flowodm.pandas.columns import ColumnPlan
from flowodm.pandas.encoding import RowEncoding
from flowodm.pandas.fields import Kind, frame_fields
from flowodm.pandas.reports import RowError
from flowodm.pandas.validate import VALIDATE_BATCH, RowBuilder, RowValidator

__all__ = ["ChunkPreparer", "Prepared"]

M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class Prepared:
    """One chunk after validation and encoding.

    Attributes:
        labels: Frame index labels of the rows to send, in frame order.
        values: Their encoded values.
        keys: Their encoded keys (``None`` = no key).
        errors: Every problem of the invalid rows.
        invalid: Positions (in the chunk) of the invalid rows, in frame order.
        columnar: How many of the rows to send were encoded by the columnar path.
    """

    labels: list[Hashable] = field(default_factory=list)
    values: list[bytes] = field(default_factory=list)
    keys: list[bytes | None] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)
    columnar: int = 0


class ChunkPreparer(Generic[M]):
    """Validate and encode chunks of frames laid out by one ``ColumnPlan``.

    Args:
        model: The model rows must validate as.
        plan: Which column feeds which field, and the key column.
        encoding: How models and keys become bytes.
        columnar: Allow the columnar fast path (when the model qualifies).
    """

    def __init__(
        self, model: type[M], plan: ColumnPlan, encoding: RowEncoding, *, columnar: bool = True
    ) -> None:
        self.model = model
        self.plan = plan
        self.encoding = encoding
        self._fields = frame_fields(model)
        self._kinds = {f.name: f.kind for f in self._fields}
        self._field_rank = {f.name: i for i, f in enumerate(self._fields)}
        self._validator = RowValidator(model, self._fields)
        self._builder = RowBuilder([f.name for _, f in plan.pairs])
        key_field = encoding.key_field if plan.key_column is None else None
        self._key_field = key_field
        self._key_validator: Callable[[Any], Any] | None = None
        self._columnar: ColumnarEncoder | None = None
        # A float key field would serialize differently from the model's value (3 vs 3.0).
        if columnar and encoding.avro_values and self._kinds.get(key_field or "") != "float":
            self._columnar = ColumnarEncoder.build(model, encoding.schema, encoding.header)

    @property
    def columnar(self) -> bool:
        """Whether the columnar fast path is available for this model."""
        return self._columnar is not None

    # ---------------------------------------------------------------- models only

    def models(self, chunk: pd.DataFrame) -> Iterator[tuple[Hashable, M | None, list[RowError]]]:
        """Yield ``(label, model or None, errors)`` for every row of ``chunk``, in order."""
        labels = chunk.index.tolist()
        columns = self._coerce(chunk)
        for start in range(0, len(labels), VALIDATE_BATCH):
            batch = labels[start : start + VALIDATE_BATCH]
            rows = self._builder.rows(columns, start, len(batch))
            models, errors = self._validator.validate(rows, batch)
            by_label: dict[Hashable, list[RowError]] = {}
            for e in errors:
                by_label.setdefault(e.index, []).append(e)
            for label, model in zip(batch, models, strict=True):
                yield label, model, by_label.get(label, []) if model is None else []

    # ---------------------------------------------------------------- messages

    def prepare(self, chunk: pd.DataFrame) -> Prepared:
        """Validate and encode ``chunk``; every row ends up sendable or invalid."""
        labels = chunk.index.tolist()
        out = Prepared()
        rest = list(range(len(labels)))
        fast = _Rows()
        if self._columnar is not None:
            columns = {f.name: chunk[col] for col, f in self.plan.pairs}
            result = self._columnar.encode(columns, len(labels))
            if result is not None:
                rest = result.rest
                keys = self._fast_keys(chunk, result.rows, labels, out)
                fast.extend(result.rows, result.values, keys)
                out.columnar = len(fast.positions)
        slow = _Rows()
        if rest:
            part = chunk if len(rest) == len(labels) else chunk.iloc[rest]
            slow = self._slow(part, rest, labels, out)
        rows = fast.merge(slow)
        out.labels = [labels[pos] for pos in rows.positions]
        out.values = rows.values
        out.keys = rows.keys
        out.invalid.sort()
        self._sort_errors(out.errors, labels)
        return out

    def _sort_errors(self, errors: list[RowError], labels: list[Hashable]) -> None:
        """Order ``errors`` by row position, then model field order (a key column last).

        Errors are found by several passes (columnar keys, validation, encoding); the report
        lists them as the frame has the rows. The sort is stable, so pydantic's order within
        one field (e.g. list items) stays.
        """
        if len(errors) < 2:
            return
        position = {label: pos for pos, label in enumerate(labels)}
        rank = self._field_rank
        last = len(rank)
        errors.sort(
            key=lambda e: (position[e.index], rank.get((e.field or "").split(".")[0], last))
        )

    def _fast_keys(
        self, chunk: pd.DataFrame, rows: list[int], labels: list[Hashable], out: Prepared
    ) -> list[Any]:
        """Keys of the rows the columnar path encoded (``_INVALID`` marks a bad key)."""
        column = self.plan.key_column
        if column is None and self._key_field is not None:
            column = self.plan.column_for(self._key_field)
            if column is None:  # the key field has no column: every row has its default
                default = self._fields_by_name()[self._key_field].info.default
                return self._keys([default] * len(rows), rows, labels, out, None)
        if column is None:
            return [None] * len(rows)
        kind = self._kinds.get(self._key_field or "", "int")
        series = chunk[column]
        values = coerce_series(series if len(rows) == len(series) else series.iloc[rows], kind)
        return self._keys(values, rows, labels, out, column if self._key_field is None else None)

    def _keys(
        self,
        values: list[Any],
        positions: list[int],
        labels: list[Hashable],
        out: Prepared,
        column: Hashable | None,
    ) -> list[Any]:
        """Encode key values; a bad key gives ``_INVALID`` and an error for its row."""
        key = self._key
        if self.encoding.key_serializer == "string":
            # The string serializer writes a plain str as its UTF-8 bytes; doing that inline
            # saves a call per row, and anything else still goes through the serializer.
            return [
                v.encode("utf-8") if type(v) is str else key(labels[p], v, out, p, column)
                for p, v in zip(positions, values, strict=True)
            ]
        return [key(labels[p], v, out, p, column) for p, v in zip(positions, values, strict=True)]

    def _slow(
        self, part: pd.DataFrame, positions: list[int], labels: list[Hashable], out: Prepared
    ) -> _Rows:
        """The per-row path: coerce, validate in batches, encode."""
        columns = self._coerce(part)
        key_column = self.plan.key_column
        keys = coerce_series(part[key_column], "int") if key_column is not None else None
        sent = _Rows()
        for start in range(0, len(positions), VALIDATE_BATCH):
            batch_pos = positions[start : start + VALIDATE_BATCH]
            batch_labels = [labels[p] for p in batch_pos]
            rows = self._builder.rows(columns, start, len(batch_pos))
            models, errors = self._validator.validate(rows, batch_labels)
            out.errors.extend(errors)
            if keys is not None:
                key_values = keys[start : start + len(batch_pos)]
            elif self._key_field is not None:
                key_values = [getattr(m, self._key_field, None) for m in models]
            else:
                key_values = None
            if not errors and self._encode_batch(models, batch_pos, key_values, labels, out, sent):
                continue
            for i, (pos, model) in enumerate(zip(batch_pos, models, strict=True)):
                if model is None:
                    out.invalid.append(pos)
                else:
                    one = None if key_values is None else key_values[i : i + 1]
                    self._encode_batch([model], [pos], one, labels, out, sent, row=rows[i])
        return sent

    def _encode_batch(
        self,
        models: list[Any],
        positions: list[int],
        key_values: list[Any] | None,
        labels: list[Hashable],
        out: Prepared,
        sent: _Rows,
        *,
        row: Mapping[str, Any] | None = None,
    ) -> bool:
        """Encode valid models with their keys into ``sent``.

        Returns ``False`` (having added nothing) when a value cannot be encoded and the batch
        must be redone row by row. Given ``row`` (the one model's coerced input), the row is
        encoded alone and a value that cannot be encoded makes it invalid, with that input.
        """
        per_row = row is not None
        try:
            # One row is encoded alone so that its error message names no batch position.
            values = [self.encoding.value(models[0])] if per_row else self.encoding.values(models)
        except SerializationError as exc:
            if row is None:
                return False
            pos = positions[0]
            value = row.get(exc.field) if exc.field is not None else None
            out.errors.append(RowError(labels[pos], exc.field, str(exc), "serialization", value))
            out.invalid.append(pos)
            return True
        if key_values is None:
            sent.extend(positions, values, [None] * len(values))
            return True
        column = self.plan.key_column
        keys = self._keys(key_values, positions, labels, out, column)
        sent.extend(positions, values, keys)
        return True

    def _key(
        self, label: Hashable, value: Any, out: Prepared, pos: int, column: Hashable | None
    ) -> Any:
        """Encode one key; a bad or (for a key column) missing key makes the row invalid."""
        if value is None and column is not None:
            out.errors.append(
                RowError(
                    label,
                    str(column),
                    f"key column {column!r} has a missing value; every message needs its key",
                    "missing_key",
                )
            )
            out.invalid.append(pos)
            return _INVALID
        try:
            return self.encoding.key(value)
        except SerializationError as exc:
            name = str(column) if column is not None else self._key_field
            out.errors.append(RowError(label, name, str(exc), "key", value))
            out.invalid.append(pos)
            return _INVALID

    # ---------------------------------------------------------------- dead letters

    def invalid_row_keys(self, chunk: pd.DataFrame, positions: list[int]) -> list[bytes | None]:
        """The message key each of these (invalid) rows would have had, for its dead letter.

        From the key column (coerced as for valid rows), or the model's ``key_field`` value
        validated against that field's type alone; ``None`` where the value is missing or
        cannot be a key (for instance it is the very value that made the row invalid).
        """
        column = self.plan.key_column
        kind: Kind = "int"  # a key column: exact floats become ints, as for the rows sent
        validate: Callable[[Any], Any] | None = None
        if column is None:
            if self._key_field is None:
                return [None] * len(positions)
            key_field = self._fields_by_name()[self._key_field]
            column = self.plan.column_for(self._key_field)
            kind = key_field.kind
            if self._key_validator is None:  # built on first use: only dead letters need it
                self._key_validator = _field_validator(key_field.info)
            validate = self._key_validator
            if column is None:  # no column: every row has the field's default
                default = key_field.info.default if key_field.has_plain_default else None
                return [self._dead_letter_key(default, validate)] * len(positions)
        values = coerce_series(chunk[column].iloc[positions], kind)
        return [self._dead_letter_key(value, validate) for value in values]

    def _dead_letter_key(self, value: Any, validate: Callable[[Any], Any] | None) -> bytes | None:
        if value is None:
            return None
        try:
            return self.encoding.key(value if validate is None else validate(value))
        except (ValidationError, SerializationError):
            return None

    def _coerce(self, part: pd.DataFrame) -> dict[str, list[Any]]:
        return {f.name: coerce_series(part[col], f.kind) for col, f in self.plan.pairs}

    def _fields_by_name(self) -> dict[str, Any]:
        return {f.name: f for f in self._fields}


def _field_validator(info: FieldInfo) -> Callable[[Any], Any]:
    """Validate a value against one field's type and constraints (not the whole model)."""
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    return TypeAdapter(annotation).validate_python


class _Invalid:
    """Marker for a row whose key could not be encoded."""


_INVALID: Any = _Invalid()


class _Rows:
    """Rows ready to send, as parallel lists (no per-row tuples for the GC to track)."""

    __slots__ = ("keys", "positions", "values")

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.values: list[bytes] = []
        self.keys: list[bytes | None] = []

    def extend(self, positions: list[int], values: list[bytes], keys: list[Any]) -> None:
        """Add rows, dropping those whose key is ``_INVALID`` (already reported)."""
        if _INVALID in keys:  # a C-level scan; _Invalid compares by identity only
            kept = [i for i, k in enumerate(keys) if k is not _INVALID]
            positions = [positions[i] for i in kept]
            values = [values[i] for i in kept]
            keys = [keys[i] for i in kept]
        self.positions.extend(positions)
        self.values.extend(values)
        self.keys.extend(keys)

    def merge(self, other: _Rows) -> _Rows:
        """Both sets of rows in frame order (each is already in order)."""
        if not other.positions:
            return self
        if not self.positions:
            return other
        order = sorted(
            range(len(self.positions) + len(other.positions)),
            key=(self.positions + other.positions).__getitem__,
        )
        merged = _Rows()
        positions = self.positions + other.positions
        values = self.values + other.values
        keys = self.keys + other.keys
        merged.positions = [positions[i] for i in order]
        merged.values = [values[i] for i in order]
        merged.keys = [keys[i] for i in order]
        return merged
