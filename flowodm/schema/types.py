"""Resolve Python/pydantic annotations into a small type tree that schema and datum code share.

``build.py`` turns the tree into an Avro schema and ``datum.py`` compiles converters from it, so
both read one interpretation of every annotation. Unsupported annotations raise
``SchemaGenerationError`` naming ``Model.field`` and the type.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
import types
import typing
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, Flag, IntEnum
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

import annotated_types
import pydantic
import typing_extensions
from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, core_schema

from flowodm.exceptions import SchemaGenerationError

__all__ = [
    "FLOAT32_MAX",
    "ArraySpec",
    "AvroType",
    "EnumSpec",
    "FieldSpec",
    "Float32",
    "Int32",
    "LiteralSpec",
    "LogicalSpec",
    "MapSpec",
    "PrimitiveSpec",
    "RecordSpec",
    "StrLikeSpec",
    "TimeMicros",
    "TimestampMicros",
    "TypeSpec",
    "UnionSpec",
    "is_avro_name",
    "record_fields",
    "resolve_type",
    "value_matches",
]

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_avro_name(name: str) -> bool:
    """Whether ``name`` is a valid Avro (unqualified) name: ``[A-Za-z_][A-Za-z0-9_]*``."""
    return bool(_NAME_RE.match(name))


@dataclass(frozen=True)
class AvroType:
    """Annotation marker choosing a narrower Avro type than the default mapping.

    Use it through the aliases below, e.g. ``count: Int32`` or ``at: TimestampMicros``. For the
    32-bit numeric types the marker also makes pydantic reject values the Avro type cannot
    hold, so validation fails instead of the encoder writing overflowed or invalid data.
    """

    avro: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Add the 32-bit range check of Avro ``int``/``float`` to the annotated type."""
        schema = handler(source)
        if self.avro == "int":
            return _within_int32(schema)
        if self.avro == "float":
            return core_schema.no_info_after_validator_function(_check_float32, schema)
        return schema


_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
FLOAT32_MAX = 3.4028234663852886e38
"""The largest finite float32 value, ``(2 - 2**-23) * 2**127``."""
# Magnitudes from here on round to infinity when narrowed to float32 (the midpoint between
# FLOAT32_MAX and 2**128 rounds half-to-even, i.e. up); anything smaller stays finite.
_FLOAT32_OVERFLOW = 2.0**128 - 2.0**103


def _within_int32(schema: core_schema.CoreSchema) -> core_schema.CoreSchema:
    """Tighten an ``int`` schema's bounds to 32 bits, so errors are pydantic's own ge/le."""
    if schema["type"] != "int":  # e.g. a wrapped schema: check after it instead
        return core_schema.no_info_after_validator_function(_check_int32, schema)
    ge: int = max(schema.get("ge", _INT32_MIN), _INT32_MIN)
    le: int = min(schema.get("le", _INT32_MAX), _INT32_MAX)
    return {**schema, "ge": ge, "le": le}


def _check_int32(value: int) -> int:
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise PydanticCustomError(
            "int32_range",
            "Input should be between -2147483648 and 2147483647 (Avro int is 32-bit); "
            "use int (Avro long) for larger values",
        )
    return value


def _check_float32(value: float) -> float:
    # inf and nan pass: float32 holds them, and they were given explicitly.
    if abs(value) >= _FLOAT32_OVERFLOW and math.isfinite(value):
        raise PydanticCustomError(
            "float32_range",
            "Input should be within float32's range of ±3.4028234663852886e38: Avro float "
            "would store {value} as infinity; use float (Avro double) for larger values",
            {"value": value},
        )
    return value


Int32 = Annotated[int, annotated_types.Interval(ge=_INT32_MIN, le=_INT32_MAX), AvroType("int")]
"""An ``int`` stored as Avro ``int`` (32-bit); pydantic enforces the range."""
Float32 = Annotated[float, AvroType("float")]
"""A ``float`` stored as Avro ``float`` (32-bit, so precision is reduced).

Pydantic rejects finite values beyond ±3.4028234663852886e38, which float32 would store as
infinity; ``inf``, ``-inf`` and ``nan`` given explicitly are kept.
"""
TimestampMicros = Annotated[dt.datetime, AvroType("timestamp-micros")]
"""A ``datetime`` stored as ``timestamp-micros`` (no truncation to milliseconds)."""
TimeMicros = Annotated[dt.time, AvroType("time-micros")]
"""A ``time`` stored as ``time-micros``."""


@dataclass(frozen=True)
class PrimitiveSpec:
    """An Avro primitive: string, long, int, double, float, boolean or bytes."""

    avro: str


