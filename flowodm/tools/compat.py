"""Offline compatibility: Apache ``avro``'s checker on a new schema and earlier ones, any level.

The level rules are the sandbox registry's (``flowodm.sandbox.registry.compat``: BACKWARD, the
new schema reads data written with the old; FORWARD, the old reads the new; FULL, both; the
``_TRANSITIVE`` variants every earlier schema, the others only the latest; NONE nothing), and
schemas are validated by its parser (fastavro and ``avro``), so an offline check and a check by
the sandbox registry give the same verdict. What this module adds is the explanation: each
failing (reader, writer) pair becomes a :class:`CompatibilityProblem` with the checker's
messages and the **field paths** (``address.city``) its JSON-pointer locations point at.

Needs the ``avro`` package (``pip install 'flowodm[sandbox]'``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowodm._arguments import did_you_mean
from flowodm._optional import require
from flowodm.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from flowodm.sandbox.registry.compat import CompatibilityLevel
    from flowodm.sandbox.registry.schemas import ParsedSchema

__all__ = [
    "LEVELS",
    "CompatibilityProblem",
    "CompatibilityResult",
    "check_schemas",
    "parse_level",
]

#: The seven Confluent compatibility levels.
LEVELS = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)


@dataclass(frozen=True)
class CompatibilityProblem:
    """Why one schema cannot read data written with another.

    Attributes:
        reader: Which schema reads (``"new"`` or ``"old"``).
        writer: Which schema wrote the data (``"old"`` or ``"new"``).
        against: The earlier schema involved (``"version 3"``, ``"file 'v1.avsc'"`` …).
        kinds: The checker's incompatibility kinds (``type_mismatch``, ``name_mismatch``,
            ``reader_field_missing_default_value``, ``missing_enum_symbols``,
            ``missing_union_branch``, ``fixed_size_mismatch``).
        messages: The checker's messages, each made readable (a bare field name becomes
            "field 'x' has no default and is missing from the old schema").
        fields: The field paths involved, e.g. ``("address.city",)``; ``""`` is the record.
        locations: The checker's raw JSON-pointer locations in the reader schema.
    """

    reader: str
    writer: str
    against: str
    kinds: tuple[str, ...]
    messages: tuple[str, ...]
    fields: tuple[str, ...]
    locations: tuple[str, ...]

    def __str__(self) -> str:
        where = ", ".join(path or "(the record itself)" for path in self.fields)
        return (
            f"the {self.reader} schema cannot read data written with the {self.writer} schema "
            f"({self.against}): {'; '.join(self.messages)}" + (f" [at {where}]" if where else "")
        )


@dataclass(frozen=True)
class CompatibilityResult:
    """The outcome of a compatibility check.

    Attributes:
        compatible: Whether the new schema is compatible at ``level``.
        level: The level applied (one of ``LEVELS``).
        messages: The checker's (or, for a registry check, the registry's) messages; empty
            when compatible.
        problems: Structured problems with field paths (offline analysis; for a registry
            check they explain the registry's verdict).
        subject: The registry subject, when checked against one.
        source: ``"offline"`` (``avro``'s checker here) or ``"registry"`` (its endpoint).
        checked: How many earlier schemas were checked against.
        note: A remark such as "the subject has no versions yet".
    """

    compatible: bool
    level: str
    messages: tuple[str, ...] = ()
    problems: tuple[CompatibilityProblem, ...] = ()
    subject: str | None = None
    source: str = "offline"
    checked: int = 0
    note: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field path named by a problem, sorted, without repeats."""
        return tuple(sorted({path for problem in self.problems for path in problem.fields}))

    def __bool__(self) -> bool:
        return self.compatible

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data (what ``flowodm schema check --json`` prints)."""
        return {
            "compatible": self.compatible,
            "level": self.level,
            "subject": self.subject,
            "source": self.source,
            "checked": self.checked,
            "fields": list(self.fields),
            "messages": list(self.messages),
            "problems": [
                {
                    "reader": problem.reader,
                    "writer": problem.writer,
                    "against": problem.against,
                    "kinds": list(problem.kinds),
                    "messages": list(problem.messages),
                    "fields": list(problem.fields),
                    "locations": list(problem.locations),
                }
                for problem in self.problems
            ],
            "note": self.note,
        }

    def __str__(self) -> str:
        where = f" with subject {self.subject!r}" if self.subject else ""
        if self.compatible:
            head = f"compatible{where} under {self.level}"
            return head + (f" ({self.note})" if self.note else "")
        lines = [f"INCOMPATIBLE{where} under {self.level}"]
        if self.fields:
            lines[0] += f": field(s) {', '.join(path or '(record)' for path in self.fields)}"
        lines += [f"  - {problem}" for problem in self.problems]
        if not self.problems:
            lines += [f"  - {message}" for message in self.messages]
        return "\n".join(lines)


def parse_level(level: object, *, argument: str = "level") -> CompatibilityLevel:
    """Return the compatibility level ``level`` names (case-insensitive).

    Raises:
        InvalidArgumentError: ``level`` names no level; the message lists them.
    """
    from flowodm.sandbox.registry.compat import CompatibilityLevel

    if isinstance(level, str) and level.upper() in LEVELS:
        return CompatibilityLevel(level.upper())
    hint = did_you_mean(level.upper(), LEVELS) if isinstance(level, str) else ""
    raise InvalidArgumentError(
        f"{argument} must be one of {', '.join(LEVELS)}, not {level!r}{hint}", argument=argument
    )


def parse_avro(schema: Any, label: str) -> ParsedSchema:
    """Validate ``schema`` as Avro with the registry's parser (fastavro and ``avro``).

    Raises:
        MissingExtraError: ``avro`` is not installed.
        InvalidArgumentError: the schema is not valid Avro; the message names ``label``.
    """
    require("avro", extra="sandbox")
    from flowodm.sandbox.registry.errors import RegistryHTTPError
    from flowodm.sandbox.registry.schemas import AVRO, parse_schema

    try:
        return parse_schema(AVRO, json.dumps(schema))
    except RegistryHTTPError as exc:
        raise InvalidArgumentError(
            f"{label} is not a valid Avro schema: {exc.message}", argument="schema"
        ) from None


def check_schemas(
    new: Any,
    previous: Sequence[tuple[str, Any]],
    level: object = "BACKWARD",
    *,
    new_label: str = "the new schema",
) -> CompatibilityResult:
    """Check ``new`` against earlier schemas (``(label, schema)`` pairs, oldest first).

    Non-transitive levels check only the last of ``previous``, as a registry does; the
    ``_TRANSITIVE`` levels check all of them.

    Raises:
        InvalidArgumentError: a schema is not valid Avro, or ``level`` names no level.
        MissingExtraError: ``avro`` is not installed.
    """
    parsed_level = parse_level(level)
    parsed_new = parse_avro(new, new_label)
    earlier = [(label, schema, parse_avro(schema, label)) for label, schema in previous]
    if parsed_level.value == "NONE" or not earlier:
        note = "" if earlier else "nothing to check against"
        return CompatibilityResult(True, parsed_level.value, checked=0, note=note)
    targets = earlier if parsed_level.transitive else earlier[-1:]
    problems: list[CompatibilityProblem] = []
    for label, document, old in targets:
        if parsed_level.backward:
            found = _pair(parsed_new, old, new, ("new", "old"), label)
            problems.extend(found)
        if parsed_level.forward:
            problems.extend(_pair(old, parsed_new, document, ("old", "new"), label))
    return CompatibilityResult(
        not problems,
        parsed_level.value,
        tuple(message for problem in problems for message in problem.messages),
        tuple(problems),
        checked=len(targets),
    )


def _pair(
    reader: ParsedSchema,
    writer: ParsedSchema,
    reader_document: Any,
    roles: tuple[str, str],
    against: str,
) -> list[CompatibilityProblem]:
    """Run the checker on one (reader, writer) pair; at most one problem, with field paths."""
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    assert reader.avro_schema is not None and writer.avro_schema is not None
    # The checker memoises pairs by identity: a fresh one per pair.
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]  # avro: untyped
    result = checker.get_compatibility(reader.avro_schema, writer.avro_schema)
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    kinds = tuple(sorted({kind.value for kind in result.incompatibilities}))
    locations = tuple(sorted(result.locations))
    names = named_types(reader_document)
    paths = {field_path(reader_document, loc, names) for loc in locations}
    if len(paths) > 1:
        # avro keeps its root location "/" beside the real ones in some merges: not a place.
        paths.discard("")
    fields = tuple(sorted(paths))
    missing = "reader_field_missing_default_value" in kinds
    messages = tuple(
        _readable(message, fields, roles[1]) if missing else message
        for message in sorted(result.messages)
    )
    return [CompatibilityProblem(roles[0], roles[1], against, kinds, messages, fields, locations)]


def _readable(message: str, fields: Sequence[str], writer: str) -> str:
    """The checker names a reader field without default that the writer lacks by its bare
    name; say what that means, with the field's full path(s)."""
    if not message.isidentifier():
        return message
    paths = [path for path in fields if path == message or path.endswith(f".{message}")]
    shown = ", ".join(repr(path) for path in paths) if paths else repr(message)
    return f"field {shown} has no default and is missing from the {writer} schema"


# --- JSON pointer (the checker's location) → field path --------------------------------------


def named_types(document: Any) -> dict[str, Any]:
    """Map every named type (short and full name) in ``document`` to its definition."""
    found: dict[str, Any] = {}

    def visit(node: Any, namespace: str | None) -> None:
        if isinstance(node, list):
            for branch in node:
                visit(branch, namespace)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind in ("record", "error", "enum", "fixed") and isinstance(node.get("name"), str):
            name = node["name"]
            space = node.get("namespace", namespace) if "." not in name else name.rpartition(".")[0]
            short = name.rpartition(".")[2]
            found.setdefault(short, node)
            found.setdefault(f"{space}.{short}" if space else short, node)
            for member in node.get("fields", []) if kind != "enum" else []:
                if isinstance(member, dict):
                    visit(member.get("type"), space)
            return
        for key in ("type", "items", "values"):
            if key in node:
                visit(node[key], namespace)

    visit(document, None)
    return found


def field_path(document: Any, location: str, names: dict[str, Any] | None = None) -> str:
    """Translate a checker location (``/fields/1/type/fields/0``) into ``address.city``.

    Arrays add ``[]`` and maps ``{}`` to the path (``lines[].sku``); union branches and the
    ``type``/``name`` steps add nothing. A location the schema does not have (the checker
    resets locations inside some unions) ends the path where it stops making sense.
    """
    names = named_types(document) if names is None else names
    node = document
    path: list[str] = []
    steps = [step for step in location.split("/") if step]
    index = 0
    while index < len(steps):
        node = _deref(node, names)
        step = steps[index]
        if step == "fields" and index + 1 < len(steps) and isinstance(node, dict):
            members = node.get("fields") or []
            position = int(steps[index + 1]) if steps[index + 1].isdigit() else -1
            if not 0 <= position < len(members):
                break
            member = members[position]
            path.append(str(member.get("name")))
            node = member
            index += 2
            continue
        if step == "type" and isinstance(node, dict) and "type" in node:
            node = node["type"]
        elif step == "items" and isinstance(node, dict):
            path[-1:] = [f"{path[-1]}[]" if path else "[]"]
            node = node.get("items")
        elif step == "values" and isinstance(node, dict):
            path[-1:] = [f"{path[-1]}{{}}" if path else "{}"]
            node = node.get("values")
        elif step.isdigit() and isinstance(node, list) and int(step) < len(node):
            node = node[int(step)]
        elif step == "name":
            pass
        else:
            break
        index += 1
    return ".".join(path)


def _deref(node: Any, names: dict[str, Any]) -> Any:
    """Replace a reference to a named type (``"Address"``) by its definition."""
    if isinstance(node, str) and node in names:
        return names[node]
    return node
