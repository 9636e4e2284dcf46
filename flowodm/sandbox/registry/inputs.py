"""Decoding of request bodies and version path segments into validated values.

Confluent's wire rules live here: which body fields exist, which are refused, how references look,
and which version strings (``latest``, ``-1``, 1..2^31-1) are valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowodm.sandbox.registry import errors
from flowodm.sandbox.registry.schemas import Reference, normalize_schema_type

LATEST = -1
_MAX_VERSION = 2**31 - 1


@dataclass(frozen=True)
class SchemaRequest:
    """The body of a register, lookup or compatibility request."""

    schema: str
    schema_type: str
    references: tuple[Reference, ...]

    @classmethod
    def from_json(cls, body: object, accept_unknown: bool = False) -> SchemaRequest:
        """Validate a decoded JSON body.

        Args:
            body: The decoded request body.
            accept_unknown: Ignore unrecognised fields instead of refusing them (what the
                ``Confluent-Accept-Unknown-Properties: true`` request header asks for).

        Raises:
            RegistryHTTPError: 400 when the body is not an object or a field has the wrong type,
                422 for an unrecognised or unsupported field, 42201 when ``schema`` is missing
                or ``schemaType`` is unknown.
        """
        if not isinstance(body, dict):
            raise errors.bad_request(
                f"The request body must be a JSON object, got {type(body).__name__}"
            )
        _check_fields(body, accept_unknown)
        schema = body.get("schema")
        if schema is None:
            raise errors.invalid_schema("the request body has no 'schema' field")
        if not isinstance(schema, str):
            raise errors.bad_request(
                "Field 'schema' must be a string holding the schema text (JSON-encode the "
                f"schema), got {type(schema).__name__}"
            )
        schema_type = normalize_schema_type(body.get("schemaType"))
        return cls(schema, schema_type, _parse_references(body.get("references")))


_REQUEST_FIELDS = frozenset({"schema", "schemaType", "references"})
# Confluent features this registry does not implement; a value for one is refused, not ignored.
_UNSUPPORTED_FIELDS = frozenset({"metadata", "ruleSet", "schemaTags", "id", "version"})


def _check_fields(body: dict[str, Any], accept_unknown: bool) -> None:
    """Refuse set unsupported fields, and unknown ones unless ``accept_unknown``."""
    for key, value in body.items():
        if key in _REQUEST_FIELDS or value is None:
            continue
        if key in _UNSUPPORTED_FIELDS:
            raise errors.RegistryHTTPError(
                422,
                422,
                f"Field '{key}' is not supported by this registry (no data contracts, schema "
                "tags or import mode); remove it from the request",
            )
        if not accept_unknown:
            raise errors.RegistryHTTPError(422, 422, f"Unrecognized field: {key}")


def _parse_references(raw: object) -> tuple[Reference, ...]:
    """Validate the ``references`` list of a request body."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise errors.bad_request("Field 'references' must be a list")
    references = []
    for index, item in enumerate(raw):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("subject"), str)
            and isinstance(item.get("version"), int)
            and not isinstance(item.get("version"), bool)
        ):
            raise errors.bad_request(
                f"references[{index}] must be an object with string 'name', string 'subject' "
                "and integer 'version'"
            )
        references.append(Reference(item["name"], item["subject"], item["version"]))
    return tuple(references)


def parse_version(text: str) -> int:
    """Parse a version path segment: ``latest``/``-1`` give :data:`LATEST`, else 1..2^31-1.

    Raises:
        RegistryHTTPError: 42202 for anything else.
    """
    if text == "latest":
        return LATEST
    try:
        version = int(text)
    except ValueError:
        raise errors.invalid_version(text) from None
    if version == LATEST or 1 <= version <= _MAX_VERSION:
        return version
    raise errors.invalid_version(text)
