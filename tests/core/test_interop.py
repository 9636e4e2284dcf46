"""Interop with Confluent's Avro serdes through the sandbox broker and registry.

Confluent's ``AvroDeserializer`` reads what ``produce()`` wrote, and ``Model.deserialize`` reads
what Confluent's ``AvroSerializer`` wrote, for the schema tests' model with every mapped type
(``tests.schema.zoo.Everything``: scalars, 32-bit markers, optionals, nested and recursive
records, arrays, maps, tuples, enums, literals, record unions, date/time/timestamps, decimal,
UUID, bytes, URLs). Both directions
also run with the process in a non-UTC local time zone (``local_tz``), where a local-time bug
in datetime handling would shift instants.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from pydantic import BaseModel

from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.schema.tz import local_tz  # noqa: F401 - the fixture, used by name
from tests.schema.zoo import Cat, Dog, Everything, everything

pytestmark = pytest.mark.integration


class EveryType(FlowBaseModel, Everything):
    """The schema tests' model with every mapped type, as a FlowBaseModel (topic set per test)."""

    class Settings:
        namespace = "com.example.interop"
        key_field = "text"


def every_type_model(topic_name: str) -> type[EveryType]:
    """A subclass of ``EveryType`` producing to ``topic_name`` (same schema, fresh subject)."""

    class Every(EveryType):
        class Settings:
            topic = topic_name
            record_name = "EveryType"

    return Every


def sample(model_cls: type[EveryType], **overrides: object) -> EveryType:
    """A fully populated instance; nested models stay instances (so ``Cat`` stays a Cat)."""
    return model_cls.model_validate(dict(everything(**overrides)))


@pytest.fixture
def conn(sandbox: Sandbox) -> Connection:
    return Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
        )
    )


@pytest.mark.parametrize("pet", [Dog(name="Rex"), Cat(name="Tom", good=False)], ids=["dog", "cat"])
@pytest.mark.usefixtures("local_tz")
def test_confluent_deserializer_reads_what_produce_wrote(
    conn: Connection,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
    pet: BaseModel,
) -> None:
    topic = make_topic()
    model_cls = every_type_model(topic)
    # An aware datetime in a non-UTC zone and a naive one (UTC by FlowODM's rule): both must
    # arrive as the same instant, whatever the process's local zone is.
    original = sample(
        model_cls,
        pet=pet,
        at=dt.datetime(2026, 3, 29, 1, 30, 15, 250000, tzinfo=ZoneInfo("America/New_York")),
        at_micros=dt.datetime(2026, 3, 29, 5, 30, 15, 250001),
    )
    try:
        original.produce(connection=conn)
    finally:
        conn.close(5)

    (message,) = consume_all(sandbox.bootstrap_servers, topic, 1)
    deserializer = AvroDeserializer(registry_client, return_record_name=True)
    decoded = deserializer(message.value(), SerializationContext(topic, MessageField.VALUE))

    assert message.key() == "héllo ✓".encode()
    assert decoded["at"] == dt.datetime(2026, 3, 29, 5, 30, 15, 250000, tzinfo=dt.UTC)
    assert decoded["at_micros"] == dt.datetime(2026, 3, 29, 5, 30, 15, 250001, tzinfo=dt.UTC)
    assert decoded["day"] == dt.date(1960, 1, 2)
    assert decoded["clock"] == dt.time(23, 59, 59, 999000)
    assert decoded["status"] == "PAID"
    assert decoded["amount"] == Decimal("-123456789.125")
    assert decoded["ident"] == UUID("12345678-1234-5678-1234-567812345678")
    assert decoded["blob"] == b"\x00\xffbin"
    assert decoded["pet"][0] == f"com.example.interop.{type(pet).__name__}"
    assert decoded["scores"] == {"x": 1.25, "y": float("inf")}
    back = model_cls.from_avro_dict(decoded)
    assert back == original.model_copy(
        update={"at_micros": original.at_micros.replace(tzinfo=dt.UTC)}  # naive in, UTC out
    )
    assert type(back.pet) is type(pet)


@pytest.mark.usefixtures("local_tz")
def test_deserialize_reads_what_confluent_serializer_wrote(
    conn: Connection,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
) -> None:
    topic = make_topic()
    model_cls = every_type_model(topic)
    originals = [sample(model_cls, pet=Dog(name="Rex")), sample(model_cls, pet=Cat(name="Tom"))]
    serializer = AvroSerializer(
        registry_client,
        json.dumps(model_cls.avro_schema()),
        conf={"auto.register.schemas": True},
    )
    context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    for original in originals:
        producer.produce(topic, serializer(original.to_avro_dict(), context))
    assert producer.flush(30) == 0

    messages = consume_all(sandbox.bootstrap_servers, topic, 2)
    try:
        decoded = [model_cls.deserialize(m.value() or b"", connection=conn) for m in messages]
    finally:
        conn.close(0)

    assert decoded == originals  # one partition: read in the order written
    assert [type(m.pet) for m in decoded] == [Dog, Cat]
