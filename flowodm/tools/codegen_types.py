"""The plan codegen works from: classes, fields, annotations and defaults as small trees.

``codegen_translate`` reads an Avro schema into a ``Plan`` and ``codegen_render`` writes it as
Python source. The trees name what the source will say (``ListOf(Symbol("builtins", "str"))``
is ``list[str]``, ``Call(Symbol("datetime", "date"), ...)`` is ``date(2024, 1, 1)``), so the
renderer alone decides local names and layout.

This module also holds the conversions from Avro JSON defaults to those trees. Each is exact or
raises ``TypeError``/``ValueError``: the value FlowODM's mapping writes back must be the one the
source schema had (e.g. a decimal's bytes must be the minimal encoding ``decimal_bytes`` writes).
"""

from __future__ import annotations

import datetime as dt
import keyword
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from flowodm.schema.types import FLOAT32_MAX
from flowodm.schema.values import decimal_bytes

__all__ = [
    "LOGICAL",
    "PRIMITIVES",
    "STR",
    "Call",
    "DecimalType",
    "DefaultValue",
    "DictValue",
    "EnumClass",
    "EnumMember",
    "FieldDef",
    "ListOf",
    "ListValue",
    "Literal",
    "MapOf",
    "Named",
    "Plan",
    "RecordClass",
    "Symbol",
    "TypeRef",
    "UnionOf",
    "decimal_default",
    "logical_default",
    "member_names",
    "primitive_default",
    "schema_of",
]

# ------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Symbol:
    """A name the generated module imports, e.g. ``Symbol("datetime", "date")``."""

    module: str
    name: str


@dataclass(frozen=True)
class DecimalType:
    """``Annotated[Decimal, Field(max_digits=precision, decimal_places=scale)]`` (an alias)."""

    precision: int
    scale: int


@dataclass(frozen=True)
class Named:
    """A generated class; ``forward`` when it is not yet defined where it is referenced."""

    fullname: str
    forward: bool


@dataclass(frozen=True)
class ListOf:
    """``list[item]``."""

    item: TypeRef


@dataclass(frozen=True)
class MapOf:
    """``dict[str, value]``."""

    value: TypeRef


@dataclass(frozen=True)
class UnionOf:
    """``A | B`` in declared order, ``| None`` last when ``nullable``."""

    branches: tuple[TypeRef, ...]
    nullable: bool


TypeRef = Symbol | DecimalType | Named | ListOf | MapOf | UnionOf


@dataclass(frozen=True)
class Literal:
    """Python source of a literal (``"a"``-style strings are made by the renderer)."""

    value: str | bytes | int | float | bool | None


@dataclass(frozen=True)
class Call:
    """``callee(*args, **kwargs)``; ``callee`` is a ``Symbol`` or a generated class's full name."""

    callee: Symbol | str
    args: tuple[DefaultValue, ...] = ()
    kwargs: tuple[tuple[str, DefaultValue], ...] = ()


@dataclass(frozen=True)
class EnumMember:
    """``Enum.MEMBER`` of a generated enum."""

    fullname: str
    member: str


@dataclass(frozen=True)
class ListValue:
    """A list default."""

    items: tuple[DefaultValue, ...]


@dataclass(frozen=True)
class DictValue:
    """A dict default (string keys)."""

    items: tuple[tuple[str, DefaultValue], ...]


DefaultValue = Literal | Call | EnumMember | ListValue | DictValue


@dataclass
class FieldDef:
    """One model field; ``default`` is ``None`` for a required field."""

    name: str
    annotation: TypeRef
    default: DefaultValue | None
    description: str | None
    aliases: tuple[str, ...]


@dataclass
class RecordClass:
    """A record, generated as a ``FlowBaseModel`` subclass."""

    fullname: str
    name: str
    doc: str | None
    fields: list[FieldDef] = field(default_factory=list)


@dataclass
class EnumClass:
    """An enum, generated as a ``StrEnum``; ``members`` maps member names to symbols."""

    fullname: str
    name: str
    doc: str | None
    members: tuple[tuple[str, str], ...]


@dataclass
class Plan:
    """What ``translate`` found: the classes in definition order, the top record, the notes."""

    classes: list[RecordClass | EnumClass]
    top: RecordClass
    namespace: str | None
    expected: dict[str, Any]
    notes: list[str]


# ------------------------------------------------------------------------------ symbols

STR = Symbol("builtins", "str")
PRIMITIVES: dict[str, Symbol] = {
    "string": STR,
    "long": Symbol("builtins", "int"),
    "int": Symbol("flowodm.schema", "Int32"),
    "double": Symbol("builtins", "float"),
    "float": Symbol("flowodm.schema", "Float32"),
    "boolean": Symbol("builtins", "bool"),
    "bytes": Symbol("builtins", "bytes"),
}
LOGICAL: dict[tuple[str, str], Symbol] = {
    ("long", "timestamp-millis"): Symbol("datetime", "datetime"),
    ("long", "timestamp-micros"): Symbol("flowodm.schema", "TimestampMicros"),
    ("int", "date"): Symbol("datetime", "date"),
    ("int", "time-millis"): Symbol("datetime", "time"),
    ("long", "time-micros"): Symbol("flowodm.schema", "TimeMicros"),
    ("string", "uuid"): Symbol("uuid", "UUID"),
}
_DATETIME = Symbol("datetime", "datetime")
_UTC = Symbol("datetime", "UTC")
_UUID = Symbol("uuid", "UUID")
_DECIMAL = Symbol("decimal", "Decimal")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)

