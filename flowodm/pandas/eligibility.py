"""Which models may take the columnar path: only those whose checks it reproduces exactly.

Eligible: every field is ``str``, ``int``, ``float`` (Avro double), ``bool``, ``datetime`` or a
``str`` Enum, optional or not, with at most ``ge``/``gt``/``le``/``lt`` (numbers) and
``min_length``/``max_length`` (strings) constraints, no validators, no strict mode and no
``str_*`` transformations. Anything else makes ``columnar_blocker`` return the reason.
"""

from __future__ import annotations

from typing import Any

import annotated_types as at
from pydantic import BaseModel

from flowodm.pandas.fields import FrameField, frame_fields
from flowodm.schema.types import AvroType

try:  # pyarrow comes with the pandas extra; without it rows simply take the per-row path
    import pyarrow
except ImportError:  # pragma: no cover - exercised only without pyarrow installed
    pyarrow = None

__all__ = ["LENGTH_BOUNDS", "TIME_UNITS", "columnar_blocker", "constraints", "named_types"]

LENGTH_BOUNDS = (at.MinLen, at.MaxLen)
TIME_UNITS = {"timestamp-millis": 1_000, "timestamp-micros": 1_000_000}
_NUMERIC_BOUNDS = (at.Ge, at.Gt, at.Le, at.Lt)
_CONFIG_BLOCKERS = (
    "strict",
    "str_strip_whitespace",
    "str_to_lower",
    "str_to_upper",
    "str_min_length",
    "str_max_length",
    "coerce_numbers_to_str",
)


_SCALAR_AVRO = {
    "str": ("string",),
    "int": ("long", "int"),
    "float": ("double",),
    "bool": ("boolean",),
}


def _field_blocker(f: FrameField, avro: Any, named: dict[str, Any]) -> str | None:
    branches = avro if isinstance(avro, list) else [avro]
    values = [b for b in branches if b != "null"]
    if len(values) != 1 or len(branches) > 2:
        return f"{f.name}: a union"
    value = named.get(values[0], values[0]) if isinstance(values[0], str) else values[0]
    if f.kind in _SCALAR_AVRO:
        if value not in _SCALAR_AVRO[f.kind]:
            return f"{f.name}: Avro {value!r} for a {f.kind} field"
    elif f.kind == "datetime":
        if not (isinstance(value, dict) and value.get("logicalType") in TIME_UNITS):
            return f"{f.name}: datetime stored as {value!r}"
    elif f.kind == "enum":
        if not (isinstance(value, dict) and value.get("type") == "enum"):
            return f"{f.name}: enum stored as {value!r}"
    else:
        return f"{f.name}: {f.kind} values"
    for m in constraints(f):
        if isinstance(m, AvroType):
            continue
        if isinstance(m, _NUMERIC_BOUNDS) and f.kind in ("int", "float"):
            bound = _bound_value(m)
            if type(bound) is int and (f.kind == "int" or abs(bound) < 2**53):
                continue
            if type(bound) is float and f.kind == "float":
                continue
        if isinstance(m, LENGTH_BOUNDS) and f.kind == "str":
            continue
        return f"{f.name}: constraint {m!r}"
    if not f.required and not f.has_plain_default:
        return f"{f.name}: a default_factory"
    return None


def constraints(f: FrameField) -> list[Any]:
    """The field's metadata with grouped constraints (``Interval``) expanded."""
    out: list[Any] = []
    for m in f.info.metadata:
        out.extend(m if isinstance(m, at.GroupedMetadata) else [m])
    return out


def _bound_value(m: Any) -> Any:
    for name in ("ge", "gt", "le", "lt"):
        if hasattr(m, name):
            return getattr(m, name)
    return None


def columnar_blocker(model: type[BaseModel], schema: dict[str, Any]) -> str | None:
    """Return why ``model`` cannot take the columnar path, or ``None`` when it can."""
    if pyarrow is None:  # pragma: no cover - pyarrow is part of the pandas extra
        return "pyarrow is not installed"
    decorators = model.__pydantic_decorators__
    if any(
        (
            decorators.validators,
            decorators.field_validators,
            decorators.root_validators,
            decorators.model_validators,
        )
    ):
        return "the model has validators"
    if any(model.model_config.get(k) for k in _CONFIG_BLOCKERS):
        return "the model config changes or restricts values (strict or str_* options)"
    if any("model_post_init" in vars(c) for c in model.__mro__ if c is not BaseModel):
        return "the model has a model_post_init hook"
    named = named_types(schema)
    avro = {f["name"]: f["type"] for f in schema.get("fields", [])}
    for f in frame_fields(model):
        if f.name not in avro:
            return f"{f.name}: not in the schema"
        blocker = _field_blocker(f, avro[f.name], named)
        if blocker:
            return blocker
    return None


def named_types(schema: Any, found: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every named type defined inline in ``schema``, by short and full name."""
    found = {} if found is None else found
    if isinstance(schema, dict):
        if schema.get("type") in ("enum", "record", "fixed") and "name" in schema:
            name = schema["name"]
            found[name] = schema
            if schema.get("namespace"):
                found[f"{schema['namespace']}.{name}"] = schema
        for value in schema.values():
            named_types(value, found)
    elif isinstance(schema, list):
        for item in schema:
            named_types(item, found)
    return found
