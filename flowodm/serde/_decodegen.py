"""Generate a schema-specialised pure-Python Avro decoder, value-identical to fastavro.

The mirror of ``_codegen``: per schema, Python source is generated and compiled once, reading
one Avro body (no Confluent header) straight from its ``bytes`` with an integer position,
where fastavro's ``schemaless_reader`` walks the schema for every record and reads through a
file object. The result is exactly what ``fastavro.schemaless_reader(BytesIO(body), parsed,
None, return_record_name=True, return_record_name_override=True)`` returns: the same types and
values, logical types included (fastavro's own readers, or any registered in
``fastavro.read.LOGICAL_READERS``, are honoured as registered when the decoder is compiled).

Contract: a generated decoder either returns fastavro's value or raises (any exception). It
raises for truncated data and for trailing bytes (the body must be consumed exactly), for
invalid UTF-8, and also for a few oddities fastavro accepts (over-long varints, a negative enum
index, which fastavro wraps around); the caller then hands the body to fastavro, which decodes
it or reports its own error. Measured at about 1.9 µs per order-like record (1.7 µs into
columns) against about 3.4 µs for fastavro with a pre-parsed schema (``benchmarks/decode.py``).

Three shapes: ``compile_decoder`` returns ``decode(body) -> datum``; ``compile_column_decoder``
returns the top-level record's field names and ``decode_into(value, columns, start)``, which
appends each field's value to its column list (no dict per row, timestamps as their longs), for
building DataFrames; ``compile_rows_decoder`` returns ``decode_rows``, the same over a list of
values in one call.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import struct
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from fastavro.const import AVRO_TYPES, DAYS_SHIFT
from fastavro.read import LOGICAL_READERS

from flowodm.serde._codegen import _PRIMITIVES, Unsupported

__all__ = [
    "ColumnDecoder",
    "ColumnDecoding",
    "Decoder",
    "Malformed",
    "RowsDecoder",
    "Unsupported",
    "compile_column_decoder",
    "compile_decoder",
    "compile_rows_decoder",
]

Decoder = Callable[[bytes], Any]


class ColumnDecoder(Protocol):
    """``decode_into(value, columns, start=0)``: the body at ``value[start:]`` into the columns."""

    def __call__(self, value: bytes, columns: list[list[Any]], start: int = 0, /) -> None: ...


class RowsDecoder(Protocol):
    """``decode_rows(values, columns, i, head) -> index``: see ``compile_rows_decoder``."""

    def __call__(
        self, values: list[Any], columns: list[list[Any]], i: int, head: bytes, /
    ) -> int: ...


class ColumnDecoding(NamedTuple):
    """A compiled column decoder and what its columns hold.

    Attributes:
        names: The top-level field names, the order of the column lists.
        decode_into: Appends one body's fields to the columns (see ``compile_column_decoder``).
        epoch_units: Column index -> ``"ms"`` or ``"us"`` for the timestamp columns, which
            hold the Avro long (``None`` if null) for one vectorised conversion per column.
    """

    names: list[str]
    decode_into: ColumnDecoder
    epoch_units: dict[int, str]


class Malformed(Exception):
    """Raised by a generated decoder for bytes it leaves to fastavro (bad or unusual data)."""


# Zig-zag decoded values of the one-byte varints 0..127.
_ZIGZAG = tuple((n >> 1) ^ -(n & 1) for n in range(128))
# A length larger than any body: a position moved by it is past the end, so the next read (or
# the final position check) fails. Reading a one-byte length costs one lookup this way,
# instead of a lookup and a test for the negative (odd) lengths no writer produces.
_OVERRUN = 1 << 62
_LENGTHS = tuple(n >> 1 if n % 2 == 0 else _OVERRUN for n in range(128))
# Enum and union indexes read as one raw byte stay one lookup or comparison up to 64 of them.
_ONE_BYTE_INDEXES = 64
# Deeper code goes to its own function: CPython refuses more than 20 nested loops in one.
_MAX_INLINE_DEPTH = 12


def _read_varint(b: bytes, p: int) -> tuple[int, int]:
    """The raw (still zig-zagged) varint at ``b[p]`` and the position after it.

    Raises:
        Malformed: more than 10 bytes or 64 bits (fastavro would silently wrap the value).
        IndexError: the body ends inside the varint.
    """
    x = b[p]
    n = x & 0x7F
    shift = 7
    p += 1
    while x > 0x7F:
        x = b[p]
        p += 1
        n |= (x & 0x7F) << shift
        shift += 7
        if shift > 70:
            raise Malformed
    if n >> 64:
        raise Malformed
    return n, p


def _read_length(b: bytes, p: int) -> tuple[int, int]:
    """A byte length at ``b[p]`` (the slow path of the generated one-byte case)."""
    n, p = _read_varint(b, p)
    if n & 1:
        raise Malformed  # negative
    return n >> 1, p


_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_RUNTIME: dict[str, Any] = {
    "_M": Malformed,
    "_Z": _ZIGZAG,
    "_N": _LENGTHS,
    "_rz": _read_varint,
    "_rn": _read_length,
    "_ud": struct.Struct("<d").unpack_from,
    "_uf": struct.Struct("<f").unpack_from,
    "_ib": int.from_bytes,
    "_fts": dt.datetime.fromtimestamp,
    "_U": dt.UTC,
    "_MS": tuple(dt.timedelta(milliseconds=n) for n in range(1000)),
    "_TD": dt.timedelta,
    "_EP": _EPOCH_UTC,
    "_EPN": dt.datetime(1970, 1, 1),
    "_fo": dt.date.fromordinal,
    "_time": dt.time,
    "_UUID": UUID,
}


def compile_decoder(schema: Any, named: dict[str, Any]) -> Decoder:
    """Compile ``decode(body) -> datum`` for a fastavro-parsed ``schema``.

    ``named`` maps full names to definitions (as filled by ``fastavro.parse_schema``). The
    decoder raises (any exception) unless it consumes ``body`` exactly; see the module doc.

    Raises:
        Unsupported: the schema uses a construct this generator leaves to fastavro.
    """
    gen = _Generator(named)
    body: list[str] = []
    # A top-level record's fields go straight into ``decode``, saving a call per body.
    gen.emit(schema, "t", body, 1)
    lines = ["def decode(b):", "    p = 0", *body, "    if p != len(b): raise _M", "    return t"]
    decoder: Decoder = gen.compile(lines, "decode")
    return decoder


def compile_column_decoder(schema: Any, named: dict[str, Any]) -> ColumnDecoding:
    """Compile a columnar decoder for a fastavro-parsed top-level record ``schema``.

    ``decode_into(value, columns, start=0)`` decodes the body at ``value[start:]`` (a framed
    value needs no slice) and appends each field's value to its list in ``columns`` (one per
    field, in ``names`` order), as ``compile_decoder``'s dict holds it, except timestamps:
    a ``timestamp-millis``/``-micros`` field (optional too) read by fastavro's own reader
    appends its long, which the caller converts a whole column at a time; a long outside
    ``datetime``'s range raises, as fastavro does. It is all or nothing: a body it raises for
    (as ``compile_decoder``'s would) appends nothing, nor does a wrong number of columns.

    Raises:
        Unsupported: the schema is not a record (or is one with a logical type fastavro
            converts), or uses a construct left to fastavro.
    """
    gen = _Generator(named)
    lines = ["def decode_into(b, c, p=0):"]
    body, targets, epoch_units = _column_body(gen, schema, 1)
    lines += body
    names = [str(field["name"]) for field in schema["fields"]]
    if names:
        # Unpacking checks the number of columns before anything is appended.
        columns = [f"c{i}" for i in range(len(names))]
        lines.append(f"    {', '.join(columns)}, = c")
        lines += [f"    {col}.append({t})" for col, t in zip(columns, targets, strict=True)]
    decode_into: ColumnDecoder = gen.compile(lines, "decode_into")
    return ColumnDecoding(names, decode_into, epoch_units)


def compile_rows_decoder(schema: Any, named: dict[str, Any]) -> RowsDecoder:
    """Compile ``decode_rows``: ``compile_column_decoder``'s ``decode_into`` over many values.

    ``decode_rows(values, columns, i, head)`` decodes ``values[i]``, ``values[i + 1]`` … into
    the columns as ``decode_into(value, columns, len(head))`` would, each value that starts with
    ``head`` (the Confluent header, or ``b""`` for bare bodies), and returns the index of the
    first value it does not take (not bytes, another header, or raising ``decode_into``
    would), or ``len(values)``. That value appends nothing; the caller decides what it is.
    One call per fetch instead of one per message.

    Raises:
        Unsupported: as ``compile_column_decoder``.
    """
    gen = _Generator(named)
    body, targets, _ = _column_body(gen, schema, 3)
    # ``c0.append(v)`` on a local list, not a pre-bound ``append``: CPython 3.11+ runs the
    # former as a specialised instruction, the latter as a general call (15% of the time).
    columns = [f"c{i}" for i in range(len(targets))]
    lines = [
        "def decode_rows(values_, c, i_, head_):",
        f"    if len(c) != {len(targets)}: raise _M",
        *([f"    {', '.join(columns)}, = c"] if columns else []),
        "    size_ = len(head_)",
        "    end_ = len(values_)",
        "    while i_ < end_:",
        "        b = values_[i_]",
        "        try:",
        "            if not b.startswith(head_): return i_",
        "            p = size_",
        *body,
        "        except Exception:",
        "            return i_",
        *(f"        {col}.append({t})" for col, t in zip(columns, targets, strict=True)),
        "        i_ += 1",
        "    return end_",
    ]
    decode_rows: RowsDecoder = gen.compile(lines, "decode_rows")
    return decode_rows


def _column_body(
    gen: _Generator, schema: Any, depth: int
) -> tuple[list[str], list[str], dict[int, str]]:
    """Lines (at ``depth``) decoding one body at ``b[p]`` into a local per top-level field.

    Timestamps stay longs, range-checked as fastavro would; the body must be consumed exactly.
    Returns the lines, the locals (in field order) and the column index -> unit of timestamps.
    """
    if not _is_record(schema) or _logical_key(schema) in LOGICAL_READERS:
        raise Unsupported("only a plain record decodes to columns")
    pad = "    " * depth
    lines: list[str] = []
    targets: list[str] = []
    epoch_units: dict[int, str] = {}
    for index, field in enumerate(schema["fields"]):
        targets.append(gen._var())
        field_type, unit = _epoch_long(field["type"])
        gen.emit(field_type, targets[-1], lines, depth)
        if unit is not None:
            epoch_units[index] = unit
            low, high = _EPOCH_RANGE[unit]
            value = targets[-1]
            test = f"{value} is not None and not" if isinstance(field_type, list) else "not"
            lines.append(f"{pad}if {test} {low} <= {value} <= {high}: raise _M")
    lines.append(f"{pad}if p != len(b): raise _M")
    return lines, targets, epoch_units


# The longs fastavro turns into an aware ``datetime`` (year 1 to 9999), per unit.
_EPOCH_RANGE = {
    unit: (
        (dt.datetime.min.replace(tzinfo=dt.UTC) - _EPOCH_UTC) // step,
        (dt.datetime.max.replace(tzinfo=dt.UTC) - _EPOCH_UTC) // step,
    )
    for unit, step in (("ms", dt.timedelta(milliseconds=1)), ("us", dt.timedelta(microseconds=1)))
}
_EPOCH_KEYS = {"long-timestamp-millis": "ms", "long-timestamp-micros": "us"}


def _epoch_long(field_type: Any) -> tuple[Any, str | None]:
    """A timestamp field's type with its logical type dropped, and its unit; else unchanged.

    Only fastavro's own timestamp readers: a reader registered in its place is called as
    fastavro would call it.
    """

    def plain(branch: Any) -> str | None:
        key = _logical_key(branch)
        unit = _EPOCH_KEYS.get(key) if key else None
        if unit is None or key is None or not _is_fastavros(LOGICAL_READERS.get(key), key):
            return None
        return unit

    unit = plain(field_type)
    if unit is not None:
        return "long", unit
    if isinstance(field_type, list) and len(field_type) == 2 and "null" in field_type:
        other = field_type[1 - field_type.index("null")]
        unit = plain(other)
        if unit is not None:
            return ["long" if branch is other else "null" for branch in field_type], unit
    return field_type, None


def _is_record(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") in ("record", "error")


class _Generator:
    """Emits source lines that decode an Avro type at ``b[p]`` into a local, advancing ``p``.

    A record defined in place is decoded in line; one referred to by name (so any recursion)
    is a function ``(b, p) -> (value, p)``, generated once per record.
    """

    def __init__(self, named: dict[str, Any]) -> None:
        self._named = named
        self._functions: dict[str, str] = {}  # record full name or id(schema) -> function
        self._lines: list[str] = []  # the functions' source
        self._constants: dict[str, Any] = {}
        self._ids = itertools.count()

    def compile(self, lines: list[str], entry: str) -> Any:
        """Compile the functions and ``lines``; return the function named ``entry``."""
        source = "\n".join([*self._lines, *lines])
        namespace = dict(_RUNTIME, **self._constants)
        try:
            code = compile(source, "<flowodm avro decoder>", "exec")
        except (SyntaxError, RecursionError, MemoryError) as exc:  # a schema too big to inline
            raise Unsupported(f"generated decoder does not compile: {exc}") from exc
        exec(code, namespace)
        return namespace[entry]

    def _const(self, value: Any) -> str:
        name = f"_c{next(self._ids)}"
        self._constants[name] = value
        return name

    def _var(self, prefix: str = "v") -> str:
        return f"{prefix}{next(self._ids)}"

    def emit(self, schema: Any, t: str, out: list[str], depth: int) -> None:
        """Lines (indented ``depth`` levels) that decode ``schema`` into local ``t``."""
        pad = "    " * depth
        if depth > _MAX_INLINE_DEPTH:
            out.append(f"{pad}{t}, p = {self._function(schema)}(b, p)")
            return
        if isinstance(schema, list):
            self._union(schema, t, out, depth)
            return
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                self._primitive(schema, t, out, pad)
            elif schema in self._named:
                self._reference(schema, t, out, depth)
            else:
                raise Unsupported(f"unknown type {schema!r}")
            return
        kind = schema.get("type")
        if not isinstance(kind, str):
            raise Unsupported(f"unexpected type {kind!r}")  # fastavro cannot read it either
        if kind in _PRIMITIVES:
            self._primitive(kind, t, out, pad)
        elif kind in ("record", "error"):
            fields, targets = self.record_fields(schema, depth)
            out += [*fields, f"{pad}{t} = {_record_dict(schema, targets)}"]
        elif kind == "enum":
            self._enum(schema, t, out, pad)
        elif kind == "fixed":
            size = int(schema["size"])
            out += [f"{pad}{t} = b[p:p + {size}]", f"{pad}p += {size}"]
        elif kind == "array":
            self._array(schema, t, out, depth)
        elif kind == "map":
            self._map(schema, t, out, depth)
        elif kind in self._named:
            self._reference(kind, t, out, depth)
            return  # the definition applies its own logical type
        else:
            raise Unsupported(f"unknown type {kind!r}")
        self._logical(schema, t, out, pad)

    def _reference(self, name: str, t: str, out: list[str], depth: int) -> None:
        definition = self._named[name]
        if _is_record(definition):
            out.append(f"{'    ' * depth}{t}, p = {self._function(definition)}(b, p)")
        else:
            self.emit(definition, t, out, depth)

    def _function(self, schema: Any) -> str:
        """Name of the function ``(b, p) -> (value, p)`` that decodes ``schema``."""
        key = str(schema["name"]) if _is_record(schema) else str(id(schema))
        func = self._functions.get(key)
        if func is None:
            # Registered before its body is generated, so a recursive reference calls it.
            func = self._functions[key] = f"_f{next(self._ids)}"
            body: list[str] = []
            self.emit(schema, "t", body, 1)
            self._lines += [f"def {func}(b, p):", *body, "    return t, p", ""]
        return func

    def record_fields(self, schema: dict[str, Any], depth: int) -> tuple[list[str], list[str]]:
        """Lines that decode each field of record ``schema`` into a local, and the locals."""
        lines: list[str] = []
        targets: list[str] = []
        for field in schema["fields"]:
            targets.append(self._var())
            self.emit(field["type"], targets[-1], lines, depth)
        return lines, targets

    def _primitive(self, kind: str, t: str, out: list[str], pad: str) -> None:
        if kind == "null":
            out.append(f"{pad}{t} = None")
        elif kind == "boolean":
            # Any non-zero byte is True, as in fastavro.
            out += [f"{pad}{t} = b[p] != 0", f"{pad}p += 1"]
        elif kind in ("int", "long"):
            # fastavro does not range-check ints either: both take any 64-bit value.
            out += _signed(t, pad)
        elif kind == "double":
            out += [f"{pad}{t} = _ud(b, p)[0]", f"{pad}p += 8"]
        elif kind == "float":
            out += [f"{pad}{t} = _uf(b, p)[0]", f"{pad}p += 4"]
        else:  # bytes, string
            n = self._var("n")
            out += [
                f"{pad}x = b[p]",
                f"{pad}if x < 128: {n} = _N[x]; p += 1",
                f"{pad}else: {n}, p = _rn(b, p)",
                f"{pad}{t} = b[p:p + {n}]{'.decode()' if kind == 'string' else ''}",
                f"{pad}p += {n}",
            ]

    @staticmethod
    def _index(out: list[str], pad: str, count: int) -> None:
        """Lines reading a union or enum index, still zig-zagged, into ``x``."""
        if count <= _ONE_BYTE_INDEXES:
            # Indexes 0..63 are one byte; anything else here is malformed or over-long, and
            # the caller's lookup or comparison rejects it.
            out += [f"{pad}x = b[p]", f"{pad}p += 1"]
        else:
            out += [f"{pad}x = b[p]", f"{pad}if x < 128: p += 1", f"{pad}else: x, p = _rz(b, p)"]

    def _enum(self, schema: dict[str, Any], t: str, out: list[str], pad: str) -> None:
        symbols = [str(s) for s in schema["symbols"]]
        # Keyed by the raw index: a negative one (which fastavro wraps around) is a KeyError.
        table = self._const({i << 1: s for i, s in enumerate(symbols)})
        self._index(out, pad, len(symbols))
        out.append(f"{pad}{t} = {table}[x]")

    def _array(self, schema: dict[str, Any], t: str, out: list[str], depth: int) -> None:
        pad, inner = "    " * depth, "    " * (depth + 2)
        n, item = self._var("n"), self._var()
        out += [f"{pad}{t} = []", *_blocks(n, pad)]
        self.emit(schema["items"], item, out, depth + 2)
        out += [f"{inner}{t}.append({item})", *_signed(n, pad + "    ")]

    def _map(self, schema: dict[str, Any], t: str, out: list[str], depth: int) -> None:
        pad, inner = "    " * depth, "    " * (depth + 2)
        n, key, value = self._var("n"), self._var("k"), self._var()
        out += [f"{pad}{t} = {{}}", *_blocks(n, pad)]
        self._primitive("string", key, out, inner)
        self.emit(schema["values"], value, out, depth + 2)
        out += [f"{inner}{t}[{key}] = {value}", *_signed(n, pad + "    ")]

    def _union(self, branches: list[Any], t: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        names = self._union_names(branches)
        self._index(out, pad, len(branches))
        for index, branch in enumerate(branches):
            out.append(f"{pad}{'if' if index == 0 else 'elif'} x == {index << 1}:")
            self.emit(branch, t, out, depth + 1)
            if names[index] is not None:
                out.append(f"{pad}    {t} = ({names[index]!r}, {t})")
        out.append(f"{pad}else: raise _M")

    def _union_names(self, branches: list[Any]) -> list[str | None]:
        """Per branch, the name fastavro tags its value with (``None``: returned as it is).

        fastavro's ``read_union`` with ``return_record_name`` and its override: a union with
        exactly one record returns it plain; otherwise a record, or any named type referred to
        by name (counted as a record, whatever it is), comes back as ``(full name, value)``.
        """
        kinds = [_record_type(branch) for branch in branches]
        if not all(isinstance(kind, str) for kind in kinds):
            raise Unsupported(f"unexpected union {branches!r}")
        records = sum(1 for kind in kinds if kind == "record" or kind not in AVRO_TYPES)
        names: list[str | None] = []
        for branch, kind in zip(branches, kinds, strict=True):
            if records == 1 or (kind in AVRO_TYPES and kind != "record"):
                names.append(None)
            elif kind == "record":
                names.append(str(branch["name"]))
            elif kind in self._named:
                names.append(str(self._named[kind]["name"]))
            else:
                raise Unsupported(f"unknown type {kind!r}")
        return names

    def _logical(self, schema: Any, t: str, out: list[str], pad: str) -> None:
        """Apply the logical type fastavro would to the base value in ``t`` (if any)."""
        key = _logical_key(schema)
        reader = LOGICAL_READERS.get(key) if key else None
        if key is None or reader is None:
            return  # fastavro returns the base value
        expr = self._builtin(key, schema, t) if _is_fastavros(reader, key) else None
        if expr is None:
            # A reader registered in fastavro (custom, or replacing a built-in): call it as
            # fastavro does.
            expr = f"{self._const(reader)}({t}, {self._const(schema)}, None)"
        out.append(f"{pad}{t} = {expr}")

    def _builtin(self, key: str, schema: dict[str, Any], t: str) -> str | None:
        """Expression equal to fastavro's built-in reader ``key`` applied to ``t``."""
        if key == "long-timestamp-millis":
            # fastavro adds timedelta(microseconds=t * 1000) to the epoch; a whole-second
            # datetime plus a cached millisecond timedelta is the same value, in 2/3 the time.
            return f"_fts({t} // 1000, _U) + _MS[{t} % 1000]"
        if key.startswith(("long-timestamp-", "long-local-timestamp-")):
            epoch = "_EPN" if "local" in key else "_EP"
            micros = t if key.endswith("micros") else f"{t} * 1000"
            return f"{epoch} + _TD(0, 0, {micros})"
        if key == "int-date":
            return f"_fo({t} + {DAYS_SHIFT})"
        if key == "string-uuid":
            return f"_UUID({t})"
        if key in ("int-time-millis", "long-time-micros"):
            # fastavro's arithmetic exactly (true division included), odd values and all.
            s = 1000 if key == "int-time-millis" else 1_000_000
            sub = f"int({t} % {s}) * 1000" if s == 1000 else f"{t} % {s}"
            hours, minutes, seconds = (
                f"int({t} / {s * 3600})",
                f"int({t} / {s * 60}) % 60",
                f"int({t} / {s}) % 60",
            )
            return f"_time({hours}, {minutes}, {seconds}, {sub})"
        if key in ("bytes-decimal", "fixed-decimal"):
            if "precision" not in schema:
                raise Unsupported("a decimal without precision (fastavro cannot read it)")
            # fastavro's arithmetic in a context of the schema's precision; one context per
            # schema, where fastavro sets the precision of a shared one per value.
            context = decimal.Context(prec=int(schema["precision"]))
            scale = int(schema.get("scale", 0))
            create, ctx = self._const(context.create_decimal), self._const(context)
            return f"{create}(_ib({t}, 'big', signed=True)).scaleb({-scale}, {ctx})"
        return None


def _signed(t: str, pad: str) -> list[str]:
    """Lines reading a zig-zag varint into ``t``: one byte by a lookup, longer ones in line.

    In line because timestamps and ids are 6-9 bytes, and a call costs as much as the loop.
    Over 10 bytes or 64 bits is malformed, as in ``_read_varint``.
    """
    return [
        f"{pad}x = b[p]",
        f"{pad}p += 1",
        f"{pad}if x < 128: {t} = _Z[x]",
        f"{pad}else:",
        f"{pad}    {t} = x & 127; s = 7",
        f"{pad}    while x > 127:",
        f"{pad}        x = b[p]; p += 1; {t} |= (x & 127) << s; s += 7",
        f"{pad}    if s > 70 or {t} >> 64: raise _M",
        f"{pad}    {t} = ({t} >> 1) ^ -({t} & 1)",
    ]


def _blocks(n: str, pad: str) -> list[str]:
    """Head of an array's or map's loop over its blocks and their items (``n`` per block)."""
    return [
        *_signed(n, pad),
        f"{pad}while {n}:",
        # A negative count is followed by the block's size in bytes, which is not needed.
        f"{pad}    if {n} < 0:",
        f"{pad}        {n} = -{n}",
        f"{pad}        x, p = _rz(b, p)",
        f"{pad}    for _ in range({n}):",
    ]


def _record_dict(schema: dict[str, Any], targets: list[str]) -> str:
    """The dict display building record ``schema`` from its fields' locals."""
    items = [f"{str(f['name'])!r}: {t}" for f, t in zip(schema["fields"], targets, strict=True)]
    return "{" + ", ".join(items) + "}"


def _logical_key(schema: Any) -> str | None:
    """fastavro's ``extract_logical_type``: ``"<type>-<logicalType>"``, or ``None``."""
    if not isinstance(schema, dict) or not schema.get("logicalType"):
        return None
    return f"{schema['type']}-{schema['logicalType']}"


# The built-in readers of ``fastavro.read.LOGICAL_READERS`` specialised above, by name.
_BUILTIN_NAMES = {
    "long-timestamp-millis": "read_timestamp_millis",
    "long-timestamp-micros": "read_timestamp_micros",
    "long-local-timestamp-millis": "read_local_timestamp_millis",
    "long-local-timestamp-micros": "read_local_timestamp_micros",
    "int-date": "read_date",
    "string-uuid": "read_uuid",
    "int-time-millis": "read_time_millis",
    "long-time-micros": "read_time_micros",
    "bytes-decimal": "read_decimal",
    "fixed-decimal": "read_decimal",
}


def _is_fastavros(reader: Any, key: str) -> bool:
    """Whether ``reader`` is fastavro's own reader for ``key`` (compiled or pure Python)."""
    module = getattr(reader, "__module__", None)
    return module in ("fastavro._logical_readers", "fastavro._logical_readers_py") and (
        getattr(reader, "__name__", None) == _BUILTIN_NAMES.get(key)
    )


def _record_type(schema: Any) -> Any:
    """fastavro's ``extract_record_type``: a dict's ``type``, ``"union"``, or the name."""
    if isinstance(schema, dict):
        return schema["type"]
    return "union" if isinstance(schema, list) else schema
