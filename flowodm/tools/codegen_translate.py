"""Read an Avro schema into the classes, fields, annotations and defaults of generated models.

``translate(schema)`` walks the parsed JSON once and returns a ``Plan``: every named type in the
order its Python class must be defined (nested types before the records using them), each
field's annotation and default as small trees, and ``expected``, the schema FlowODM's mapping
(``flowodm.schema.build``) will generate from those classes. The rules mirror that mapping:

- records become models, enums ``StrEnum``s, ``int``/``float`` ``Int32``/``Float32``, the
  logical types ``datetime``/``TimestampMicros``/``date``/``time``/``TimeMicros``/``UUID`` and
  ``Decimal`` with ``max_digits``/``decimal_places``;
- a nested named type inherits the top record's namespace (it cannot have another one);
- a union keeps its declared branch order, which the mapping reproduces only when ``null``
  comes first (or last, after a non-null default's branch); a nullable union always gets a
  ``null`` default, so one the source gives none is listed in ``notes``.

Anything the mapping cannot express raises ``SchemaGenerationError`` naming the field path and
what to do, never a looser type. What is kept but not exactly (a ``null`` default added, a doc
that a docstring cannot hold verbatim, properties and logical types Avro itself ignores) is
recorded in ``Plan.notes`` and written as comments into the generated module.
"""

from __future__ import annotations

import inspect
import keyword
from typing import Any

from flowodm.exceptions import SchemaGenerationError
from flowodm.model import FlowBaseModel
from flowodm.schema.types import is_avro_name
from flowodm.tools.codegen_types import (
    LOGICAL,
    PRIMITIVES,
    STR,
    Call,
    DecimalType,
    DefaultValue,
    DictValue,
    EnumClass,
    EnumMember,
    FieldDef,
    ListOf,
    ListValue,
    Literal,
    MapOf,
    Named,
    Plan,
    RecordClass,
    TypeRef,
    UnionOf,
    decimal_default,
    logical_default,
    member_names,
    primitive_default,
    schema_of,
)

__all__ = ["translate"]

# Logical types Avro (or fastavro) gives a meaning the mapping has no Python type for; mapping
# them to the underlying type would hand fastavro's decoded values to the wrong field type.
_UNMAPPED_LOGICAL = {
    "local-timestamp-millis": "a naive datetime",
    "local-timestamp-micros": "a naive datetime",
    "local-timestamp-nanos": "a naive datetime",
    "timestamp-nanos": "a datetime with nanoseconds",
    "duration": "a duration",
    "big-decimal": "a decimal of unlimited scale",
}
_FIELD_KEYS = {"name", "type", "default", "doc", "aliases", "order"}
_RECORD_KEYS = {"type", "name", "namespace", "doc", "aliases", "fields"}
_ENUM_KEYS = {"type", "name", "namespace", "doc", "aliases", "symbols", "default"}
# Names a field cannot have on a FlowBaseModel: the inner Settings class, and everything
# pydantic or FlowODM defines on the class (a field would shadow the method).
_CLASS_ATTRIBUTES = frozenset(dir(FlowBaseModel)) | {"Settings"}


def translate(schema: Any, *, class_name: str | None = None) -> Plan:
    """Plan the classes for ``schema``, a parsed Avro record schema (JSON).

    Args:
        schema: the top-level record schema as parsed JSON.
        class_name: Python name of the top class (default: the record name).

    Raises:
        SchemaGenerationError: the schema is not a record, or uses a construct FlowODM's
            mapping cannot express; the message names the field path.
    """
    if not isinstance(schema, dict) or schema.get("type") != "record":
        kind = schema.get("type") if isinstance(schema, dict) else type(schema).__name__
        raise SchemaGenerationError(
            f"the top-level schema is {kind!r}, not a record; a FlowBaseModel is an Avro record "
            "(for a top-level union, generate one model per record branch)"
        )
    fullname, namespace = _full_name(schema, None, "the top-level record")
    translator = _Translator(fullname.rpartition(".")[2], namespace)
    expected = translator.record(schema, None, top=True, class_name=class_name)
    top = translator.classes[-1]
    assert isinstance(top, RecordClass)
    return Plan(translator.classes, top, namespace, expected, translator.notes)


