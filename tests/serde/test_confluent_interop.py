"""Interop with confluent-kafka's AvroSerializer/AvroDeserializer (in-memory ``mock://`` registry).

A narrow serializer unit test, so confluent's mock registry is allowed here: it proves our
``frame(id, codec.encode(datum))`` is what Confluent clients read, and vice versa.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from flowodm.schema import DatumConverter, build_avro_schema
from flowodm.serde.avro import AvroCodec
from flowodm.serde.wire import frame, unframe
from tests.schema.zoo import Cat, Dog, Everything, everything

CONTEXT = SerializationContext("interop-topic", MessageField.VALUE)


@pytest.fixture
def client() -> SchemaRegistryClient:
    return SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"})


@pytest.fixture
def schema() -> dict[str, Any]:
    return build_avro_schema(Everything, namespace="com.acme")


@pytest.mark.parametrize("pet", [Dog(name="Rex"), Cat(name="Rex")])
def test_confluent_deserializer_reads_our_frames(
    client: SchemaRegistryClient, schema: dict[str, Any], pet: Dog | Cat
) -> None:
    obj = everything(pet=pet)
    conv = DatumConverter(Everything, schema)
    schema_id = client.register_schema("interop-topic-value", Schema(json.dumps(schema), "AVRO"))
    payload = frame(schema_id, AvroCodec(schema).encode(conv.to_datum(obj)))

    decoded = AvroDeserializer(client, return_record_name=True)(payload, CONTEXT)

    assert conv.from_datum(decoded) == obj
    assert type(conv.from_datum(decoded).pet) is type(pet)


@pytest.mark.parametrize("pet", [Dog(name="Rex"), Cat(name="Rex")])
def test_we_read_what_the_confluent_serializer_wrote(
    client: SchemaRegistryClient, schema: dict[str, Any], pet: Dog | Cat
) -> None:
    obj = everything(pet=pet)
    conv = DatumConverter(Everything, schema)
    serializer = AvroSerializer(
        client, json.dumps(schema), to_dict=lambda value, _ctx: conv.to_datum(value)
    )
    payload = serializer(obj, CONTEXT)

    schema_id, body = unframe(payload)
    schema_str = client.get_schema(schema_id).schema_str
    assert schema_str is not None
    writer = json.loads(schema_str)
    back = conv.from_datum(AvroCodec(schema).decode(body, writer_schema=writer))

    assert back == obj
    assert type(back.pet) is type(pet)
    assert body == AvroCodec(schema).encode(conv.to_datum(obj))  # the same bytes either way