@dataclass(frozen=True)
class LogicalSpec:
    """An Avro logical type over a primitive (timestamps, date, time, uuid, decimal)."""

    avro: str
    logical: str
    python: type
    precision: int = 0
    scale: int = 0


@dataclass(frozen=True)
class StrLikeSpec:
    """A value class stored as its ``str()`` form (URLs, IP addresses)."""

    python: type


@dataclass(frozen=True)
class LiteralSpec:
    """``Literal[...]`` of one scalar kind, stored as that kind's primitive (not an enum)."""

    avro: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class EnumSpec:
    """A string-valued ``Enum``; symbols are the member values."""

    cls: type[Enum]


@dataclass(frozen=True)
class ArraySpec:
    """``list[T]``, ``Sequence[T]`` or a homogeneous ``tuple``."""

    items: TypeSpec


@dataclass(frozen=True)
class MapSpec:
    """``dict[str, V]`` or ``Mapping[str, V]``."""

    values: TypeSpec


@dataclass(frozen=True)
class RecordSpec:
    """A nested pydantic model, stored as a named record."""

    cls: type[BaseModel]


@dataclass(frozen=True)
class UnionSpec:
    """A union; ``None`` is not a branch but the ``nullable`` flag."""

    branches: tuple[TypeSpec, ...]
    nullable: bool


TypeSpec = (
    PrimitiveSpec
    | LogicalSpec
    | StrLikeSpec
    | LiteralSpec
    | EnumSpec
    | ArraySpec
    | MapSpec
    | RecordSpec
    | UnionSpec
)


@dataclass(frozen=True)
class FieldSpec:
    """One model field with its resolved type; ``where`` is ``Model.field`` for messages."""

    name: str
    spec: TypeSpec
    info: FieldInfo
    where: str


_PRIMITIVES: dict[Any, str] = {
    str: "string",
    int: "long",
    float: "double",
    bool: "boolean",
    bytes: "bytes",
}
_LOGICAL_DEFAULTS: dict[Any, tuple[str, str]] = {
    dt.datetime: ("long", "timestamp-millis"),
    dt.date: ("int", "date"),
    dt.time: ("int", "time-millis"),
    UUID: ("string", "uuid"),
}
# Marker choices allowed per Python base type: marker avro name -> (avro base, logical or "").
_MARKER_CHOICES: dict[Any, dict[str, tuple[str, str]]] = {
    int: {"int": ("int", ""), "long": ("long", "")},
    float: {"float": ("float", ""), "double": ("double", "")},
    dt.datetime: {
        "timestamp-millis": ("long", "timestamp-millis"),
        "timestamp-micros": ("long", "timestamp-micros"),
    },
    dt.time: {"time-millis": ("int", "time-millis"), "time-micros": ("long", "time-micros")},
}
_STR_LIKE: tuple[type, ...] = (
    pydantic.AnyUrl,
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
)
_SEQUENCES = (list, Sequence, MutableSequence)
_MAPPINGS = (dict, Mapping, MutableMapping)
_UNIONS = (Union, types.UnionType)


class _Unsupported(Exception):
    """Internal: an annotation has no mapping; carries the reason and a hint."""


def resolve_type(annotation: Any, metadata: Sequence[Any], where: str) -> TypeSpec:
    """Resolve ``annotation`` (with pydantic/annotated-types ``metadata``) into a ``TypeSpec``.

    Raises:
        SchemaGenerationError: the annotation has no Avro mapping; the message names ``where``.
    """
    try:
        return _resolve(annotation, list(metadata))
    except _Unsupported as exc:
        model, _, field = where.partition(".")
        raise SchemaGenerationError(f"{where}: {exc}", model=model, field=field or None) from None


def _flatten_metadata(metadata: Sequence[Any]) -> list[Any]:
    """Expand ``FieldInfo`` entries of ``Annotated[..., Field(...)]`` into their constraints."""
    flat: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            flat.extend(_flatten_metadata(item.metadata))
        else:
            flat.append(item)
    return flat


def _resolve(tp: Any, metadata: list[Any]) -> TypeSpec:
    origin = get_origin(tp)
    if origin is Annotated:
        base, *extra = get_args(tp)
        return _resolve(base, metadata + list(extra))
    if isinstance(tp, typing_extensions.TypeAliasType):
        return _resolve(tp.__value__, metadata)
    if hasattr(tp, "__supertype__"):  # typing.NewType
        return _resolve(tp.__supertype__, metadata)
    metadata = _flatten_metadata(metadata)
    if origin in _UNIONS:
        return _resolve_union(get_args(tp), metadata)
    if origin is Literal:
        return _resolve_literal(get_args(tp))
    if origin is not None:
        return _resolve_generic(tp, origin, get_args(tp))
    return _resolve_class(tp, metadata)