_ENUM_ATTRIBUTES = frozenset(dir(StrEnum)) | {"mro", "name", "value"}


def schema_of(ref: TypeRef, types: dict[str, RecordClass | EnumClass]) -> Any:
    """A minimal schema for ``ref``, enough to convert a default value of it."""
    if isinstance(ref, Symbol):
        reverse = {s: k for k, s in PRIMITIVES.items()}
        if ref in reverse:
            return reverse[ref]
        ((kind, logical),) = [k for k, s in LOGICAL.items() if s == ref]
        return {"type": kind, "logicalType": logical}
    if isinstance(ref, DecimalType):
        return {
            "type": "bytes",
            "logicalType": "decimal",
            "precision": ref.precision,
            "scale": ref.scale,
        }
    if isinstance(ref, Named):
        return ref.fullname
    if isinstance(ref, ListOf):
        return {"type": "array", "items": schema_of(ref.item, types)}
    if isinstance(ref, MapOf):
        return {"type": "map", "values": schema_of(ref.value, types)}
    branches = [schema_of(b, types) for b in ref.branches]
    return ["null", *branches] if ref.nullable else branches


def member_names(symbols: list[str]) -> tuple[tuple[str, str], ...]:
    """Python member names for enum symbols (the symbol itself wherever Python allows it)."""
    taken: set[str] = set()
    members = []
    for symbol in symbols:
        name = symbol
        if keyword.iskeyword(name) or name.startswith("_") or name in _ENUM_ATTRIBUTES:
            name = f"{name.strip('_') or 'member'}_"
        while name in taken or (name in symbols and name != symbol):
            name += "_"
        taken.add(name)
        members.append((name, symbol))
    return tuple(members)


def primitive_default(kind: str, value: Any) -> Literal:
    if kind == "string":
        if not isinstance(value, str):
            raise TypeError("a string default is a JSON string")
        return Literal(value)
    if kind == "bytes":
        if not isinstance(value, str):
            raise TypeError("a bytes default is a JSON string of code points 0-255")
        return Literal(value.encode("latin-1"))
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError("a boolean default is true or false")
        return Literal(value)
    if kind in ("int", "long"):
        low, high = _INT32 if kind == "int" else _INT64
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise TypeError(f"an {kind} default is an integer within {low}..{high}")
        return Literal(value)
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"a {kind} default is a JSON number")
        number = float(value)
        if kind == "float" and abs(number) > FLOAT32_MAX:
            raise ValueError("it is beyond float32's range")
        return Literal(number)
    raise TypeError(f"{kind!r} has no default")


def logical_default(logical: str, value: Any) -> DefaultValue:
    if logical == "uuid":
        if not isinstance(value, str) or str(UUID(value)) != value:
            raise ValueError("a uuid default must be a lowercase hyphenated UUID string")
        return Call(_UUID, (Literal(value),))
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a {logical} default is an integer")
    if logical == "date":
        day = dt.date(1970, 1, 1) + dt.timedelta(days=value)
        return Call(Symbol("datetime", "date"), _ints(day.year, day.month, day.day))
    if logical.startswith("time-"):
        micros = value * 1000 if logical == "time-millis" else value
        if not 0 <= micros < 86_400_000_000:
            raise ValueError("a time of day is within 0..24h")
        seconds, micro = divmod(micros, 1_000_000)
        clock = (seconds // 3600, seconds // 60 % 60, seconds % 60, micro)
        return Call(Symbol("datetime", "time"), _ints(*_trim(clock, 2)))
    per_second = 1000 if logical == "timestamp-millis" else 1_000_000
    moment = _EPOCH + dt.timedelta(microseconds=value * (1_000_000 // per_second))
    parts = (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )
    return Call(_DATETIME, _ints(*_trim(parts, 3)), (("tzinfo", Call(_UTC)),))


def _trim(parts: tuple[int, ...], keep: int) -> tuple[int, ...]:
    """Drop trailing zero components beyond the first ``keep`` (``time(12, 0)``)."""
    end = len(parts)
    while end > keep and parts[end - 1] == 0:
        end -= 1
    return parts[:end]


def _ints(*values: int) -> tuple[DefaultValue, ...]:
    return tuple(Literal(v) for v in values)


def decimal_default(value: Any, precision: int, scale: int) -> DefaultValue:
    if not isinstance(value, str):
        raise TypeError("a decimal default is a JSON string of its two's-complement bytes")
    raw = value.encode("latin-1")
    number = Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-scale)
    if len(number.as_tuple().digits) > precision and number != 0:
        raise ValueError(f"it has more than {precision} digits")
    if decimal_bytes(number, scale) != raw:
        raise ValueError("its bytes are not the minimal encoding FlowODM writes")
    if scale == 0:  # Decimal(12), as ruff prefers for whole numbers
        return Call(_DECIMAL, (Literal(int(number)),))
    return Call(_DECIMAL, (Literal(f"{number:f}"),))
