"""Avro schema → Python source of ``FlowBaseModel`` classes, round-trip exact.

Public API:

- ``generate_source(schema, *, topic=None, module_doc=None, class_name=None) -> str``: a
  module with one class per named type of ``schema`` (nested records as models, enums as
  ``StrEnum``s), already formatted as ``ruff format`` writes it (line length 88) and importable.
- ``generate_model(schema, *, topic=None, class_name=None) -> type[FlowBaseModel]``: the same
  classes built in a fresh module namespace, for notebooks; returns the top record's class.
- ``generate_source_from_registry(subject, *, version="latest", connection=None, topic=None)``:
  ``generate_source`` for a schema registered in the Schema Registry, fetched through the
  connection's ``RegistryAdapter``.
- ``generate_model_from_schema(schema_source, topic, class_name=None, consumer_group=None)`` and
  ``generate_model_from_registry(subject, topic, version="latest", ...)``: upstream flowodm's
  names and arguments (what its docs promised), on the generator above.
- ``load_schema_file(path) -> dict``: read an ``.avsc`` file.
- ``full_canonical_form(schema) -> str``: Parsing Canonical Form plus what it drops but a model
  must keep (defaults, docs, aliases, sort order and logical-type attributes), to compare two
  schemas for the exactness codegen promises.

**Round trip.** Every generated module is executed before it is returned, and its top model's
``avro_schema()`` is compared with what the source schema must map to: equal to the source in
Parsing Canonical Form always, and in ``full_canonical_form`` too unless the module's header
comments list a difference (a ``null`` default FlowODM adds to a nullable union, a doc without
its surrounding whitespace, properties and unknown logical types that Avro readers ignore).
A construct the mapping cannot express raises ``SchemaGenerationError`` naming the field path
(``Order.lines.price``) and saying what to do; nothing is ever mapped to ``Any``.
"""

from __future__ import annotations

import copy
import json
import keyword
import types
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastavro
from fastavro.schema import SchemaParseException

from flowodm.exceptions import InvalidArgumentError, SchemaGenerationError
from flowodm.model import FlowBaseModel
from flowodm.tools.codegen_render import render
from flowodm.tools.codegen_translate import translate
from flowodm.tools.codegen_types import Plan

if TYPE_CHECKING:
    from flowodm.kafka.connection import Connection
    from flowodm.serde.registry import RegistryAdapter

__all__ = [
    "full_canonical_form",
    "generate_model",
    "generate_model_from_registry",
    "generate_model_from_schema",
    "generate_source",
    "generate_source_from_registry",
    "load_schema_file",
]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


def generate_source(
    schema: str | Mapping[str, Any] | list[Any],
    *,
    topic: str | None = None,
    module_doc: str | None = None,
    class_name: str | None = None,
    consumer_group: str | None = None,
) -> str:
    """Return the source of a module defining ``FlowBaseModel`` classes for ``schema``.

    Args:
        schema: an Avro record schema: parsed JSON, or its JSON text.
        topic: written as the top model's ``Settings.topic``.
        module_doc: the module's docstring (default: one naming the record).
        class_name: the top class's Python name (default: the record name); the Avro name is
            kept through ``Settings.record_name``.
        consumer_group: written as the top model's ``Settings.consumer_group``.

    Raises:
        InvalidArgumentError: ``schema`` is not JSON or not a valid Avro schema.
        SchemaGenerationError: the schema uses a construct FlowODM's mapping cannot express
            (the message names the field path and what to do).
    """
    source, _ = _build(
        schema,
        topic=topic,
        module_doc=module_doc,
        class_name=class_name,
        consumer_group=consumer_group,
    )
    return source


def generate_model(
    schema: str | Mapping[str, Any] | list[Any],
    *,
    topic: str | None = None,
    class_name: str | None = None,
    consumer_group: str | None = None,
) -> type[FlowBaseModel]:
    """Build the models for ``schema`` without writing a file and return the top record's class.

    The classes live in a fresh module namespace (``cls.__module__`` names it); nested models
    are reachable through the field annotations.

    Raises:
        InvalidArgumentError, SchemaGenerationError: as ``generate_source``.
    """
    _, top = _build(
        schema, topic=topic, module_doc=None, class_name=class_name, consumer_group=consumer_group
    )
    return top


