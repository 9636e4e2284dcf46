"""Conformance: confluent_kafka's SchemaRegistryClient and Avro serdes against the registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import (
    Schema,
    SchemaReference,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from flowodm.sandbox.registry import serve
from tests.registry.registry_schemas import V1, V2, V3, field, record, text


def avro(schema: dict[str, Any]) -> Schema:
    return Schema(text(schema), "AVRO")


def raises(code: int) -> Any:
    return pytest.raises(SchemaRegistryError, match=rf"\(HTTP status code \d+, SR code {code}\)")


def test_register_lookup_and_fetch(
    sr_client: SchemaRegistryClient, fresh_client: Callable[[], SchemaRegistryClient]
) -> None:
    schema_id = sr_client.register_schema("orders-value", avro(V1))
    assert sr_client.register_schema("orders-value", avro(V1)) == schema_id
    assert fresh_client().register_schema("orders-key", avro(V1)) == schema_id
    fetched = fresh_client().get_schema(schema_id)
    assert fetched.schema_str is not None
    assert json.loads(fetched.schema_str) == V1
    assert fetched.schema_type == "AVRO"
    found = fresh_client().lookup_schema("orders-value", avro(V1))
    assert (found.schema_id, found.version, found.subject) == (schema_id, 1, "orders-value")
    assert sorted(sr_client.get_subjects()) == ["orders-key", "orders-value"]
    assert sr_client.get_subjects_by_schema_id(schema_id) == ["orders-key", "orders-value"]
    versions = sr_client.get_schema_versions(schema_id)
    assert {(v.subject, v.version) for v in versions} == {("orders-key", 1), ("orders-value", 1)}
    assert sorted(sr_client.get_schema_types()) == ["AVRO", "JSON", "PROTOBUF"]


def test_versions_latest_and_deletes(sr_client: SchemaRegistryClient) -> None:
    sr_client.register_schema("s", avro(V1))
    second = sr_client.register_schema("s", avro(V2))
    latest = sr_client.get_latest_version("s")
    assert (latest.schema_id, latest.version) == (second, 2)
    assert sr_client.get_version("s", 1).version == 1
    assert sr_client.get_versions("s") == [1, 2]
    assert sr_client.delete_version("s", 1) == 1
    assert sr_client.get_versions("s") == [2]
    assert sr_client.get_versions("s", deleted=True) == [1, 2]
    with raises(40406):
        sr_client.delete_version("s", 1)
    with raises(40405):
        sr_client.delete_subject("s", permanent=True)
    assert sr_client.delete_subject("s") == [2]
    assert sr_client.get_subjects() == []
    assert sr_client.get_subjects(deleted=True) == ["s"]
    assert sr_client.delete_subject("s", permanent=True) == [1, 2]
    assert sr_client.get_subjects(deleted=True) == []


def test_error_codes_surface_through_the_client(
    sr_client: SchemaRegistryClient, fresh_client: Callable[[], SchemaRegistryClient]
) -> None:
    with raises(40401):
        sr_client.get_latest_version("nope")
    with raises(40401):
        sr_client.get_versions("nope")
    sr_client.register_schema("s", avro(V1))
    with raises(40402):
        sr_client.get_version("s", 9)
    with raises(42202):
        sr_client.get_version("s", 0)
    with raises(40403):
        fresh_client().lookup_schema("s", avro(V3))
    with raises(40403):
        fresh_client().get_schema(999)
    with raises(42201):
        sr_client.register_schema("s", Schema('{"type": "nope"}', "AVRO"))
    with raises(409):
        sr_client.register_schema("s", avro(record(field("a", "string"))))
    with raises(42203):
        sr_client.set_compatibility("s", "SIDEWAYS")
    with raises(40408):
        sr_client.get_compatibility("s")
    with raises(40407):
        sr_client.delete_version("s", 1, permanent=True)
    sr_client.register_schema("gone", avro(V1))
    sr_client.delete_subject("gone")
    with raises(40404):
        sr_client.delete_subject("gone")


def test_config_through_the_client(sr_client: SchemaRegistryClient) -> None:
    assert sr_client.get_compatibility() == "BACKWARD"
    # Annotated "-> str", the client really returns the decoded PUT /config body.
    answer: object = sr_client.set_compatibility(level="FULL_TRANSITIVE")
    assert answer == {"compatibility": "FULL_TRANSITIVE"}
    assert sr_client.get_compatibility() == "FULL_TRANSITIVE"
    sr_client.set_compatibility("s", "NONE")
    assert sr_client.get_compatibility("s") == "NONE"
    assert str(sr_client.get_config("s").compatibility_level) == "NONE"
    sr_client.register_schema("s", avro(V1))
    assert str(sr_client.delete_config("s").compatibility_level) == "NONE"
    assert str(sr_client.get_config().compatibility_level) == "FULL_TRANSITIVE"
    assert sr_client.get_global_mode() == "READWRITE"
    assert sr_client.get_mode("s") == "READWRITE"


def test_compatibility_checks_through_the_client(sr_client: SchemaRegistryClient) -> None:
    assert sr_client.test_compatibility_all_versions("ghost", avro(V1)) is True
    assert sr_client.test_compatibility("ghost", avro(V1)) is True
    sr_client.register_schema("s", avro(V1))
    assert sr_client.test_compatibility("s", avro(V2)) is True
    assert sr_client.test_compatibility("s", avro(V2), version=1, verbose=True) is True
    breaking = avro(record(field("a", "int"), field("z", "int")))
    assert sr_client.test_compatibility("s", breaking) is False
    assert sr_client.test_compatibility_all_versions("s", breaking, verbose=True) is False
    with raises(40402):
        sr_client.test_compatibility("s", avro(V2), version=5)


def test_references_through_the_client(sr_client: SchemaRegistryClient) -> None:
    address = record(field("city", "string"), name="Address", namespace="com.acme")
    sr_client.register_schema("address", avro(address))
    person = Schema(
        text(record(field("home", "com.acme.Address"), name="Person")),
        "AVRO",
        [SchemaReference("com.acme.Address", "address", 1)],
    )
    person_id = sr_client.register_schema("person", person)
    fetched = sr_client.get_latest_version("person").schema
    assert fetched.references == [SchemaReference("com.acme.Address", "address", 1)]
    assert sr_client.get_referenced_by("address", 1) == [person_id]


def test_json_and_protobuf_schemas_through_the_client(sr_client: SchemaRegistryClient) -> None:
    json_id = sr_client.register_schema("j", Schema('{"type": "object"}', "JSON"))
    proto = 'syntax = "proto3";\nmessage M { int32 a = 1; }\n'
    proto_id = sr_client.register_schema("p", Schema(proto, "PROTOBUF"))
    assert sr_client.get_latest_version("j").schema.schema_type == "JSON"
    assert sr_client.get_latest_version("p").schema.schema_str == proto
    assert json_id != proto_id


def test_avro_serializer_and_deserializer_round_trip(
    sr_client: SchemaRegistryClient, fresh_client: Callable[[], SchemaRegistryClient]
) -> None:
    schema = record(
        field("a", "int"), field("b", "string", default=""), name="Order", namespace="com.acme"
    )
    serializer = AvroSerializer(sr_client, text(schema))
    ctx = SerializationContext("roundtrip-topic", MessageField.VALUE)
    data = serializer({"a": 7, "b": "x"}, ctx)
    assert data is not None and data[0] == 0
    schema_id = int.from_bytes(data[1:5], "big")
    assert schema_id == sr_client.get_latest_version("roundtrip-topic-value").schema_id
    deserializer = AvroDeserializer(fresh_client())
    assert deserializer(data, ctx) == {"a": 7, "b": "x"}


def test_client_with_basic_auth(tmp_path: Path) -> None:
    server = serve(port=0, data_dir=tmp_path, basic_auth="alice:s3cret:with:colons")
    try:
        good = SchemaRegistryClient(
            {"url": server.url, "timeout": 5, "basic.auth.user.info": "alice:s3cret:with:colons"}
        )
        schema_id = good.register_schema("auth", avro(V1))
        assert good.get_schema(schema_id).schema_type == "AVRO"
        bad = SchemaRegistryClient(
            {"url": server.url, "timeout": 5, "basic.auth.user.info": "alice:wrong"}
        )
        with raises(401):
            bad.get_subjects()
        anonymous = SchemaRegistryClient({"url": server.url, "timeout": 5})
        with raises(401):
            anonymous.get_subjects()
        for client in (good, bad, anonymous):
            client.close()
    finally:
        server.shutdown()