def _marker(metadata: list[Any]) -> str | None:
    markers = [m.avro for m in metadata if isinstance(m, AvroType)]
    return markers[-1] if markers else None


def _resolve_class(tp: Any, metadata: list[Any]) -> TypeSpec:
    if tp is Any or tp is object:
        raise _Unsupported(f"{_type_name(tp)} has no Avro type; annotate a concrete type")
    if isinstance(tp, (str, typing.ForwardRef)):
        raise _Unsupported(
            f"unresolved forward reference {tp!r}; define it and call Model.model_rebuild()"
        )
    if not isinstance(tp, type):
        raise _Unsupported(f"{_type_name(tp)} is not supported")
    marker = _marker(metadata)
    if marker is not None:
        return _resolve_marker(tp, marker)
    if tp in _PRIMITIVES:
        return PrimitiveSpec(_PRIMITIVES[tp])
    if tp in _LOGICAL_DEFAULTS:
        avro, logical = _LOGICAL_DEFAULTS[tp]
        return LogicalSpec(avro, logical, tp)
    if tp is Decimal:
        return _resolve_decimal(metadata)
    if issubclass(tp, BaseModel):
        return RecordSpec(tp)
    if issubclass(tp, Enum):
        return _resolve_enum(tp)
    if issubclass(tp, _STR_LIKE):
        return StrLikeSpec(tp)
    if tp in (list, tuple, dict, Sequence, Mapping):
        raise _Unsupported(f"bare {tp.__name__} has no item type; write e.g. {tp.__name__}[str]")
    if tp in (set, frozenset):
        raise _Unsupported(f"{tp.__name__} has no Avro type; use list[...] instead")
    raise _Unsupported(f"type {_type_name(tp)} has no Avro mapping")


def _resolve_marker(tp: type, marker: str) -> TypeSpec:
    choices = _MARKER_CHOICES.get(tp, {})
    if marker not in choices:
        raise _Unsupported(f"AvroType({marker!r}) cannot be applied to {tp.__name__}")
    avro, logical = choices[marker]
    return LogicalSpec(avro, logical, tp) if logical else PrimitiveSpec(avro)


def _resolve_decimal(metadata: list[Any]) -> TypeSpec:
    digits = [m.max_digits for m in metadata if getattr(m, "max_digits", None) is not None]
    places = [m.decimal_places for m in metadata if getattr(m, "decimal_places", None) is not None]
    if not digits or not places:
        raise _Unsupported(
            "Decimal needs a fixed precision and scale; "
            "declare Field(max_digits=P, decimal_places=S)"
        )
    precision, scale = digits[-1], places[-1]
    if not 0 <= scale <= precision or precision < 1:
        raise _Unsupported(
            f"Decimal max_digits={precision} and decimal_places={scale} are not a valid "
            "Avro decimal (need 0 <= decimal_places <= max_digits, max_digits >= 1)"
        )
    return LogicalSpec("bytes", "decimal", Decimal, precision, scale)


def _resolve_enum(tp: type[Enum]) -> TypeSpec:
    if issubclass(tp, (IntEnum, Flag)):
        raise _Unsupported(
            f"{tp.__name__} is an IntEnum/Flag; Avro enums hold names, use a str Enum"
        )
    if not is_avro_name(tp.__name__):
        raise _Unsupported(f"enum name {tp.__name__!r} is not a valid Avro name")
    bad = [m.value for m in tp if not (isinstance(m.value, str) and is_avro_name(m.value))]
    if bad:
        raise _Unsupported(
            f"enum {tp.__name__} has values {bad!r} that are not valid Avro symbols "
            "([A-Za-z_][A-Za-z0-9_]*); Avro enum symbols are the member values"
        )
    if not list(tp):
        raise _Unsupported(f"enum {tp.__name__} has no members")
    return EnumSpec(tp)


def _resolve_union(args: tuple[Any, ...], metadata: list[Any]) -> TypeSpec:
    nullable = any(a is type(None) for a in args)
    branches: list[TypeSpec] = []
    for arg in args:
        if arg is type(None):
            continue
        spec = _resolve(arg, metadata)
        if isinstance(spec, UnionSpec):  # a nested union or Optional alias flattens
            nullable = nullable or spec.nullable
            branches.extend(b for b in spec.branches if b not in branches)
        elif spec not in branches:
            branches.append(spec)
    if not branches:
        raise _Unsupported("a union of only None has no Avro type")
    if len(branches) == 1 and not nullable:
        return branches[0]
    return UnionSpec(tuple(branches), nullable)


