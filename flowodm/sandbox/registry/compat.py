"""Compatibility levels and the check a new schema must pass against earlier versions.

Avro pairs are judged by Apache ``avro``'s ``ReaderWriterCompatibilityChecker``, an implementation
of the Avro specification's schema resolution rules (the same rules Confluent applies):

* BACKWARD: the new schema (reader) reads data written with the old one (writer);
* FORWARD: the old schema (reader) reads data written with the new one (writer);
* FULL: both; the ``_TRANSITIVE`` variants check every live earlier version, the others only the
  latest; NONE checks nothing.

JSON Schema and Protobuf get **no** compatibility check: any new version of the same type is
accepted under every level (documented in ``docs/registry.md``). A change of schema type within a
subject is incompatible under every level but NONE, as in Confluent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from flowodm.sandbox.registry.errors import invalid_compatibility_level
from flowodm.sandbox.registry.schemas import AVRO, ParsedSchema


class CompatibilityLevel(StrEnum):
    """The seven Confluent compatibility levels."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @classmethod
    def parse(cls, value: object) -> CompatibilityLevel:
        """Parse a level case-insensitively.

        Raises:
            RegistryHTTPError: 42203 when ``value`` names no level.
        """
        if isinstance(value, str):
            try:
                return cls(value.upper())
            except ValueError:
                pass
        raise invalid_compatibility_level(value)

    @property
    def transitive(self) -> bool:
        """Whether every earlier version is checked, not only the latest."""
        return self.value.endswith("_TRANSITIVE")

    @property
    def backward(self) -> bool:
        """Whether the new schema must read data written with earlier ones."""
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def forward(self) -> bool:
        """Whether earlier schemas must read data written with the new one."""
        return self.value.startswith(("FORWARD", "FULL"))


DEFAULT_LEVEL = CompatibilityLevel.BACKWARD
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_compatibility(
    level: CompatibilityLevel,
    new: ParsedSchema,
    previous: Sequence[tuple[int, ParsedSchema]],
) -> list[str]:
    """Check ``new`` against ``previous`` (``(version, schema)`` pairs, oldest first) at ``level``.

    Non-transitive levels only look at the last element of ``previous``; callers that want a
    check against one specific version pass just that one.

    Returns:
        Confluent-style messages describing each incompatibility; empty when compatible.
    """
    if level is CompatibilityLevel.NONE or not previous:
        return []
    targets = previous if level.transitive else previous[-1:]
    messages: list[str] = []
    for version, old in targets:
        problems = _pair_problems(level, new, old)
        if problems:
            messages.extend(problems)
            messages.append(f"{{oldSchemaVersion: {version}}}")
            messages.append(f"{{oldSchema: '{old.text}'}}")
    if messages:
        messages.append(f"{{compatibility: '{level.value}'}}")
    return messages


def _pair_problems(level: CompatibilityLevel, new: ParsedSchema, old: ParsedSchema) -> list[str]:
    """Return the incompatibilities between ``new`` and one earlier schema ``old``."""
    if new.schema_type != old.schema_type:
        return [
            "{errorType:'SCHEMA_TYPE_MISMATCH', description:'Incompatible because of different "
            f"schema type: the old schema is {old.schema_type}, the new one {new.schema_type}'}}"
        ]
    if new.schema_type != AVRO:
        return []
    problems: list[str] = []
    if level.backward:
        problems.extend(_avro_problems(new, old, "the new schema", "the old schema"))
    if level.forward:
        problems.extend(_avro_problems(old, new, "the old schema", "the new schema"))
    return problems


def _avro_problems(
    reader: ParsedSchema, writer: ParsedSchema, reader_name: str, writer_name: str
) -> list[str]:
    """Describe why ``reader`` cannot read data written with ``writer`` (empty if it can)."""
    assert reader.avro_schema is not None and writer.avro_schema is not None
    # A checker memoises pairs by object identity, so each check gets a fresh one.
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]  # avro: untyped
    result = checker.get_compatibility(reader.avro_schema, writer.avro_schema)
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    kinds = sorted({kind.name.upper() for kind in result.incompatibilities})
    # avro reports a missing field without default by its bare name; say what that means.
    reasons = [
        f"field '{message}' has no default value and is missing from {writer_name}"
        if _BARE_NAME.fullmatch(message)
        else message
        for message in sorted(result.messages)
    ]
    return [
        f"{{errorType:'{', '.join(kinds)}', description:'{reader_name} cannot read data "
        f"written with {writer_name}: {'; '.join(reasons)}', "
        f"locations:'{', '.join(sorted(result.locations))}'}}"
    ]
