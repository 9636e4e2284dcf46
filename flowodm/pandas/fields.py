"""What the DataFrame kit needs to know about each model field, read once per model class.

The field types come from the core's resolved type tree (``flowodm.schema.types``), so the
coercion rules and the Avro schema read one interpretation of every annotation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from flowodm.exceptions import SchemaGenerationError
from flowodm.schema.types import (
    EnumSpec,
    LogicalSpec,
    PrimitiveSpec,
    TypeSpec,
    UnionSpec,
    record_fields,
)

__all__ = ["FrameField", "Kind", "frame_fields"]

Kind = Literal["int", "float", "bool", "str", "datetime", "date", "decimal", "enum", "other"]

_PRIMITIVE_KINDS: dict[str, Kind] = {
    "long": "int",
    "int": "int",
    "double": "float",
    "float": "float",
    "boolean": "bool",
    "string": "str",
}


@dataclass(frozen=True, slots=True)
class FrameField:
    """One model field as the DataFrame kit sees it.

    Attributes:
        name: The Python field name (rows are validated by name).
        names: Every name a frame column may use for it: the name, then its aliases.
        required: Whether the model has no default for it (a column must exist).
        kind: The scalar kind that drives coercion (``other`` for containers, unions …).
        nullable: Whether ``None`` is a valid value.
        spec: The resolved type (``None`` when the model's fields could not be resolved).
        info: pydantic's field info (constraints, default).
    """

    name: str
    names: tuple[str, ...]
    required: bool
    kind: Kind
    nullable: bool
    spec: TypeSpec | None
    info: FieldInfo

    @property
    def has_plain_default(self) -> bool:
        """Whether the default is a fixed value (not a factory), so it can fill a column."""
        return self.info.default is not PydanticUndefined


def _kind_of(spec: TypeSpec) -> tuple[Kind, bool]:
    """Return the coercion kind of ``spec`` and whether it admits ``None``."""
    nullable = False
    if isinstance(spec, UnionSpec):
        nullable = spec.nullable
        if len(spec.branches) != 1:
            return "other", nullable
        spec = spec.branches[0]
    if isinstance(spec, PrimitiveSpec):
        return _PRIMITIVE_KINDS.get(spec.avro, "other"), nullable
    if isinstance(spec, LogicalSpec):
        if spec.python is dt.datetime:
            return "datetime", nullable
        if spec.python is dt.date:
            return "date", nullable
        if spec.python is Decimal:
            return "decimal", nullable
        return "other", nullable
    if isinstance(spec, EnumSpec):
        return "enum", nullable
    return "other", nullable


def _column_names(name: str, info: FieldInfo) -> tuple[str, ...]:
    names = [name]
    candidates: list[Any] = [info.alias, info.validation_alias]
    if isinstance(info.validation_alias, AliasChoices):
        candidates.extend(info.validation_alias.choices)
    for alias in candidates:
        if isinstance(alias, str) and alias not in names:
            names.append(alias)
    return tuple(names)


@cache
def frame_fields(model: type[BaseModel]) -> tuple[FrameField, ...]:
    """Return the DataFrame view of every field of ``model``, in field order (cached)."""
    try:
        specs: dict[str, TypeSpec | None] = {f.name: f.spec for f in record_fields(model)}
    except SchemaGenerationError:
        # A model whose fields have no Avro mapping can still be validated (to_models); its
        # values then only get the generic missing-value and numpy clean-up.
        specs = dict.fromkeys(model.model_fields)
    fields = []
    for name, info in model.model_fields.items():
        spec = specs.get(name)
        kind, nullable = _kind_of(spec) if spec is not None else ("other", True)
        fields.append(
            FrameField(
                name=name,
                names=_column_names(name, info),
                required=info.is_required(),
                kind=kind,
                nullable=nullable,
                spec=spec,
                info=info,
            )
        )
    return tuple(fields)