def _resolve_literal(values: tuple[Any, ...]) -> TypeSpec:
    nullable = None in values
    rest = tuple(v for v in values if v is not None)
    kinds = {type(v) for v in rest}
    if kinds == {str}:
        spec: TypeSpec = LiteralSpec("string", rest)
    elif kinds == {bool}:
        spec = LiteralSpec("boolean", rest)
    elif kinds == {int}:
        spec = LiteralSpec("long", rest)
    else:
        raise _Unsupported(
            f"Literal{list(values)!r} mixes kinds; use values of one kind (str, int or bool)"
        )
    return UnionSpec((spec,), True) if nullable else spec


def _resolve_generic(tp: Any, origin: Any, args: tuple[Any, ...]) -> TypeSpec:
    if origin in _SEQUENCES:
        return ArraySpec(_resolve(args[0] if args else Any, []))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return ArraySpec(_resolve(args[0], []))
        if args and all(a == args[0] for a in args):
            return ArraySpec(_resolve(args[0], []))
        raise _Unsupported(
            f"{_type_name(tp)} mixes item types; use tuple[T, ...] or a nested model"
        )
    if origin in _MAPPINGS:
        key, value = args if args else (Any, Any)
        if _resolve(key, []) != PrimitiveSpec("string"):
            raise _Unsupported(f"{_type_name(tp)}: Avro map keys are strings; use dict[str, V]")
        return MapSpec(_resolve(value, []))
    if origin in (set, frozenset):
        raise _Unsupported(f"{_type_name(tp)} has no Avro type; use list[...] instead")
    raise _Unsupported(f"type {_type_name(tp)} has no Avro mapping")


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "typing.Any"
    if isinstance(tp, type) and get_origin(tp) is None:
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


@cache
def record_fields(cls: type[BaseModel]) -> tuple[FieldSpec, ...]:
    """Resolve every field of ``cls`` once, in model field order.

    Raises:
        SchemaGenerationError: a field has no Avro mapping, or the model is not fully defined.
    """
    if not cls.__pydantic_complete__:
        try:
            cls.model_rebuild()
        except pydantic.PydanticUserError as exc:
            raise SchemaGenerationError(
                f"{cls.__name__} is not fully defined ({exc}); define the referenced types "
                f"and call {cls.__name__}.model_rebuild()",
                model=cls.__name__,
            ) from exc
    specs = []
    for name, info in cls.model_fields.items():
        where = f"{cls.__name__}.{name}"
        if not is_avro_name(name):
            raise SchemaGenerationError(
                f"{where}: field name {name!r} is not a valid Avro name "
                "([A-Za-z_][A-Za-z0-9_]*); rename it and keep the old name as an alias",
                model=cls.__name__,
                field=name,
            )
        specs.append(
            FieldSpec(name, resolve_type(info.annotation, info.metadata, where), info, where)
        )
    return tuple(specs)


def value_matches(spec: TypeSpec, value: Any) -> bool:
    """Whether a Python ``value`` belongs to ``spec`` (used to pick a union branch)."""
    if isinstance(spec, PrimitiveSpec):
        return _PRIMITIVE_CHECKS[spec.avro](value)
    if isinstance(spec, LogicalSpec):
        if spec.python is dt.date:  # a datetime is a date subclass but not a date value
            return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        return isinstance(value, spec.python)
    if isinstance(spec, StrLikeSpec):
        return isinstance(value, spec.python)
    if isinstance(spec, LiteralSpec):
        return any(value == v and type(value) is type(v) for v in spec.values)
    if isinstance(spec, EnumSpec):
        return isinstance(value, spec.cls)
    if isinstance(spec, ArraySpec):
        return isinstance(value, (list, tuple))
    if isinstance(spec, MapSpec):
        return isinstance(value, dict)
    if isinstance(spec, RecordSpec):
        return isinstance(value, spec.cls)
    return value is None if spec.nullable else False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_PRIMITIVE_CHECKS: dict[str, typing.Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str) and not isinstance(v, Enum),
    "long": _is_int,
    "int": _is_int,
    "double": lambda v: isinstance(v, float) or _is_int(v),
    "float": lambda v: isinstance(v, float) or _is_int(v),
    "boolean": lambda v: isinstance(v, bool),
    "bytes": lambda v: isinstance(v, bytes),
}