def generate_source_from_registry(
    subject: str,
    *,
    version: int | str = "latest",
    connection: Connection | RegistryAdapter | None = None,
    topic: str | None = None,
) -> str:
    """``generate_source`` for the schema registered under ``subject`` (at ``version``).

    Args:
        subject: the registry subject, e.g. ``orders-value``.
        version: a version number or ``"latest"``.
        connection: a ``Connection`` (or its ``RegistryAdapter``); default: the current one.
        topic: the model's topic; by default the topic of a ``<topic>-value`` subject (Confluent's
            TopicNameStrategy), so the model writes to the same subject again.

    Raises:
        ConfigurationError: no Schema Registry is configured.
        SchemaRegistryError: the subject or version does not exist, or the registry failed.
        SchemaGenerationError: the schema is not Avro, names types of other subjects (schema
            references), or uses a construct FlowODM's mapping cannot express.
    """
    from flowodm.serde.registry import RegistryAdapter
    from flowodm.tools.registry import get_subject_version, parse_version

    if isinstance(connection, RegistryAdapter):
        found = connection.get_version(subject, parse_version(version))
    else:
        found = get_subject_version(subject, version, connection=connection)
    where = f"subject {found.subject!r} version {found.version}"
    if found.schema_type != "AVRO":
        raise SchemaGenerationError(f"{where} is a {found.schema_type} schema, not Avro")
    if topic is None and subject.endswith("-value"):
        topic = subject.removesuffix("-value")
    doc = f"FlowODM models for Schema Registry {where}."
    return generate_source(found.schema, topic=topic, module_doc=doc)


def generate_model_from_schema(
    schema_source: str | Path | Mapping[str, Any],
    topic: str,
    class_name: str | None = None,
    consumer_group: str | None = None,
    *,
    connection: Connection | None = None,
) -> type[FlowBaseModel]:
    """Upstream flowodm's name: ``generate_model`` for a schema dict, JSON text or ``.avsc``
    path; any other string is a registry subject, as upstream reads it.

    Raises:
        InvalidArgumentError: a ``.avsc``/``.json`` path that does not exist, or bad JSON.
        SchemaGenerationError, SchemaRegistryError: as ``generate_model`` and the registry.
    """
    if isinstance(schema_source, Mapping):
        schema: Any = dict(schema_source)
    elif isinstance(schema_source, Path) or str(schema_source).endswith((".avsc", ".json")):
        schema = load_schema_file(schema_source)
    elif str(schema_source).lstrip().startswith(("{", "[")):
        schema = str(schema_source)
    else:
        return generate_model_from_registry(
            str(schema_source),
            topic,
            class_name=class_name,
            consumer_group=consumer_group,
            connection=connection,
        )
    return generate_model(schema, topic=topic, class_name=class_name, consumer_group=consumer_group)


def generate_model_from_registry(
    subject: str,
    topic: str,
    version: int | str = "latest",
    class_name: str | None = None,
    consumer_group: str | None = None,
    *,
    connection: Connection | None = None,
) -> type[FlowBaseModel]:
    """Upstream flowodm's name: ``generate_model`` for ``subject``'s schema at ``version``.

    Raises:
        ConfigurationError: no Schema Registry is configured.
        SchemaRegistryError: the subject or version does not exist, or the registry failed.
        SchemaGenerationError: as ``generate_model``.
    """
    from flowodm.tools.registry import get_subject_version

    found = get_subject_version(subject, version, connection=connection)
    if found.schema_type != "AVRO":
        raise SchemaGenerationError(
            f"subject {found.subject!r} version {found.version} is a {found.schema_type} "
            "schema, not Avro"
        )
    return generate_model(
        found.schema, topic=topic, class_name=class_name, consumer_group=consumer_group
    )


def load_schema_file(path: str | Path) -> dict[str, Any]:
    """Read an ``.avsc`` file holding an Avro schema (a JSON object).

    Raises:
        InvalidArgumentError: the file cannot be read, is not JSON or holds no JSON object.
    """
    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(
            f"cannot read an Avro schema from {str(path)!r}: {exc}", argument="path"
        ) from None
    if not isinstance(schema, dict):
        raise InvalidArgumentError(
            f"{str(path)!r} holds a JSON {type(schema).__name__}, not an Avro schema object",
            argument="path",
        )
    return schema


