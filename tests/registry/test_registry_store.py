"""The SQLite store and the registry core without HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowodm.sandbox.registry.errors import RegistryHTTPError
from flowodm.sandbox.registry.inputs import SchemaRequest, parse_version
from flowodm.sandbox.registry.schemas import Reference
from flowodm.sandbox.registry.service import Registry
from flowodm.sandbox.registry.store import RegistryStore
from tests.registry.registry_schemas import V1, V2, text


def test_store_rows_persist_across_connections(tmp_path: Path) -> None:
    store = RegistryStore(tmp_path)
    refs = (Reference("com.acme.A", "a", 1),)
    schema_id = store.insert_schema("AVRO", "identity-1", '"int"', refs)
    store.add_version("s", 1, schema_id)
    store.soft_delete("s", 1)
    store.set_config("s", "NONE")
    store.close()

    reopened = RegistryStore(tmp_path)
    try:
        assert reopened.schema_id_for("identity-1") == schema_id
        row = reopened.get_schema(schema_id)
        assert row is not None and row.references == refs
        [version] = reopened.versions("s")
        assert (version.version, version.schema_id, version.deleted) == (1, schema_id, True)
        assert reopened.get_config("s") == "NONE"
        assert reopened.get_config(None) is None
    finally:
        reopened.close()


def test_failed_transaction_rolls_back(tmp_path: Path) -> None:
    store = RegistryStore(tmp_path)
    try:
        with pytest.raises(RuntimeError), store.transaction():
            store.add_version("s", 1, store.insert_schema("AVRO", "x", '"int"', ()))
            raise RuntimeError("abort")
        assert store.versions("s") == []
        assert store.schema_id_for("x") is None
    finally:
        store.close()


def test_schema_ids_are_never_reused_after_permanent_delete(tmp_path: Path) -> None:
    store = RegistryStore(tmp_path)
    registry = Registry(store)
    try:
        first = registry.register("s", SchemaRequest(text(V1), "AVRO", ()))["id"]
        registry.delete_subject("s", permanent=False)
        registry.delete_subject("s", permanent=True)
        second = registry.register("t", SchemaRequest(text(V2), "AVRO", ()))["id"]
        assert second == first + 1
        # The same content still maps to its original id.
        assert registry.register("s", SchemaRequest(text(V1), "AVRO", ()))["id"] == first
    finally:
        store.close()


@pytest.mark.parametrize(
    ("text_", "expected"), [("latest", -1), ("-1", -1), ("1", 1), ("2147483647", 2**31 - 1)]
)
def test_parse_version_accepts_aliases_and_range(text_: str, expected: int) -> None:
    assert parse_version(text_) == expected


@pytest.mark.parametrize("text_", ["0", "-2", "2147483648", "1.5", "LATEST", ""])
def test_parse_version_rejects_everything_else(text_: str) -> None:
    with pytest.raises(RegistryHTTPError) as raised:
        parse_version(text_)
    assert raised.value.error_code == 42202
