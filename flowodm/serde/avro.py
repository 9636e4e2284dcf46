"""``AvroCodec``: encode and decode Avro bodies (no framing) for one schema, parsed once.

Encoding uses a schema-specialised encoder generated once per schema (see ``_codegen``); any
datum it does not handle goes to fastavro's ``schemaless_writer`` with the pre-parsed schema
and a reused buffer, so the output is always fastavro's.

The writing rule (docs/avro-mapping.md, "Codec behaviour"): a record datum has every field of
its schema except those with a default, and no others (fastavro's ``strict_allow_default``);
an untagged union value goes to the branch fastavro's ``write_union`` picks, where a record
branch the datum lacks a default-less field of does not count (``_unions``).

Decoding with this schema as the writer's uses a schema-specialised decoder generated once per
schema (see ``_decodegen``); any body it does not decode (bad, truncated or unusual data) goes
to fastavro's ``schemaless_reader``, so the value or the error is always fastavro's. When another
writer schema is given, fastavro's Avro schema resolution maps the writer's data onto this
(reader) schema.

Naive datetimes are encoded as UTC on both paths (FlowODM's rule), never as local time.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from io import BytesIO
from typing import Any

import fastavro
from fastavro.validation import ValidationError, validate

from flowodm.exceptions import DeserializationError, SchemaGenerationError, SerializationError
from flowodm.serde._codegen import Encoder, Unsupported, compile_encoder
from flowodm.serde._decodegen import (
    ColumnDecoding,
    Decoder,
    RowsDecoder,
    compile_column_decoder,
    compile_decoder,
    compile_rows_decoder,
)
from flowodm.serde._unions import has_union, tag_union_records

__all__ = ["AvroCodec"]

_WRITER_CACHE_SIZE = 64
_TIMESTAMPS = ('"timestamp-millis"', '"timestamp-micros"')


class AvroCodec:
    """Encoder/decoder for one Avro schema.

    Args:
        schema: the Avro schema as a dict (or a primitive type name / union list).
        specialise: generate the specialised encoder and decoder (default); False always
            uses fastavro.

    Raises:
        SchemaGenerationError: ``schema`` is not a valid Avro schema.
    """

    def __init__(self, schema: Any, *, specialise: bool = True) -> None:
        self.schema = schema
        self._named: dict[str, Any] = {}
        self._parsed = _parse(schema, self._named)
        self._local = threading.local()  # one reusable buffer per thread
        self._has_timestamps = any(t in json.dumps(schema) for t in _TIMESTAMPS)
        self._has_union = has_union(self._parsed, self._named)
        self._fast: Encoder | None = None
        self._decoder: Decoder | None = None
        if specialise:
            try:
                self._fast = compile_encoder(self._parsed, self._named)
            except Unsupported:
                self._fast = None
            try:
                self._decoder = compile_decoder(self._parsed, self._named)
            except Unsupported:
                self._decoder = None
        # Compiled on first use: only DataFrame reading needs it.
        self._columns: ColumnDecoding | None = None
        self._rows: RowsDecoder | None = None
        self._columns_compiled = not specialise
        self._writers: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
        self._writers_by_text: OrderedDict[str, Any] = OrderedDict()
        self._writers_lock = threading.Lock()

    @property
    def specialised(self) -> bool:
        """Whether a schema-specialised encoder is in use."""
        return self._fast is not None

    @property
    def specialised_encoder(self) -> Encoder | None:
        """The schema-specialised encoder itself, or ``None``.

        It writes exactly fastavro's bytes for the datums it takes and raises (any exception)
        for the rest, which the caller then hands to ``encode``.
        """
        return self._fast

    @property
    def specialised_decoder(self) -> Decoder | None:
        """The schema-specialised decoder ``decode(body) -> datum``, or ``None``.

        For bodies written with this schema it returns exactly ``decode``'s value, and raises
        (any exception) for any body it does not take, trailing bytes included; the caller then
        hands the body to ``decode``, which decodes it or raises the proper error.
        """
        return self._decoder

    @property
    def column_decoder(self) -> ColumnDecoding | None:
        """``(names, decode_into, epoch_units)`` for a record schema, or ``None``.

        ``decode_into(value, columns, start=0)`` appends each top-level field's value of the
        body at ``value[start:]`` (as in ``decode``'s dict, but timestamps as their longs, see
        ``epoch_units``) to its list in ``columns`` (one list per field, in ``names`` order), or
        raises like ``specialised_decoder`` and then appends nothing.
        """
        self._compile_columns()
        return self._columns

    @property
    def rows_decoder(self) -> RowsDecoder | None:
        """``decode_rows(values, columns, i, head)``: ``column_decoder``'s, over a list of values.

        Decodes ``values[i:]`` into the columns up to the first value it does not take, whose
        index it returns (``_decodegen.compile_rows_decoder``); ``None`` when ``column_decoder``
        is.
        """
        self._compile_columns()
        return self._rows

    def _compile_columns(self) -> None:
        if self._columns_compiled:
            return
        try:
            self._columns = compile_column_decoder(self._parsed, self._named)
            # Two levels deeper (a loop, a try): a deep schema may compile only one by one.
            self._rows = compile_rows_decoder(self._parsed, self._named)
        except Unsupported:
            self._rows = None
        self._columns_compiled = True  # a racing thread compiles the same ones: harmless

    def encode(self, datum: Any) -> bytes:
        """Encode one Avro-ready datum to an Avro body (no Confluent header).

        Raises:
            SerializationError: the datum does not match the schema; names the field if known.
        """
        fast = self._fast
        if fast is not None:
            try:
                return fast(datum)
            except Exception:  # Fallback or bad data: fastavro encodes it or reports the error
                pass
        return self._encode_fastavro(datum)

    def encode_many(self, datums: Iterable[Any]) -> list[bytes]:
        """Encode several datums; same errors as ``encode``."""
        encode = self.encode
        return [encode(d) for d in datums]

    def _encode_fastavro(self, datum: Any) -> bytes:
        if self._has_timestamps:
            datum = _naive_as_utc(datum)
        try:
            return self._write(datum)
        except Exception as exc:  # retried below, then reported
            error = exc
        if self._has_union:
            # fastavro chose union branches without the strictness it then writes with; choose
            # them again strictly (see ``_unions``) and retry when that changes the datum.
            try:
                tagged = tag_union_records(datum, self._parsed, self._named)
            except Exception:  # the validator itself failed: report the write's error
                tagged = datum
            if tagged is not datum:
                try:
                    return self._write(tagged)
                except Exception as exc:  # reported below
                    error = exc
        raise self._encode_error(datum, error) from error

    def _write(self, datum: Any) -> bytes:
        buffer = getattr(self._local, "buffer", None)
        if buffer is None:
            buffer = self._local.buffer = BytesIO()
        buffer.seek(0)
        buffer.truncate()
        fastavro.schemaless_writer(buffer, self._parsed, datum, strict_allow_default=True)
        return buffer.getvalue()

    def _encode_error(self, datum: Any, exc: Exception) -> SerializationError:
        """Wrap fastavro's error; fastavro's validator tells which field is wrong."""
        field = None
        try:
            validate(datum, self._parsed, raise_errors=True, strict=True)
        except ValidationError as verr:
            field = self._field_from_validation(verr)
        except Exception:  # diagnosis is best effort: fastavro's own error below still stands
            field = None
        name = _schema_name(self.schema)
        where = f" field {field!r} of" if field else ""
        detail = _shorten(f"{type(exc).__name__}: {exc}")
        return SerializationError(
            f"cannot encode{where} {name} as Avro: {detail}", model=name, field=field
        )

    def _field_from_validation(self, error: ValidationError) -> str | None:
        """``field`` or ``Record.field`` of the first failure that fastavro's validator names.

        fastavro reports ``<record full name>.<field>``; the top-level record's name is dropped
        and nested records keep their short name.
        """
        for item in error.errors:
            path = getattr(item, "field", None)
            if not isinstance(path, str) or not path:
                continue
            owners = [n for n in self._named if path.startswith(n + ".")]
            if not owners:
                return path
            owner = max(owners, key=len)
            field = path[len(owner) + 1 :]
            top = self._parsed.get("name") if isinstance(self._parsed, dict) else None
            return field if owner == top else f"{owner.rpartition('.')[2]}.{field}"
        return None

    def decode(self, body: bytes, writer_schema: Any = None) -> Any:
        """Decode an Avro body; ``writer_schema`` (if it differs) is resolved onto this schema.

        Records in unions with several record branches come back as ``(full name, dict)``
        (fastavro's ``return_record_name``), which ``DatumConverter.from_datum`` understands.

        Raises:
            DeserializationError: the bytes do not match the (writer) schema or the writer
                schema cannot be resolved onto this one.
        """
        writer = self._parsed if writer_schema is None else self._writer(writer_schema)
        fast = self._decoder
        if fast is not None and writer is self._parsed and type(body) is bytes:
            try:
                return fast(body)
            except Exception:  # bad or unusual bytes: fastavro decodes them or reports why
                pass
        reader = None if writer is self._parsed else self._parsed
        stream = BytesIO(body)
        try:
            datum = fastavro.schemaless_reader(
                stream,
                writer,
                reader,
                return_record_name=True,
                return_record_name_override=True,
            )
        except Exception as exc:
            raise DeserializationError(
                f"cannot decode {len(body)} bytes as {_schema_name(self.schema)}: {exc}",
                model=_schema_name(self.schema),
            ) from exc
        if stream.tell() != len(body):
            raise DeserializationError(
                f"{len(body) - stream.tell()} trailing bytes after a "
                f"{_schema_name(self.schema)} record; the data was written with another schema",
                model=_schema_name(self.schema),
            )
        return datum

    def _writer(self, writer_schema: Any) -> Any:
        """Parsed writer schema: cached by identity, then by canonical JSON text."""
        key = id(writer_schema)
        with self._writers_lock:
            hit = self._writers.get(key)
            if hit is not None and hit[0] is writer_schema:
                self._writers.move_to_end(key)
                return hit[1]
        text = json.dumps(writer_schema, sort_keys=True)
        with self._writers_lock:
            parsed = self._writers_by_text.get(text)
        if parsed is None:
            if writer_schema == self.schema:
                parsed = self._parsed
            else:
                try:
                    parsed = _parse(writer_schema, {})
                except SchemaGenerationError as exc:
                    raise DeserializationError(f"writer schema is not valid Avro: {exc}") from exc
        with self._writers_lock:
            # Keeping the dict alive keeps its id unique while it is cached.
            self._writers[key] = (writer_schema, parsed)
            self._writers_by_text[text] = parsed
            while len(self._writers) > _WRITER_CACHE_SIZE:
                self._writers.popitem(last=False)
            while len(self._writers_by_text) > _WRITER_CACHE_SIZE:
                self._writers_by_text.popitem(last=False)
        return parsed


def _parse(schema: Any, named: dict[str, Any]) -> Any:
    try:
        return fastavro.parse_schema(schema, named_schemas=named)
    except Exception as exc:
        raise SchemaGenerationError(f"invalid Avro schema: {exc}") from exc


def _schema_name(schema: Any) -> str:
    if isinstance(schema, dict):
        name = schema.get("name")
        namespace = schema.get("namespace")
        if isinstance(name, str):
            return f"{namespace}.{name}" if namespace and "." not in name else name
    return json.dumps(schema) if not isinstance(schema, str) else schema


def _shorten(text: str, limit: int = 300) -> str:
    """Cap fastavro's messages, which can embed a whole datum or schema."""
    return text if len(text) <= limit else text[:limit] + "…"


def _naive_as_utc(value: Any) -> Any:
    """Copy of ``value`` with naive datetimes made UTC-aware (fastavro would use local time)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
    if isinstance(value, dict):
        return {k: _naive_as_utc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_naive_as_utc(v) for v in value]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return (value[0], _naive_as_utc(value[1]))  # tuple notation
    return value