# ------------------------------------------------------------------------------ building


def _build(
    schema: str | Mapping[str, Any] | list[Any],
    *,
    topic: str | None,
    module_doc: str | None,
    class_name: str | None,
    consumer_group: str | None = None,
) -> tuple[str, type[FlowBaseModel]]:
    parsed = _parse(schema)
    if class_name is not None and not (class_name.isidentifier() and class_name[0] != "_"):
        raise InvalidArgumentError(
            f"class_name {class_name!r} is not a public Python class name", argument="class_name"
        )
    plan = translate(parsed, class_name=class_name or _top_class_name(parsed))
    doc = module_doc or f"FlowODM models generated from the Avro schema {plan.top.fullname}."
    source = render(plan, topic=topic, module_doc=doc, consumer_group=consumer_group)
    return source, _check_round_trip(plan, source)


def _parse(schema: str | Mapping[str, Any] | list[Any]) -> Any:
    """JSON-ready copy of ``schema``, checked to be valid Avro by fastavro."""
    if isinstance(schema, str):
        try:
            parsed = json.loads(schema)
        except ValueError as exc:
            raise InvalidArgumentError(
                f"schema is not JSON ({exc}); for an .avsc file use load_schema_file(path)",
                argument="schema",
            ) from None
    elif isinstance(schema, Mapping | list):
        parsed = copy.deepcopy(dict(schema) if isinstance(schema, Mapping) else schema)
    else:
        raise InvalidArgumentError(
            f"schema must be JSON text, a dict or a list, not {type(schema).__name__}",
            argument="schema",
        )
    try:
        fastavro.parse_schema(copy.deepcopy(parsed))
    except (SchemaParseException, ValueError, TypeError, KeyError) as exc:
        raise InvalidArgumentError(f"schema is not valid Avro: {exc}", argument="schema") from None
    return parsed


def _top_class_name(schema: Any) -> str | None:
    """A Python name for a top record whose Avro name is a keyword (``Settings`` keeps it)."""
    if isinstance(schema, dict) and isinstance(schema.get("name"), str):
        short = str(schema["name"]).rpartition(".")[2]
        if not _usable_class_name(short):
            return f"{short}_"
    return None


