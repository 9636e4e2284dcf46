"""Avro schema evolution against every compatibility level, with Confluent's outcomes.

Each case gives a history (registered under NONE) and a new schema, and the set of levels that
accept the new schema. Expectations come from the Avro specification's resolution rules
(BACKWARD: the new schema reads data written with the old; FORWARD: the old reads the new; FULL:
both; *_TRANSITIVE: against every earlier version, otherwise only the latest), worked out by hand
in the comment of each case, not by running the registry's code.

Every case is checked twice: the all-versions compatibility endpoint (verbose) and a real
registration (200 or 409).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowodm.sandbox.registry import serve
from tests.registry.registry_schemas import field, record, text

B, BT = "BACKWARD", "BACKWARD_TRANSITIVE"
F, FT = "FORWARD", "FORWARD_TRANSITIVE"
FU, FUT = "FULL", "FULL_TRANSITIVE"
N = "NONE"
LEVELS = (B, BT, F, FT, FU, FUT, N)
ALL = frozenset(LEVELS)
BACKWARD_ONLY = frozenset({B, BT, N})
FORWARD_ONLY = frozenset({F, FT, N})
NEITHER = frozenset({N})


@dataclass(frozen=True)
class Case:
    """A schema history, a candidate, and the levels under which Confluent accepts it."""

    name: str
    history: tuple[dict[str, Any], ...]
    new: dict[str, Any]
    accepted: frozenset[str]


def one(type_: Any, **extra: Any) -> dict[str, Any]:
    """A record with one field ``a`` of ``type_``."""
    return record(field("a", type_, **extra))


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": list(symbols), **extra}


def inner(*fields: dict[str, Any]) -> dict[str, Any]:
    return record(field("inner", record(*fields, name="Inner")))


NULLABLE_STRING = ["null", "string"]

CASES = [
    # new reads old: writer lacks b, reader default fills it; old reads new: ignores b.
    Case(
        "add_field_with_default",
        (one("int"),),
        record(field("a", "int"), field("b", "string", default="")),
        ALL,
    ),
    # new reads old: b missing and no default -> fails; old reads new: ignores b.
    Case(
        "add_field_without_default",
        (one("int"),),
        record(field("a", "int"), field("b", "string")),
        FORWARD_ONLY,
    ),
    # new reads old: ignores b; old reads new: b missing but old has a default.
    Case(
        "remove_field_with_default",
        (record(field("a", "int"), field("b", "string", default="")),),
        one("int"),
        ALL,
    ),
    # new reads old: ignores b; old reads new: b missing, no default -> fails.
    Case(
        "remove_field_without_default",
        (record(field("a", "int"), field("b", "string")),),
        one("int"),
        BACKWARD_ONLY,
    ),
    # new reads old: field a2 finds writer field a through its alias; old reads new: a is
    # missing from the writer and has no default -> fails.
    Case(
        "rename_field_with_alias",
        (one("int"),),
        record(field("a2", "int", aliases=["a"])),
        BACKWARD_ONLY,
    ),
    # new reads old: record S accepts writer R through its alias; old R cannot read S.
    Case(
        "rename_record_with_alias",
        (one("int"),),
        record(field("a", "int"), name="S", aliases=["R"]),
        BACKWARD_ONLY,
    ),
    # The record's name differs and nothing aliases it: neither direction resolves.
    Case(
        "rename_record_without_alias", (one("int"),), record(field("a", "int"), name="S"), NEITHER
    ),
    # int is promotable to long, not the reverse.
    Case("int_to_long", (one("int"),), one("long"), BACKWARD_ONLY),
    Case("long_to_int", (one("long"),), one("int"), FORWARD_ONLY),
    # float is promotable to double, not the reverse.
    Case("float_to_double", (one("float"),), one("double"), BACKWARD_ONLY),
    Case("double_to_float", (one("double"),), one("float"), FORWARD_ONLY),
    # string and bytes promote to each other.
    Case("string_to_bytes", (one("string"),), one("bytes"), ALL),
    Case("bytes_to_string", (one("bytes"),), one("string"), ALL),
    # new enum has every old symbol; old enum lacks C and has no default.
    Case("enum_symbol_added", (one(enum("A", "B")),), one(enum("A", "B", "C")), BACKWARD_ONLY),
    # new enum lacks C (no default); old enum has every new symbol.
    Case("enum_symbol_removed", (one(enum("A", "B", "C")),), one(enum("A", "B")), FORWARD_ONLY),
    # An enum default lets the reader map unknown symbols: both directions resolve.
    Case(
        "enum_symbol_added_with_default",
        (one(enum("A", "B", default="A")),),
        one(enum("A", "B", "C", default="A")),
        ALL,
    ),
    Case(
        "enum_symbol_removed_with_default",
        (one(enum("A", "B", "C", default="A")),),
        one(enum("A", "B", default="A")),
        ALL,
    ),
    # new union has a string branch for old strings; old string cannot read a null branch.
    Case("make_nullable", (one("string"),), one(NULLABLE_STRING, default=None), BACKWARD_ONLY),
    # new string cannot read old nulls; old union reads new strings.
    Case("make_non_nullable", (one(NULLABLE_STRING, default=None),), one("string"), FORWARD_ONLY),
    # Nested record: a field without default added inside Inner.
    Case(
        "nested_field_added_without_default",
        (inner(field("x", "int")),),
        inner(field("x", "int"), field("y", "int")),
        FORWARD_ONLY,
    ),
    Case(
        "nested_field_added_with_default",
        (inner(field("x", "int")),),
        inner(field("x", "int"), field("y", "int", default=0)),
        ALL,
    ),
    # array<int> -> array<long>: items promote int -> long only.
    Case(
        "array_items_widened",
        (one({"type": "array", "items": "int"}),),
        one({"type": "array", "items": "long"}),
        BACKWARD_ONLY,
    ),
    # map<long> -> map<int>: values narrow, only the old reader copes.
    Case(
        "map_values_narrowed",
        (one({"type": "map", "values": "long"}),),
        one({"type": "map", "values": "int"}),
        FORWARD_ONLY,
    ),
    # int <-> string: no promotion either way.
    Case("unrelated_type_change", (one("int"),), one("string"), NEITHER),
    # --- three-version histories: v1 -> v3 differs from v2 -> v3 ----------------------------
    # v2 added b with a default, v3 drops the default. v3 vs v2: both directions fine (both
    # have b). v3 vs v1: v3 reading v1 misses b without default (backward fails); v1 reading
    # v3 ignores b (forward fine).
    Case(
        "default_dropped_after_field_added",
        (
            one("int"),
            record(field("a", "int"), field("b", "int", default=0)),
        ),
        record(field("a", "int"), field("b", "int")),
        frozenset({B, F, FT, FU, N}),
    ),
    # v1 had b without default, v2 gave it a default, v3 removes it. v3 vs v2: v3 ignores b;
    # v2 reading v3 uses its default. v3 vs v1: v1 reading v3 misses b without default
    # (forward fails); v3 reading v1 ignores b.
    Case(
        "field_removed_after_default_added",
        (
            record(field("a", "int"), field("b", "int")),
            record(field("a", "int"), field("b", "int", default=0)),
        ),
        one("int"),
        frozenset({B, BT, F, FU, N}),
    ),
    # v1 a:int, v2 a:long, v3 a:long plus c with default. v3 vs v2: fine both ways. v3 vs v1:
    # long reads int (backward fine), int cannot read long (forward fails).
    Case(
        "widened_type_then_field_added",
        (one("int"), one("long")),
        record(field("a", "long"), field("c", "int", default=0)),
        frozenset({B, BT, F, FU, N}),
    ),
    # v1 enum had C, v2 removed it, v3 = v2 plus a doc. v3 vs v2: same symbols. v3 vs v1: v3
    # cannot read C (backward fails); v1 reads all of v3's symbols.
    Case(
        "enum_symbol_removed_earlier",
        (one(enum("A", "B", "C")), one(enum("A", "B"))),
        one(enum("A", "B"), doc="now documented"),
        frozenset({B, F, FT, FU, N}),
    ),
    # v1 a was nullable, v2 made it a string, v3 = v2 plus a defaulted field. v3 vs v2: fine
    # both ways. v3 vs v1: a string cannot read v1's nulls (backward fails); v1's union
    # reads strings.
    Case(
        "made_non_nullable_earlier",
        (one(NULLABLE_STRING, default=None), one("string")),
        record(field("a", "string"), field("z", "int", default=0)),
        frozenset({B, F, FT, FU, N}),
    ),
    # v1 a:int, v2 a:string, v3 a:bytes. v3 vs v2: bytes <-> string both fine. v3 vs v1:
    # bytes/int in neither direction. Only the non-transitive levels accept.
    Case(
        "type_changed_twice",
        (one("int"), one("string")),
        one("bytes"),
        frozenset({B, F, FU, N}),
    ),
]


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One registry for the whole matrix; every (case, level) pair uses its own subject."""
    server = serve(port=0, data_dir=Path(tmp_path_factory.mktemp("compat-matrix")))
    try:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            yield client
    finally:
        server.shutdown()


def test_matrix_has_enough_cases() -> None:
    assert len(CASES) >= 15
    assert sum(len(case.history) >= 2 for case in CASES) >= 5


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_evolution(http: httpx.Client, case: Case, level: str) -> None:
    subject = f"matrix-{case.name}-{level}"
    assert http.put(f"/config/{subject}", json={"compatibility": "NONE"}).status_code == 200
    for schema in case.history:
        response = http.post(f"/subjects/{subject}/versions", json={"schema": text(schema)})
        assert response.status_code == 200, response.text
    assert http.put(f"/config/{subject}", json={"compatibility": level}).status_code == 200
    expected = level in case.accepted

    check = http.post(
        f"/compatibility/subjects/{subject}/versions",
        params={"verbose": "true"},
        json={"schema": text(case.new)},
    )
    assert check.status_code == 200, check.text
    answer = check.json()
    assert answer["is_compatible"] is expected, answer["messages"]
    assert bool(answer["messages"]) is not expected

    registered = http.post(f"/subjects/{subject}/versions", json={"schema": text(case.new)})
    assert registered.status_code == (200 if expected else 409), registered.text
    versions = http.get(f"/subjects/{subject}/versions").json()
    assert len(versions) == len(case.history) + (1 if expected else 0)
