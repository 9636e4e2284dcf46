"""Generate an Avro schema (a JSON-ready dict) from a pydantic model class.

Naming: the record name is the class name and the namespace comes only from the caller, so
moving a class between Python modules never renames its registered schema. Nested models and
enums are defined once, inline at first use, and referenced by name afterwards (which also
makes recursive models work). See ``docs/avro-mapping.md`` for the full mapping table.
"""

from __future__ import annotations

import datetime as dt
import inspect
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from flowodm.exceptions import SchemaGenerationError
from flowodm.schema.types import (
    ArraySpec,
    EnumSpec,
    FieldSpec,
    LiteralSpec,
    LogicalSpec,
    MapSpec,
    PrimitiveSpec,
    RecordSpec,
    StrLikeSpec,
    TypeSpec,
    UnionSpec,
    is_avro_name,
    record_fields,
    value_matches,
)
from flowodm.schema.values import decimal_bytes, epoch_units, quantize_decimal

__all__ = ["build_avro_schema", "record_doc"]

# Factories that return the same empty value on every call; anything else (uuid4, now, ...)
# would put a different default into every generated schema, so its default is omitted.
_PURE_FACTORIES: dict[Any, Any] = {list: [], dict: {}, tuple: ()}
_TIME_UNITS = {"timestamp-millis": 1000, "timestamp-micros": 1_000_000}


def build_avro_schema(
    model_cls: type[BaseModel], *, namespace: str | None = None, name: str | None = None
) -> dict[str, Any]:
    """Return the Avro record schema of ``model_cls``.

    Args:
        model_cls: any pydantic model class.
        namespace: Avro namespace of the record (dotted names); nested types inherit it.
        name: record name; defaults to the class name.

    Raises:
        SchemaGenerationError: a field type, default, enum or name has no valid Avro form;
            the message names ``Model.field`` and says what to change.
    """
    if not (isinstance(model_cls, type) and issubclass(model_cls, BaseModel)):
        raise SchemaGenerationError(f"{model_cls!r} is not a pydantic model class")
    if namespace is not None and not all(is_avro_name(p) for p in namespace.split(".")):
        raise SchemaGenerationError(
            f"namespace {namespace!r} is not a dotted Avro name", model=model_cls.__name__
        )
    return _Builder(namespace).record(model_cls, name or model_cls.__name__)


def record_doc(cls: type) -> str | None:
    """The class's own docstring, cleaned; inherited docstrings (e.g. BaseModel's) are ignored."""
    doc = cls.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


