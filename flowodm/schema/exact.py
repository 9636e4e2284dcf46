"""When validating a decoded Avro datum as its model can neither reject nor change anything.

A field is **exact** when every value Avro can decode for it is a valid value of the field
that validation returns as it is: ``str``, ``int``, ``float``, ``bool``, ``bytes``, datetimes
(millis or micros), ``date``, ``time``, ``UUID``, ``Decimal`` and string ``Enum`` fields,
optional or not, whose only constraints are the ones their Avro type already enforces
(``Int32``'s range, a ``Decimal``'s digits and places). A model is **plain** when it has no
validators, no ``model_post_init``, no private attributes, no extra fields allowed, and no
``model_config`` option that changes or rejects values (``str_strip_whitespace``,
``str_to_lower``/``upper``, ``str_min/max_length``, ``allow_inf_nan=False``,
``use_enum_values``).

For a plain model of exact fields, read with the schema generated from it (not a
``schema_path`` file, which may give a field another Avro type), validation is the identity
up to enum symbols becoming members, so ``trusted_builder`` builds the instances directly,
as validation would (same ``__dict__``, all fields set), at a fraction of its cost. The
DataFrame reader uses the same rule to decode straight into columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import annotated_types
from pydantic import BaseModel

from flowodm.exceptions import SchemaGenerationError
from flowodm.schema.types import (
    AvroType,
    EnumSpec,
    LogicalSpec,
    PrimitiveSpec,
    TypeSpec,
    UnionSpec,
    record_fields,
)

__all__ = ["exact_field", "plain_model", "trusted_builder", "unwrap_optional"]

M = TypeVar("M", bound=BaseModel)

_EXACT_PRIMITIVES = frozenset(("string", "long", "int", "double", "float", "boolean", "bytes"))
_EXACT_LOGICAL = frozenset(
    ("timestamp-millis", "timestamp-micros", "date", "time-millis", "time-micros", "uuid")
) | {"decimal"}
_INT32 = annotated_types.Interval(ge=-(2**31), le=2**31 - 1)
#: ``model_config`` options under which validation changes or rejects decoded Avro values.
_TRANSFORMING_CONFIG = ("str_strip_whitespace", "str_to_lower", "str_to_upper", "use_enum_values")
_CONSTRAINING_CONFIG = ("str_min_length", "str_max_length")


def unwrap_optional(spec: TypeSpec | None) -> tuple[TypeSpec | None, bool]:
    """``X | None`` as ``(X, True)``; any other spec as ``(spec, nullable)``."""
    if isinstance(spec, UnionSpec) and len(spec.branches) == 1:
        return spec.branches[0], spec.nullable
    return spec, isinstance(spec, UnionSpec) and spec.nullable


def _harmless(item: Any, spec: TypeSpec) -> bool:
    """Whether a field constraint is one its Avro type already guarantees."""
    if isinstance(item, AvroType):
        return True
    if isinstance(item, annotated_types.Interval):
        return spec == PrimitiveSpec("int") and item == _INT32
    if isinstance(spec, LogicalSpec) and spec.logical == "decimal":
        known = {"max_digits": spec.precision, "decimal_places": spec.scale}
        found = {k: v for k, v in vars(item).items() if v is not None}
        return bool(found) and all(known.get(k) == v for k, v in found.items())
    return False


def exact_field(spec: TypeSpec | None, metadata: Sequence[Any]) -> bool:
    """Whether a field of ``spec`` (optional or not) with ``metadata`` constraints is exact."""
    inner, _ = unwrap_optional(spec)
    if isinstance(inner, PrimitiveSpec):
        kind_ok = inner.avro in _EXACT_PRIMITIVES
    elif isinstance(inner, LogicalSpec):
        kind_ok = inner.logical in _EXACT_LOGICAL
    else:
        kind_ok = isinstance(inner, EnumSpec)
    return kind_ok and inner is not None and all(_harmless(m, inner) for m in metadata)


def plain_model(model: type[BaseModel]) -> bool:
    """Whether ``model`` validates nothing beyond its fields' types (module docstring)."""
    decorators = model.__pydantic_decorators__
    config = model.model_config
    return not (
        decorators.validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.model_validators
        or model.__pydantic_post_init__
        or model.__private_attributes__
        or config.get("extra") == "allow"
        or any(config.get(option) for option in _TRANSFORMING_CONFIG)
        or any(config.get(option) is not None for option in _CONSTRAINING_CONFIG)
        or config.get("allow_inf_nan") is False
    )


def trusted_builder(model: type[M]) -> Callable[[list[dict[str, Any]]], list[M]] | None:
    """A builder of ``model`` instances from decoded datums of its generated schema, or None.

    ``None`` unless the model is plain and every field exact (module docstring). The builder
    leaves the datums as they are; it raises (any exception) for a datum that is not exactly
    the model's fields or has an unknown symbol, and the caller then validates instead.
    """
    try:
        fields = record_fields(model)
    except SchemaGenerationError:
        return None
    if not plain_model(model) or not all(exact_field(f.spec, f.info.metadata) for f in fields):
        return None
    # One generated loop over the datums: a dict display per datum in the model's field order
    # (as validation builds ``__dict__``), enum symbols (the members' values, ``EnumSpec``)
    # looked up as members, a KeyError for a missing field or an unknown symbol; the slots
    # pydantic keeps besides ``__dict__`` set through their descriptors.
    slots = BaseModel.__dict__
    namespace: dict[str, Any] = {
        "_model": model,
        "_new": object.__new__,
        "_set_dict": object.__setattr__,
        "_set_fields": slots["__pydantic_fields_set__"].__set__,
        "_set_extra": slots["__pydantic_extra__"].__set__,
        "_set_private": slots["__pydantic_private__"].__set__,
        "_names": frozenset(f.name for f in fields),
    }
    items = []
    for index, field in enumerate(fields):
        inner, _ = unwrap_optional(field.spec)
        cell = f"d[{field.name!r}]"
        if isinstance(inner, EnumSpec):
            symbols: dict[Any, Any] = {member.value: member for member in inner.cls}
            symbols[None] = None
            namespace[f"_e{index}"] = symbols
            cell = f"_e{index}[{cell}]"
        items.append(f"{field.name!r}: {cell}")
    source = "\n".join(
        [
            "def build(datums):",
            "    out = []",
            "    for d in datums:",
            f"        if len(d) != {len(fields)}: raise KeyError('not the model fields')",
            "        instance = _new(_model)",
            f"        _set_dict(instance, '__dict__', {{{', '.join(items)}}})",
            "        _set_fields(instance, set(_names))",
            "        _set_extra(instance, None)",
            "        _set_private(instance, None)",
            "        out.append(instance)",  # a specialised instruction, unlike a bound append
            "    return out",
        ]
    )
    exec(compile(source, f"<flowodm trusted {model.__name__}>", "exec"), namespace)
    build: Callable[[list[dict[str, Any]]], list[M]] = namespace["build"]
    return build
