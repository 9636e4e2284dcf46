"""Parse, validate and normalise submitted schemas of the three Confluent schema types.

Identity (which id a schema gets) is decided by :attr:`ParsedSchema.canonical`:

* **AVRO**: the schema JSON re-serialised with sorted keys and no whitespace, after replacing a
  ``{"type": "<primitive>"}`` object that has no other attribute by the bare ``"<primitive>"``.
  So whitespace, key order and that shorthand map to one id. Unlike the Avro *Parsing
  Canonical Form*, it keeps ``default``, ``doc``, ``aliases``, ``logicalType``, ``order`` and
  custom properties: they change how data resolves, and Confluent keeps them too, so two
  schemas differing only in a default get two ids. Namespace spelling (``"a.B"`` versus
  ``"B"`` + ``"namespace": "a"``) is *not* unified.
* **JSON**: the JSON document with sorted keys and no whitespace.
* **PROTOBUF**: the text exactly as submitted (no protobuf parser is used).

The stored text (:attr:`ParsedSchema.text`, what the registry returns) is the first registrant's
JSON without whitespace, in its own key order; Protobuf text is returned unchanged.

Avro schemas are checked with both fastavro (which also validates defaults) and Apache
``avro`` (whose parsed form feeds the compatibility checker). Referenced Avro schemas are
parsed first so their named types are known.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import avro.errors
import avro.name
import avro.schema
import fastavro
import fastavro.schema

from flowodm.sandbox.registry.errors import invalid_schema

AVRO = "AVRO"
JSON = "JSON"
PROTOBUF = "PROTOBUF"
SCHEMA_TYPES = (JSON, PROTOBUF, AVRO)

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

# avro reports ignored logical types through ``warnings``; catch_warnings is process-global,
# so parsing is serialised to keep other threads' warning filters intact.
_AVRO_PARSE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Reference:
    """A schema reference: the name used inside the schema, and the subject/version it points to."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, object]:
        """Return the Confluent JSON form ``{"name", "subject", "version"}``."""
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass(frozen=True)
class ParsedSchema:
    """A validated schema with its identity key and, for Avro, the parsed ``avro`` object.

    Attributes:
        schema_type: ``AVRO``, ``JSON`` or ``PROTOBUF``.
        text: The schema text to store and return.
        canonical: The identity form; equal canonical forms get one id.
        references: References, in the order submitted.
        document: The parsed JSON document (``None`` for Protobuf); schemas that reference
            this one parse it first so its named types are known.
        avro_schema: The Apache ``avro`` schema (Avro only), for compatibility checks.
    """

    schema_type: str
    text: str
    canonical: str
    references: tuple[Reference, ...] = ()
    document: Any = None
    avro_schema: avro.schema.Schema | None = None


def normalize_schema_type(schema_type: object) -> str:
    """Return the upper-case schema type, ``AVRO`` when omitted.

    Raises:
        RegistryHTTPError: 42201 when the type is not one of AVRO, JSON, PROTOBUF.
    """
    if schema_type is None:
        return AVRO
    if isinstance(schema_type, str) and schema_type.upper() in SCHEMA_TYPES:
        return schema_type.upper()
    raise invalid_schema(
        f"unknown schemaType {schema_type!r}; use one of {', '.join(SCHEMA_TYPES)}"
    )


def parse_schema(
    schema_type: str,
    text: str,
    references: Sequence[Reference] = (),
    referenced: Sequence[ParsedSchema] = (),
) -> ParsedSchema:
    """Validate ``text`` as a schema of ``schema_type`` and compute its identity.

    Args:
        schema_type: A normalised schema type (see :func:`normalize_schema_type`).
        text: The schema as submitted.
        references: The references submitted with it.
        referenced: The parsed schemas those references resolve to (transitively, in
            dependency order), whose named types the schema may use.

    Raises:
        RegistryHTTPError: 42201 with the parser's reason when the schema is invalid.
    """
    try:
        return _parse(schema_type, text, tuple(references), referenced)
    except RecursionError:
        raise invalid_schema("the schema nests too deeply to be parsed") from None


def _parse(
    schema_type: str,
    text: str,
    references: tuple[Reference, ...],
    referenced: Sequence[ParsedSchema],
) -> ParsedSchema:
    """Do the work of :func:`parse_schema`."""
    if not text.strip():
        raise invalid_schema("the schema is empty")
    if schema_type == PROTOBUF:
        return ParsedSchema(PROTOBUF, text, text, references)
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError, or NaN/Infinity refused below
        raise invalid_schema(f"the {schema_type} schema is not valid JSON: {exc}") from exc
    if schema_type == JSON:
        if not isinstance(document, dict | bool):
            raise invalid_schema("a JSON Schema must be a JSON object or a boolean")
        return ParsedSchema(JSON, _compact(document), _canonical(document), references, document)
    return _parse_avro(document, references, referenced)


def _refuse_constant(name: str) -> Any:
    """Refuse ``NaN`` and ``Infinity``, which Python's json reads but JSON does not have.

    A stored schema holding one would break every other client that fetches it.
    """
    raise ValueError(f"{name} is not a JSON value")


def _parse_avro(
    document: Any, references: tuple[Reference, ...], referenced: Sequence[ParsedSchema]
) -> ParsedSchema:
    """Validate an Avro schema document with fastavro and Apache avro."""
    dependencies = [dep.document for dep in referenced if dep.schema_type == AVRO]
    fastavro_named: dict[str, Any] = {}
    avro_names = avro.name.Names()
    try:
        for dependency in dependencies:
            fastavro.parse_schema(dependency, named_schemas=fastavro_named)
        fastavro.parse_schema(document, named_schemas=fastavro_named)
        with _AVRO_PARSE_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for dependency in dependencies:
                avro.schema.make_avsc_object(dependency, avro_names)
            parsed = avro.schema.make_avsc_object(document, avro_names)
    except (avro.errors.AvroException, fastavro.schema.SchemaParseException) as exc:
        raise invalid_schema(str(exc)) from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # Both parsers raise plain errors on structurally odd JSON (e.g. a number as a field).
        raise invalid_schema(f"{type(exc).__name__}: {exc}") from exc
    return ParsedSchema(
        AVRO,
        _compact(document),
        _canonical(_simplify_avro(document)),
        references,
        document,
        parsed,
    )


def _simplify_avro(node: Any) -> Any:
    """Replace ``{"type": "<primitive>"}`` (no other keys) by ``"<primitive>"``.

    Only schema positions are visited (a type, union branches, ``items``, ``values``, a field's
    ``type``), so default values and custom properties are kept verbatim.
    """
    if isinstance(node, list):
        return [_simplify_avro(branch) for branch in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"type"} and node["type"] in _PRIMITIVES:
        return node["type"]
    simplified = dict(node)
    for key in ("type", "items", "values"):
        if key in simplified:
            simplified[key] = _simplify_avro(simplified[key])
    fields = simplified.get("fields")
    if isinstance(fields, list):
        simplified["fields"] = [
            {**field, "type": _simplify_avro(field["type"])}
            if isinstance(field, dict) and "type" in field
            else field
            for field in fields
        ]
    return simplified


def _compact(document: Any) -> str:
    """Serialise JSON without whitespace, keeping key order."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _canonical(document: Any) -> str:
    """Serialise JSON without whitespace and with sorted keys: the identity form."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