def _full_name(schema: dict[str, Any], enclosing: str | None, where: str) -> tuple[str, str | None]:
    """``(fullname, namespace)`` of a named schema, Avro's rules for dotted names included."""
    name = schema.get("name")
    if not isinstance(name, str) or not name:
        raise SchemaGenerationError(f"{where}: a named type needs a 'name'")
    if "." in name:
        namespace: str | None = name.rpartition(".")[0]
    else:
        given = schema.get("namespace", enclosing)
        namespace = given if given else None
    short = name.rpartition(".")[2]
    if not is_avro_name(short):
        raise SchemaGenerationError(f"{where}: {short!r} is not a valid Avro name")
    return (f"{namespace}.{short}" if namespace else short), namespace


class _Translator:
    """Walks one schema; remembers named types (defined, and still being defined)."""

    def __init__(self, top_name: str, namespace: str | None) -> None:
        self._top_name = top_name
        self._namespace = namespace
        self._types: dict[str, RecordClass | EnumClass] = {}
        self._finished: set[str] = set()
        self.classes: list[RecordClass | EnumClass] = []
        self.notes: list[str] = []

    # ---------------------------------------------------------------- errors and notes

    def _error(self, where: str, message: str) -> SchemaGenerationError:
        model, _, path = where.partition(".")
        return SchemaGenerationError(f"{where}: {message}", model=model, field=path or None)

    def _note(self, where: str, message: str) -> None:
        self.notes.append(f"{where}: {message}")

    def _extra_properties(self, schema: dict[str, Any], known: set[str], where: str) -> None:
        extra = sorted(set(schema) - known)
        if extra:
            self._note(where, f"properties {', '.join(extra)} are not carried over")

    # ---------------------------------------------------------------- named types

    def _claim_name(self, schema: dict[str, Any], where: str, top: bool) -> tuple[str, str]:
        fullname, namespace = _full_name(schema, self._namespace, where)
        short = fullname.rpartition(".")[2]
        if not top and namespace != self._namespace:
            raise self._error(
                where,
                f"the named type {fullname!r} has namespace {namespace!r}, but FlowODM models "
                f"put every nested type in the top record's namespace ({self._namespace!r}); "
                "give it that namespace in the schema, or generate it as a model of its own",
            )
        if fullname in self._types:
            raise self._error(where, f"the type {fullname!r} is defined twice")
        if any(known.fullname.rpartition(".")[2] == short for known in self._types.values()):
            raise self._error(where, f"two named types are called {short!r}")
        if not top and (keyword.iskeyword(short) or short == "Settings"):
            raise self._error(
                where, f"the type name {short!r} cannot be a Python class name; rename it"
            )
        if schema.get("aliases"):
            raise self._error(
                where,
                f"{fullname!r} has aliases, which FlowODM models cannot declare for records "
                "and enums; drop them from the schema if readers need no old names",
            )
        return fullname, short

    def record(
        self,
        schema: dict[str, Any],
        where: str | None,
        *,
        top: bool = False,
        class_name: str | None = None,
    ) -> dict[str, Any]:
        if schema.get("type") == "error":
            raise self._error(where or self._top_name, "Avro 'error' types belong to protocols")
        fullname, short = self._claim_name(schema, where or self._top_name, top)
        here = short if top else f"{where}"
        name = class_name or short
        doc = self._doc(schema, here)
        cls = RecordClass(fullname, name, doc)
        self._types[fullname] = cls
        self._extra_properties(schema, _RECORD_KEYS, here)
        expected: dict[str, Any] = {"type": "record", "name": short}
        if top and self._namespace:
            expected["namespace"] = self._namespace
        if doc is not None:
            expected["doc"] = doc
        fields = schema.get("fields")
        if not isinstance(fields, list):
            raise self._error(here, "a record needs a 'fields' list")
        expected["fields"] = [self._field(cls, f, short if top else here) for f in fields]
        self._finished.add(fullname)
        self.classes.append(cls)
        return expected

    def _enum(self, schema: dict[str, Any], where: str) -> dict[str, Any]:
        fullname, short = self._claim_name(schema, where, top=False)
        if "default" in schema:
            raise self._error(
                where,
                f"the enum {fullname!r} has a default symbol (the fallback for unknown symbols), "
                "which FlowODM enums cannot declare; remove it if readers may fail on new symbols",
            )
        symbols = schema.get("symbols")
        if not isinstance(symbols, list) or not symbols:
            raise self._error(where, f"the enum {fullname!r} needs symbols")
        doc = self._doc(schema, where)
        self._extra_properties(schema, _ENUM_KEYS, where)
        enum = EnumClass(fullname, short, doc, member_names([str(s) for s in symbols]))
        self._types[fullname] = enum
        self._finished.add(fullname)
        self.classes.append(enum)
        expected: dict[str, Any] = {"type": "enum", "name": short}
        if doc is not None:
            expected["doc"] = doc
        expected["symbols"] = list(symbols)
        return expected

    def _doc(self, schema: dict[str, Any], where: str) -> str | None:
        """The class docstring: what FlowODM reads back is ``inspect.cleandoc`` of it."""
        doc = schema.get("doc")
        if doc is None:
            return None
        if not isinstance(doc, str):
            raise self._error(where, "'doc' must be a string")
        cleaned = inspect.cleandoc(doc) if doc.strip() else None
        if cleaned != doc:
            self._note(where, "the doc is kept without its surrounding whitespace or indentation")
        return cleaned

    # ---------------------------------------------------------------- fields

    def _field(self, cls: RecordClass, spec: Any, record_where: str) -> dict[str, Any]:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise self._error(record_where, "every field needs a 'name'")
        name: str = spec["name"]
        where = f"{record_where}.{name}"
        self._check_field_name(name, where)
        if spec.get("order", "ascending") != "ascending":
            raise self._error(
                where, f"sort order {spec['order']!r} cannot be declared on a FlowODM field"
            )
        self._extra_properties(spec, _FIELD_KEYS, where)
        schema = spec.get("type")
        has_default = "default" in spec
        out: dict[str, Any] = {"name": name}
        annotation: TypeRef
        if isinstance(schema, list):
            union, out["type"], default = self._field_union(schema, spec, where)
            annotation = union
            if default is not None or has_default or union.nullable:
                out["default"] = spec.get("default")
        else:
            annotation, out["type"] = self.type(schema, where)
            default = None
            if has_default:
                default = self.default(schema, spec["default"], where)
                out["default"] = spec["default"]
        description = spec.get("doc")
        if description is not None:
            if not isinstance(description, str):
                raise self._error(where, "'doc' must be a string")
            if description:
                out["doc"] = description
            else:  # Field(description="") reads back as no description
                self._note(where, "the empty doc is not carried over")
                description = None
        aliases = self._aliases(spec.get("aliases"), name, where)
        if aliases:
            out["aliases"] = list(aliases)
        cls.fields.append(FieldDef(name, annotation, default, description, aliases))
        return out

    def _check_field_name(self, name: str, where: str) -> None:
        if not is_avro_name(name):
            raise self._error(where, f"{name!r} is not a valid Avro field name")
        reason = None
        if keyword.iskeyword(name):
            reason = "it is a Python keyword"
        elif name.startswith("_"):
            reason = "pydantic treats names starting with '_' as private attributes"
        elif name in _CLASS_ATTRIBUTES or name.startswith(("model_dump", "model_validate")):
            reason = "FlowBaseModel has an attribute of that name"
        if reason:
            raise self._error(
                where,
                f"the field name {name!r} cannot be a model field ({reason}); rename the field "
                "in the schema and keep the old name in its 'aliases'",
            )

    def _aliases(self, aliases: Any, name: str, where: str) -> tuple[str, ...]:
        if aliases is None:
            return ()
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise self._error(where, "'aliases' must be a list of names")
        bad = [a for a in aliases if not is_avro_name(a) or a == name]
        if bad or len(set(aliases)) != len(aliases) or len(aliases) > 3:
            raise self._error(
                where,
                f"aliases {aliases!r} cannot be declared on a FlowODM field: it carries at most "
                "three distinct valid names other than the field's own (pydantic's alias, "
                "validation_alias and serialization_alias)",
            )
        return tuple(aliases)

    def _field_union(
        self, branches: list[Any], spec: dict[str, Any], where: str
    ) -> tuple[UnionOf, list[Any], DefaultValue | None]:
        """A field's union: its annotation, expected schema and default (if any)."""
        annotation, expected = self._union(branches, where, top_level=True)
        null_at = branches.index("null") if "null" in branches else None
        if "default" not in spec:
            if null_at not in (None, 0):
                raise self._cannot_order(where)
            if null_at == 0:
                self._note(
                    where, 'no default in the source; the model\'s schema has "default": null'
                )
                return annotation, expected, Literal(None)
            return annotation, expected, None
        value = spec["default"]
        if value is None:
            if null_at != 0:
                raise self._error(where, "a null default needs 'null' as the union's first branch")
            return annotation, expected, Literal(None)
        if null_at == 0:
            raise self._error(
                where, f"the default {value!r} must be null, the union's first branch"
            )
        if null_at is not None and null_at != len(branches) - 1:
            raise self._cannot_order(where)
        return annotation, expected, self.default(branches[0], value, where)

    def _cannot_order(self, where: str) -> SchemaGenerationError:
        return self._error(
            where,
            "the union puts 'null' where FlowODM's mapping cannot: it writes nullable unions "
            "null first (or last, after a non-null default's branch); reorder the branches in "
            "the schema (readers resolve union branches by type, so that is compatible)",
        )

    # ---------------------------------------------------------------- types

    def type(self, schema: Any, where: str) -> tuple[TypeRef, Any]:
        """The annotation and expected schema of a (non-field-level) type."""
        if isinstance(schema, list):
            return self._union(schema, where, top_level=False)
        if isinstance(schema, str):
            return self._name(schema, where)
        if not isinstance(schema, dict):
            raise self._error(where, f"{schema!r} is not an Avro type")
        kind = schema.get("type")
        if kind in ("record", "error"):
            expected = self.record(schema, where)
            fullname, _ = _full_name(schema, self._namespace, where)
            return Named(fullname, forward=False), expected
        if kind == "enum":
            expected = self._enum(schema, where)
            fullname, _ = _full_name(schema, self._namespace, where)
            return Named(fullname, forward=False), expected
        if kind == "array":
            self._extra_properties(schema, {"type", "items", "default"}, where)
            item, expected_item = self.type(schema.get("items"), where)
            return ListOf(item), {"type": "array", "items": expected_item}
        if kind == "map":
            self._extra_properties(schema, {"type", "values", "default"}, where)
            value, expected_value = self.type(schema.get("values"), where)
            return MapOf(value), {"type": "map", "values": expected_value}
        if kind == "fixed":
            raise self._error(
                where,
                "Avro fixed has no FlowODM mapping (Python bytes map to Avro 'bytes'); "
                "change the schema to 'bytes' or keep the model's schema in a .avsc file "
                "(Settings.schema_path)",
            )
        if isinstance(kind, str) and kind in PRIMITIVES | {"null": STR}:
            return self._logical(schema, kind, where)
        raise self._error(where, f"{kind!r} is not an Avro type")

    def _name(self, name: str, where: str) -> tuple[TypeRef, Any]:
        if name in PRIMITIVES:
            return PRIMITIVES[name], name
        if name == "null":
            raise self._error(
                where, "a field of type 'null' has no FlowODM mapping; use ['null', T]"
            )
        fullname = (
            name if "." in name else (f"{self._namespace}.{name}" if self._namespace else name)
        )
        known = self._types.get(fullname) or self._types.get(name)
        if known is None:
            raise self._error(
                where,
                f"the type {name!r} is not defined in this schema (schema references to other "
                "subjects are not supported); inline its definition",
            )
        return Named(known.fullname, forward=known.fullname not in self._finished), known.name

    def _logical(self, schema: dict[str, Any], kind: str, where: str) -> tuple[TypeRef, Any]:
        logical = schema.get("logicalType")
        if kind == "null":
            raise self._error(where, "a field of type 'null' has no FlowODM mapping")
        if logical is None:
            self._extra_properties(schema, {"type"}, where)
            return PRIMITIVES[kind], kind
        if (kind, logical) in LOGICAL:
            self._extra_properties(schema, {"type", "logicalType"}, where)
            return LOGICAL[kind, logical], {"type": kind, "logicalType": logical}
        if (kind, logical) == ("bytes", "decimal"):
            return self._decimal(schema, where)
        if logical in _UNMAPPED_LOGICAL or logical == "decimal":
            raise self._error(
                where,
                f"the logical type {logical!r} on {kind!r} (decoded as "
                f"{_UNMAPPED_LOGICAL.get(logical, 'a decimal')}) has no FlowODM mapping; "
                "keep the model's schema in a .avsc file (Settings.schema_path) or change the type",
            )
        # Avro readers ignore logical types they do not know (or on the wrong base type).
        self._note(where, f"logicalType {logical!r} on {kind!r} is not carried over")
        return PRIMITIVES[kind], kind

    def _decimal(self, schema: dict[str, Any], where: str) -> tuple[TypeRef, Any]:
        precision, scale = schema.get("precision"), schema.get("scale", 0)
        if (
            not isinstance(precision, int)
            or not isinstance(scale, int)
            or not 0 <= scale <= precision
            or precision < 1
        ):
            raise self._error(
                where, f"decimal precision {precision!r} and scale {scale!r} are not valid"
            )
        self._extra_properties(schema, {"type", "logicalType", "precision", "scale"}, where)
        expected = {"type": "bytes", "logicalType": "decimal", "precision": precision}
        expected["scale"] = scale
        return DecimalType(precision, scale), expected

    def _union(self, branches: list[Any], where: str, *, top_level: bool) -> tuple[UnionOf, Any]:
        non_null = [b for b in branches if b != "null"]
        nullable = len(non_null) < len(branches)
        if not non_null or (len(branches) == 1):
            raise self._error(
                where,
                f"the union {branches!r} has no FlowODM mapping (a union needs two or more "
                "branches, one of them not null)",
            )
        if branches.count("null") > 1:
            raise self._error(where, "the union lists 'null' twice")
        if not top_level and nullable and branches[0] != "null":
            raise self._cannot_order(where)
        refs: list[TypeRef] = []
        expected: list[Any] = []
        seen: dict[str, Any] = {}
        for branch in branches:
            if branch == "null":
                expected.append("null")
                continue
            key = self._union_key(branch)
            if key in seen:
                raise self._error(
                    where,
                    f"the union has two branches of Avro type {key!r}, which FlowODM (and Avro) "
                    "cannot tell apart; use a nested record per alternative",
                )
            seen[key] = branch
            ref, branch_expected = self.type(branch, where)
            refs.append(ref)
            expected.append(branch_expected)
        return UnionOf(tuple(refs), nullable), expected

    def _union_key(self, branch: Any) -> str:
        """The name a union branch is told apart by: its type, or its full name if named."""
        if isinstance(branch, dict):
            kind = branch.get("type")
            if kind in ("record", "error", "enum", "fixed"):
                return _full_name(branch, self._namespace, "union branch")[0]
            return str(kind)
        if isinstance(branch, str) and branch not in PRIMITIVES:
            return branch if "." in branch else f"{self._namespace}.{branch}"
        return str(branch)

    # ---------------------------------------------------------------- defaults

    def default(self, schema: Any, value: Any, where: str) -> DefaultValue:
        """The Python default for the Avro JSON ``value`` of ``schema`` (exact or an error)."""
        try:
            return self._default(schema, value, where)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self._error(
                where, f"the default {value!r} does not fit the type: {exc}"
            ) from None

    def _default(self, schema: Any, value: Any, where: str) -> DefaultValue:
        if isinstance(schema, list):
            # Avro takes a union default as the first branch; FlowODM's mapping can write a
            # nested nullable union's default only as null.
            if "null" in schema:
                if value is not None:
                    raise ValueError("a default inside a nullable union must be null here")
                return Literal(None)
            return self._default(schema[0], value, where)
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return primitive_default(schema, value)
            named = self._named_schema(schema)
            return self._named_default(named, value, where)
        assert isinstance(schema, dict)
        kind = schema.get("type")
        if kind in ("record", "enum"):
            fullname, _ = _full_name(schema, self._namespace, where)
            return self._named_default(self._types[fullname], value, where)
        if kind == "array":
            if not isinstance(value, list):
                raise TypeError("an array default is a JSON list")
            return ListValue(tuple(self._default(schema["items"], v, where) for v in value))
        if kind == "map":
            if not isinstance(value, dict):
                raise TypeError("a map default is a JSON object")
            return DictValue(
                tuple((k, self._default(schema["values"], v, where)) for k, v in value.items())
            )
        logical = schema.get("logicalType")
        if (kind, logical) in LOGICAL:
            return logical_default(str(logical), value)
        if (kind, logical) == ("bytes", "decimal"):
            return decimal_default(value, schema["precision"], schema.get("scale", 0))
        return primitive_default(str(kind), value)

    def _named_schema(self, name: str) -> RecordClass | EnumClass:
        fullname = (
            name if "." in name else (f"{self._namespace}.{name}" if self._namespace else name)
        )
        return self._types[fullname]

    def _named_default(
        self, named: RecordClass | EnumClass, value: Any, where: str
    ) -> DefaultValue:
        if isinstance(named, EnumClass):
            member = next((m for m, symbol in named.members if symbol == value), None)
            if member is None:
                raise ValueError(f"{value!r} is not a symbol of {named.name}")
            return EnumMember(named.fullname, member)
        if named.fullname not in self._finished:
            raise self._error(
                where,
                "a default of a record that is still being defined (recursion) cannot be "
                "written as a Python default; drop the default",
            )
        if not isinstance(value, dict) or set(value) != {f.name for f in named.fields}:
            raise ValueError(f"a default of {named.name} must give every one of its fields")
        kwargs = tuple(
            (f.name, self._record_field_default(f, value[f.name], where)) for f in named.fields
        )
        return Call(named.fullname, (), kwargs)

    def _record_field_default(self, spec: FieldDef, value: Any, where: str) -> DefaultValue:
        """A field value inside a record default, by the field's annotation."""
        return self._default(schema_of(spec.annotation, self._types), value, where)