class _Builder:
    """Walks one model tree, remembering which named types are already defined."""

    def __init__(self, namespace: str | None) -> None:
        self._namespace = namespace
        self._named: dict[str, type] = {}
        self._name_of: dict[type, str] = {}  # the top-level record may be renamed by name=

    def _claim(self, name: str, cls: type, where: str) -> bool:
        """Register ``name`` for ``cls``; False if already defined (emit a reference)."""
        owner = self._named.get(name)
        if owner is None:
            self._named[name] = cls
            self._name_of[cls] = name
            return True
        if owner is cls:
            return False
        raise SchemaGenerationError(
            f"{where}: two different types are both named {name!r} "
            f"({owner.__module__}.{owner.__qualname__} and {cls.__module__}.{cls.__qualname__}); "
            "Avro names must be unique within a schema, rename one of them",
            model=where.partition(".")[0],
        )

    def record(self, cls: type[BaseModel], name: str, where: str | None = None) -> dict[str, Any]:
        if not is_avro_name(name):
            hint = (
                "; subclass the generic model with concrete parameters, e.g. "
                f"class Int{name.partition('[')[0]}({name}): ..."
                if "[" in name
                else ""
            )
            raise SchemaGenerationError(
                f"{where or cls.__name__}: record name {name!r} is not a valid Avro name "
                f"([A-Za-z_][A-Za-z0-9_]*){hint}",
                model=(where or cls.__name__).partition(".")[0],
            )
        self._claim(name, cls, where or cls.__name__)
        schema: dict[str, Any] = {"type": "record", "name": name}
        if where is None and self._namespace:
            schema["namespace"] = self._namespace
        doc = record_doc(cls)
        if doc:
            schema["doc"] = doc
        schema["fields"] = [self.field(f) for f in record_fields(cls)]
        return schema

    def field(self, fs: FieldSpec) -> dict[str, Any]:
        has_default, default = _field_default(fs.info)
        spec = fs.spec
        out: dict[str, Any] = {"name": fs.name}
        if isinstance(spec, UnionSpec):
            branches = _order_branches(spec, has_default, default, fs.where)
            out["type"] = self.union(branches, spec, fs.where)
            if has_default or spec.nullable:
                # A nullable field always gets a default (null unless one is declared), so
                # adding or removing it later is a compatible change in both directions.
                first = branches[0] if has_default and default is not None else None
                out["default"] = None if first is None else _json_default(first, default, fs.where)
        else:
            out["type"] = self.type(spec, fs.where)
            if has_default:
                out["default"] = _json_default(spec, default, fs.where)
        if fs.info.description:
            out["doc"] = fs.info.description
        aliases = _aliases(fs.name, fs.info)
        if aliases:
            out["aliases"] = aliases
        return out

    def type(self, spec: TypeSpec, where: str) -> Any:
        if isinstance(spec, PrimitiveSpec | LiteralSpec):
            return spec.avro
        if isinstance(spec, StrLikeSpec):
            return "string"
        if isinstance(spec, LogicalSpec):
            out: dict[str, Any] = {"type": spec.avro, "logicalType": spec.logical}
            if spec.logical == "decimal":
                out.update(precision=spec.precision, scale=spec.scale)
            return out
        if isinstance(spec, EnumSpec):
            name = spec.cls.__name__
            if not self._claim(name, spec.cls, where):
                return name
            enum: dict[str, Any] = {"type": "enum", "name": name}
            doc = record_doc(spec.cls)
            if doc:
                enum["doc"] = doc
            enum["symbols"] = [m.value for m in spec.cls]
            return enum
        if isinstance(spec, ArraySpec):
            return {"type": "array", "items": self.type(spec.items, where)}
        if isinstance(spec, MapSpec):
            return {"type": "map", "values": self.type(spec.values, where)}
        if isinstance(spec, RecordSpec):
            if spec.cls in self._name_of:
                return self._name_of[spec.cls]
            return self.record(spec.cls, spec.cls.__name__, where)
        nested = _order_branches(spec, False, None, where)
        return self.union(nested, spec, where)

    def union(self, branches: list[TypeSpec | None], spec: UnionSpec, where: str) -> list[Any]:
        seen: dict[str, TypeSpec] = {}
        for branch in branches:
            if branch is None:
                continue
            key = _union_key(branch)
            if key in seen:
                raise SchemaGenerationError(
                    f"{where}: union branches {_describe(seen[key])} and {_describe(branch)} are "
                    f"both stored as Avro {key!r}, which a union cannot tell apart; "
                    "use a nested model per alternative",
                    model=where.partition(".")[0],
                    field=where.partition(".")[2] or None,
                )
            seen[key] = branch
        return ["null" if b is None else self.type(b, where) for b in branches]


def _order_branches(
    spec: UnionSpec, has_default: bool, default: Any, where: str
) -> list[TypeSpec | None]:
    """Union order: the default's branch first (Avro rule), else null first, then as declared."""
    branches: list[TypeSpec | None] = list(spec.branches)
    if has_default and default is not None:
        match = next((b for b in spec.branches if value_matches(b, default)), None)
        if match is None:
            raise SchemaGenerationError(
                f"{where}: default {default!r} matches none of the union's types",
                model=where.partition(".")[0],
                field=where.partition(".")[2] or None,
            )
        branches.remove(match)
        return [match, *branches, *([None] if spec.nullable else [])]
    return [None, *branches] if spec.nullable else branches


def _union_key(spec: TypeSpec) -> str:
    if isinstance(spec, EnumSpec | RecordSpec):
        return spec.cls.__name__
    if isinstance(spec, StrLikeSpec):
        return "string"
    if isinstance(spec, ArraySpec):
        return "array"
    if isinstance(spec, MapSpec):
        return "map"
    assert not isinstance(spec, UnionSpec)
    return spec.avro


