"""Property: for random schemas within FlowODM's mapping, codegen is round-trip exact.

Each example is a random record schema (primitives, every logical type, decimals, enums,
arrays, maps, nested and self-referencing records, nullable and multi-branch unions, references
to earlier named types, defaults of every kind). The generated model's schema must equal the
source in Parsing Canonical Form and in ``full_canonical_form`` (defaults, docs and logical
types included), an instance must survive Avro encoding, and the source must be as ruff
formats and checks it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flowodm.schema.values import decimal_bytes
from flowodm.tools.codegen import generate_model, generate_source
from tests.tools.test_codegen import RUFF_RULES, assert_encodes_and_decodes, assert_round_trip

_PRIMITIVES = ["string", "long", "int", "double", "float", "boolean", "bytes"]
_LOGICAL = [
    {"type": "int", "logicalType": "date"},
    {"type": "long", "logicalType": "timestamp-millis"},
    {"type": "long", "logicalType": "timestamp-micros"},
    {"type": "int", "logicalType": "time-millis"},
    {"type": "long", "logicalType": "time-micros"},
    {"type": "string", "logicalType": "uuid"},
]
_SYMBOLS = ["A", "B", "RED", "None", "class", "value", "_x"]
_FIELD_NAMES = ["id", "name", "date", "list", "type", "amount", "x1", "str", "Decimal"]
_DOCS = st.one_of(st.none(), st.sampled_from(["A doc.", 'With "quotes"', "Two\nlines", "x" * 120]))


class _Names:
    """Fresh record/enum names and the named types defined so far (for references)."""

    def __init__(self) -> None:
        self.count = 0
        self.defined: dict[str, Any] = {}

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"


def _type(draw: st.DrawFn, names: _Names, depth: int) -> Any:
    """A random non-union type (nullable unions are added by the callers)."""
    choices = ["primitive", "logical", "decimal"]
    if depth < 3:
        choices += ["enum", "array", "map", "record"]
    if names.defined:
        choices.append("reference")
    kind = draw(st.sampled_from(choices))
    if kind == "primitive":
        return draw(st.sampled_from(_PRIMITIVES))
    if kind == "logical":
        return dict(draw(st.sampled_from(_LOGICAL)))
    if kind == "decimal":
        precision = draw(st.integers(1, 20))
        return {
            "type": "bytes",
            "logicalType": "decimal",
            "precision": precision,
            "scale": draw(st.integers(0, precision)),
        }
    if kind == "reference":
        return draw(st.sampled_from(sorted(names.defined)))
    if kind == "enum":
        symbols = draw(st.lists(st.sampled_from(_SYMBOLS), min_size=1, max_size=4, unique=True))
        enum: dict[str, Any] = {"type": "enum", "name": names.fresh("E"), "symbols": symbols}
        doc = draw(_DOCS)
        if doc is not None:
            enum["doc"] = doc
        names.defined[enum["name"]] = enum
        return enum
    if kind in ("array", "map"):
        inner = _item(draw, names, depth + 1)
        return (
            {"type": "array", "items": inner}
            if kind == "array"
            else {
                "type": "map",
                "values": inner,
            }
        )
    return _record(draw, names, depth + 1, names.fresh("R"))


def _item(draw: st.DrawFn, names: _Names, depth: int) -> Any:
    """An array item or map value: sometimes a null-first union."""
    inner = _type(draw, names, depth)
    return ["null", inner] if draw(st.booleans()) and draw(st.booleans()) else inner


def _union(draw: st.DrawFn, names: _Names, depth: int) -> list[Any]:
    """Two or three branches of distinct Avro kinds (records count by name)."""
    kinds = draw(st.lists(st.sampled_from(_PRIMITIVES), min_size=1, max_size=2, unique=True))
    branches: list[Any] = list(kinds)
    if depth < 3 and draw(st.booleans()):
        branches.append(_record(draw, names, depth + 1, names.fresh("R")))
    if len(branches) == 1:
        branches.append({"type": "array", "items": "string"})
    return branches


def _record(draw: st.DrawFn, names: _Names, depth: int, name: str) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "record", "name": name}
    doc = draw(_DOCS)
    if doc is not None:
        record["doc"] = doc
    fields = []
    field_names = draw(st.lists(st.sampled_from(_FIELD_NAMES), max_size=4, unique=True))
    for field_name in field_names:
        field: dict[str, Any] = {"name": field_name}
        shape = draw(st.sampled_from(["plain", "plain", "nullable", "union", "self"]))
        if shape == "self":
            field["type"], field["default"] = ["null", name], None
        elif shape == "nullable":
            field["type"], field["default"] = ["null", _type(draw, names, depth)], None
        elif shape == "union":
            branches = _union(draw, names, depth)
            field["type"] = branches
            if draw(st.booleans()):
                field["default"] = _default(draw, branches[0], names)
                if draw(st.booleans()):
                    field["type"] = [*branches, "null"]
        else:
            field["type"] = _type(draw, names, depth)
            if draw(st.booleans()):
                field["default"] = _default(draw, field["type"], names)
        if draw(st.booleans()):
            field["doc"] = draw(st.text(min_size=1, max_size=8))
        fields.append(field)
    record["fields"] = fields
    names.defined[name] = record
    return record


def _default(draw: st.DrawFn, schema: Any, names: _Names) -> Any:
    """A random Avro JSON default valid for ``schema`` (and reproducible by the mapping)."""
    if isinstance(schema, list):
        return None if "null" in schema else _default(draw, schema[0], names)
    if isinstance(schema, str) and schema in names.defined:
        return _default(draw, names.defined[schema], names)
    kind = schema if isinstance(schema, str) else schema["type"]
    logical = None if isinstance(schema, str) else schema.get("logicalType")
    if logical == "decimal":
        limit = 10 ** schema["precision"] - 1
        unscaled = draw(st.integers(-limit, limit))
        value = Decimal(unscaled).scaleb(-schema["scale"])
        return decimal_bytes(value, schema["scale"]).decode("latin-1")
    if logical is not None:
        return draw(_LOGICAL_DEFAULTS[logical])
    if kind == "enum":
        return draw(st.sampled_from(schema["symbols"]))
    if kind == "array":
        return [_default(draw, schema["items"], names) for _ in range(draw(st.integers(0, 2)))]
    if kind == "map":
        keys = draw(st.lists(st.text(max_size=3), max_size=2, unique=True))
        return {k: _default(draw, schema["values"], names) for k in keys}
    if kind == "record":
        return {f["name"]: _default(draw, f["type"], names) for f in schema["fields"]}
    return draw(_PRIMITIVE_DEFAULTS[kind])


_PRIMITIVE_DEFAULTS: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(max_size=6),
    "bytes": st.binary(max_size=4).map(lambda b: b.decode("latin-1")),
    "long": st.integers(-(2**63), 2**63 - 1),
    "int": st.integers(-(2**31), 2**31 - 1),
    "double": st.floats(allow_nan=False, allow_infinity=False),
    "float": st.floats(allow_nan=False, allow_infinity=False, width=32),
    "boolean": st.booleans(),
}
_LOGICAL_DEFAULTS: dict[str, st.SearchStrategy[Any]] = {
    "date": st.integers(-700_000, 2_900_000),
    "timestamp-millis": st.integers(-(10**13), 10**13),
    "timestamp-micros": st.integers(-(10**16), 10**16),
    "time-millis": st.integers(0, 86_399_999),
    "time-micros": st.integers(0, 86_399_999_999),
    "uuid": st.uuids().map(str),
}


@st.composite
def record_schemas(draw: st.DrawFn) -> dict[str, Any]:
    """A random top-level record schema, sometimes in a namespace."""
    schema = _record(draw, _Names(), 0, "Top")
    namespace = draw(st.sampled_from([None, "com.example", "a.b.c"]))
    return schema if namespace is None else {**schema, "namespace": namespace}


def _ruff(args: list[str], source: str) -> subprocess.CompletedProcess[str]:
    # Outside the repository, so flowodm counts as a third-party package, as in a user's project.
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--isolated", "--no-cache", "-"],
        input=source,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tempfile.gettempdir(),
    )


@settings(max_examples=60, deadline=None)
@given(record_schemas())
def test_generated_models_round_trip_exactly(schema: dict[str, Any]) -> None:
    source = generate_source(schema, topic="t")
    assert "Differences from the source schema" not in source
    model = generate_model(schema)
    assert_round_trip(schema, model)
    assert_encodes_and_decodes(model, schema)
    formatted = _ruff(["format"], source)
    assert formatted.returncode == 0 and formatted.stdout == source, formatted.stderr
    checked = _ruff(["check", *RUFF_RULES, "--stdin-filename", "generated.py"], source)
    assert checked.returncode == 0, checked.stdout
