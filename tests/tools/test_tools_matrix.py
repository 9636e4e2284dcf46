"""The offline checker and the sandbox registry agree on (old, new) pairs at every level.

The registry side sets the subject's level through confluent's client and asks through
``check_compatibility(..., subject=...)`` (the registry's compatibility endpoint); the offline
side checks the same history with ``against=``. A few verdicts are also stated by hand, from
the Avro resolution rules, so the test fails if both sides are wrong in the same way.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from flowodm.kafka.connection import Connection
from flowodm.tools import LEVELS, check_compatibility
from tests.tools.avro_builders import enum, field, one, record

pytestmark = pytest.mark.integration

WITH_DEFAULT = record(field("a", "int"), field("b", "string", default=""))
WITHOUT_DEFAULT = record(field("a", "int"), field("b", "string"))

# name: (history oldest first, new)
CASES: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    "add_with_default": ([one("int")], WITH_DEFAULT),
    "add_without_default": ([one("int")], WITHOUT_DEFAULT),
    "remove_with_default": ([WITH_DEFAULT], one("int")),
    "remove_without_default": ([WITHOUT_DEFAULT], one("int")),
    "promote_int_to_long": ([one("int")], one("long")),
    "narrow_long_to_int": ([one("long")], one("int")),
    "string_to_nullable": ([one("string")], one(["null", "string"], default=None)),
    "enum_add_symbol": ([one(enum("A", "B"))], one(enum("A", "B", "C"))),
    "rename_with_alias": ([one("int")], record(field("c", "int", aliases=["a"]))),
    "nested_type_change": (
        [one(record(field("city", "string"), name="Address"))],
        one(record(field("city", "int"), name="Address")),
    ),
    # v3 reads v2 (b present) but not v1 (b missing, no default): only transitive levels see it.
    "history_needs_transitive": ([one("int"), WITH_DEFAULT], WITHOUT_DEFAULT),
}

# Hand-worked verdicts (True = compatible) for a few cells of the matrix.
EXPECTED = {
    ("add_with_default", "FULL_TRANSITIVE"): True,
    ("add_without_default", "BACKWARD"): False,
    ("add_without_default", "FORWARD"): True,
    ("remove_without_default", "BACKWARD"): True,
    ("remove_without_default", "FORWARD"): False,
    ("promote_int_to_long", "BACKWARD"): True,
    ("promote_int_to_long", "FORWARD"): False,
    ("enum_add_symbol", "FORWARD"): False,
    ("nested_type_change", "FULL"): False,
    ("history_needs_transitive", "BACKWARD"): True,
    ("history_needs_transitive", "BACKWARD_TRANSITIVE"): False,
    ("narrow_long_to_int", "NONE"): True,
}


def _seed(client: SchemaRegistryClient, history: list[dict[str, Any]], level: str) -> str:
    subject = f"matrix-{uuid.uuid4().hex[:12]}-value"
    client.set_compatibility(subject, "NONE")
    for schema in history:
        client.register_schema(subject, Schema(json.dumps(schema), "AVRO"))
    client.set_compatibility(subject, level)
    return subject


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_offline_and_registry_agree(
    case: str,
    level: str,
    registry_client: SchemaRegistryClient,
    flowodm_connection: Connection,
) -> None:
    history, new = CASES[case]
    subject = _seed(registry_client, history, level)
    offline = check_compatibility(new, against=history, level=level)
    remote = check_compatibility(new, subject=subject, connection=flowodm_connection)
    assert remote.source == "registry" and remote.level == level
    assert offline.compatible == remote.compatible, (offline, remote)
    # And a real registration agrees with both.
    raw = registry_client.test_compatibility_all_versions(subject, Schema(json.dumps(new), "AVRO"))
    assert raw == remote.compatible
    if not remote.compatible:
        assert remote.messages, "the registry's verbose messages are kept"
        assert remote.fields == offline.fields
    if (case, level) in EXPECTED:
        assert remote.compatible is EXPECTED[(case, level)]


def test_a_level_other_than_the_subjects_is_checked_for_real(
    registry_client: SchemaRegistryClient, flowodm_connection: Connection
) -> None:
    history, new = CASES["add_without_default"]
    subject = _seed(registry_client, history, "FORWARD")
    at_subject_level = check_compatibility(new, subject=subject, connection=flowodm_connection)
    assert at_subject_level.compatible and at_subject_level.source == "registry"
    stricter = check_compatibility(
        new, subject=subject, level="FULL", connection=flowodm_connection
    )
    assert not stricter.compatible
    assert stricter.level == "FULL" and stricter.source == "offline"
    assert stricter.fields == ("b",)
    assert "FORWARD, is unchanged" in stricter.note
    assert registry_client.get_compatibility(subject) == "FORWARD"