def _usable_class_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _check_round_trip(plan: Plan, source: str) -> type[FlowBaseModel]:
    """Run ``source`` and check that its top model maps back to ``plan.expected``.

    A difference is a bug in this generator, not in the user's schema: it is reported as such
    rather than handing out a model that would write a different schema.
    """
    module = types.ModuleType(f"flowodm_generated_{plan.top.name}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # dont_inherit: this module's `from __future__ import annotations` must not apply.
            code = compile(
                source, f"<flowodm codegen {plan.top.fullname}>", "exec", dont_inherit=True
            )
            exec(code, module.__dict__)
            top = module.__dict__[plan.top.name]
            generated = top.avro_schema()
    except Exception as exc:
        raise SchemaGenerationError(
            f"{plan.top.name}: the generated models do not load ({type(exc).__name__}: {exc}); "
            "this is a FlowODM codegen bug, please report it with the schema",
            model=plan.top.name,
        ) from exc
    if generated != plan.expected:
        raise SchemaGenerationError(
            f"{plan.top.name}: the generated model's schema differs from the source schema "
            f"at {_first_difference(plan.expected, generated)}; this is a FlowODM codegen bug, "
            "please report it with the schema",
            model=plan.top.name,
        )
    if not (isinstance(top, type) and issubclass(top, FlowBaseModel)):  # pragma: no cover
        raise SchemaGenerationError(f"{plan.top.name} is not a FlowBaseModel")
    return top


def _first_difference(expected: Any, actual: Any, path: str = "$") -> str:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in dict.fromkeys([*expected, *actual]):
            if expected.get(key) != actual.get(key):
                return _first_difference(expected.get(key), actual.get(key), f"{path}.{key}")
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return f"{path} (expected {expected!r}, got {actual!r})"


# ------------------------------------------------------------------------------ comparison


def full_canonical_form(schema: str | Mapping[str, Any] | list[Any]) -> str:
    """Parsing Canonical Form extended by what a model must also reproduce.

    Like PCF: full names instead of namespaces, ``{"type": "string"}`` as ``"string"``, named
    types defined once, fixed key order, no whitespace. Unlike PCF it keeps ``default``
    (numbers of ``float``/``double`` as floats), ``doc``, ``aliases`` (full names for named
    types), a field's ``order`` other than ``ascending``, an enum's ``default``, and
    ``logicalType`` with ``precision`` and ``scale`` (a decimal's ``scale`` defaults to 0).
    Other properties are dropped, as Avro readers ignore them.
    """
    parsed = json.loads(schema) if isinstance(schema, str) else schema
    named: dict[str, Any] = {}
    return json.dumps(_canonical(parsed, None, named), separators=(",", ":"))


def _fullname(name: str, namespace: str | None) -> str:
    if "." in name or not namespace or name in _PRIMITIVES:
        return name
    return f"{namespace}.{name}"


def _canonical(schema: Any, namespace: str | None, named: dict[str, Any]) -> Any:
    if isinstance(schema, str):
        return _fullname(schema, namespace)
    if isinstance(schema, list):
        return [_canonical(branch, namespace, named) for branch in schema]
    kind = schema["type"]
    if isinstance(kind, dict | list):
        return _canonical(kind, namespace, named)
    if kind in ("record", "error", "enum", "fixed"):
        full = _fullname(schema["name"], schema.get("namespace", namespace))
        inner = full.rpartition(".")[0] or None
        out: dict[str, Any] = {"name": full, "type": kind}
        named[full] = out
        if "doc" in schema:
            out["doc"] = schema["doc"]
        if schema.get("aliases"):
            out["aliases"] = [_fullname(a, inner) for a in schema["aliases"]]
        if kind == "enum":
            out["symbols"] = schema["symbols"]
            if "default" in schema:
                out["default"] = schema["default"]
        elif kind == "fixed":
            out["size"] = schema["size"]
            out.update(_logical(schema))
        else:
            out["fields"] = [_canonical_field(f, inner, named) for f in schema["fields"]]
        return out
    if kind == "array":
        return {"type": "array", "items": _canonical(schema["items"], namespace, named)}
    if kind == "map":
        return {"type": "map", "values": _canonical(schema["values"], namespace, named)}
    logical = _logical(schema)
    return {"type": kind, **logical} if logical else kind


def _logical(schema: Mapping[str, Any]) -> dict[str, Any]:
    if "logicalType" not in schema:
        return {}
    out: dict[str, Any] = {"logicalType": schema["logicalType"]}
    if schema["logicalType"] == "decimal":
        out["precision"] = schema.get("precision")
        out["scale"] = schema.get("scale", 0)
    return out


def _canonical_field(field: Mapping[str, Any], namespace: str | None, named: dict[str, Any]) -> Any:
    out: dict[str, Any] = {"name": field["name"]}
    out["type"] = _canonical(field["type"], namespace, named)
    if "default" in field:
        out["default"] = _canonical_default(out["type"], field["default"], named)
    for key in ("doc", "aliases"):
        if field.get(key) is not None:
            out[key] = field[key]
    if field.get("order", "ascending") != "ascending":
        out["order"] = field["order"]
    return out


def _canonical_default(schema: Any, value: Any, named: dict[str, Any]) -> Any:
    """``value`` with numbers of float types as floats, so ``5`` and ``5.0`` compare equal."""
    if isinstance(schema, list):
        return _canonical_default(schema[0], value, named) if schema else value
    if isinstance(schema, str):
        if schema in ("float", "double") and isinstance(value, int | float):
            return float(value)
        return _canonical_default(named[schema], value, named) if schema in named else value
    kind = schema.get("type")
    if kind == "array" and isinstance(value, list):
        return [_canonical_default(schema["items"], v, named) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _canonical_default(schema["values"], v, named) for k, v in value.items()}
    if kind == "record" and isinstance(value, dict):
        types_of = {f["name"]: f["type"] for f in schema["fields"]}
        return {k: _canonical_default(types_of.get(k, "null"), v, named) for k, v in value.items()}
    if kind in ("float", "double") and isinstance(value, int | float):
        return float(value)
    return value