def _describe(spec: TypeSpec) -> str:
    """A short human name of ``spec`` for error messages."""
    if isinstance(spec, EnumSpec | RecordSpec):
        return spec.cls.__name__
    if isinstance(spec, StrLikeSpec | LogicalSpec):
        return spec.python.__name__
    if isinstance(spec, PrimitiveSpec | LiteralSpec):
        return spec.avro
    if isinstance(spec, ArraySpec):
        return "list"
    return "dict" if isinstance(spec, MapSpec) else "union"


def _field_default(info: FieldInfo) -> tuple[bool, Any]:
    """``(has_default, value)``; impure ``default_factory`` results are deliberately omitted."""
    if info.default is not PydanticUndefined:
        return True, info.default
    factory = info.default_factory
    if factory is not None and factory in _PURE_FACTORIES:
        return True, _PURE_FACTORIES[factory]
    return False, None


def _aliases(name: str, info: FieldInfo) -> list[str]:
    """Pydantic aliases that are valid Avro names (others, e.g. ``kebab-case``, are JSON-only)."""
    found: list[str] = []
    for alias in (info.alias, info.validation_alias, info.serialization_alias):
        if isinstance(alias, str) and alias != name and alias not in found and is_avro_name(alias):
            found.append(alias)
    return found


def _json_default(spec: TypeSpec, value: Any, where: str) -> Any:
    """Encode a Python default as an Avro JSON default for ``spec``."""
    try:
        return _to_json(spec, value, where)
    except (TypeError, ValueError) as exc:
        raise SchemaGenerationError(
            f"{where}: default {value!r} cannot be written as an Avro default: {exc}",
            model=where.partition(".")[0],
            field=where.partition(".")[2] or None,
        ) from None


def _to_json(spec: TypeSpec, value: Any, where: str) -> Any:
    if isinstance(spec, UnionSpec):
        # Avro checks a union default against its first branch only (null first when nullable).
        first = None if spec.nullable else spec.branches[0]
        if first is None:
            if value is None:
                return None
            raise ValueError("a default inside a nullable union must be None")
        return _to_json(first, value, where)
    if value is None or not value_matches(spec, value):
        raise TypeError(f"it is not a {_describe(spec)}")
    if isinstance(spec, PrimitiveSpec):
        return _primitive_json(spec.avro, value)
    if isinstance(spec, LogicalSpec):
        return _logical_json(spec, value)
    if isinstance(spec, StrLikeSpec):
        return str(value)
    if isinstance(spec, LiteralSpec):
        return value
    if isinstance(spec, EnumSpec):
        return value.value
    if isinstance(spec, ArraySpec):
        return [_to_json(spec.items, v, where) for v in value]
    if isinstance(spec, MapSpec):
        return {k: _to_json(spec.values, v, where) for k, v in value.items()}
    return {
        f.name: _to_json(f.spec, getattr(value, f.name), f.where) for f in record_fields(spec.cls)
    }


def _primitive_json(avro: str, value: Any) -> Any:
    if avro == "bytes":
        return value.decode("latin-1")
    if avro in ("double", "float"):
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("JSON cannot hold NaN or infinity")
        return number
    return value


def _logical_json(spec: LogicalSpec, value: Any) -> Any:
    logical = spec.logical
    if logical in _TIME_UNITS:
        return epoch_units(value, _TIME_UNITS[logical])
    if logical == "date":
        return (value - dt.date(1970, 1, 1)).days
    if logical in ("time-millis", "time-micros"):
        if value.tzinfo is not None:
            raise ValueError("Avro time values carry no time zone; use a naive time")
        micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000
        micros += value.microsecond
        return micros // 1000 if logical == "time-millis" else micros
    if logical == "uuid":
        return str(value)
    assert isinstance(value, Decimal)
    quantized = quantize_decimal(value, spec.precision, spec.scale)
    return decimal_bytes(quantized, spec.scale).decode("latin-1")
