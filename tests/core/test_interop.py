"""Interop with Confluent's Avro serdes through the sandbox broker and registry.

Confluent's ``AvroDeserializer`` reads what ``produce()`` wrote, and ``Model.deserialize`` reads
what Confluent's ``AvroSerializer`` wrote, for a model with every mapped type. Both directions
also run with the process in a non-UTC local time zone (``local_tz``), where a local-time bug
in datetime handling would shift instants.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import Enum
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from pydantic import BaseModel, Field

from flowodm.config import build_config
from flowodm.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.schema.tz import local_tz  # noqa: F401 - the fixture, used by name

pytestmark = pytest.mark.integration


class Status(str, Enum):  # noqa: UP042 - the spelling most users write
    NEW = "NEW"
    PAID = "PAID"


class Address(BaseModel):
    city: str
    zip: str | None = None


class Dog(BaseModel):
    name: str
    barks: bool = True


class Cat(BaseModel):
    name: str
    barks: bool = False


def every_type_model(topic_name: str) -> type[FlowBaseModel]:
    """A model with every mapped type, producing to ``topic_name``."""

    class EveryType(FlowBaseModel):
        class Settings:
            topic = topic_name
            key_field = "text"
            namespace = "com.example.interop"

        text: str
        count: int
        ratio: float
        flag: bool
        blob: bytes
        maybe: int | None = None
        maybe_text: str | None = None
        address: Address
        tags: list[str]
        scores: dict[str, float]
        status: Status
        kind: Literal["a", "b"]
        pet: Dog | Cat
        at: dt.datetime
        day: dt.date
        clock: dt.time
        amount: Decimal = Field(max_digits=10, decimal_places=2)
        ident: UUID

    return EveryType


def sample(model_cls: type[FlowBaseModel], pet: BaseModel) -> FlowBaseModel:
    return model_cls(
        text="héllo ✓",
        count=-(2**40),
        ratio=0.125,
        flag=True,
        blob=b"\x00\xff\x10",
        maybe=None,
        maybe_text="here",
        address=Address(city="Berlin"),
        tags=["x", "y"],
        scores={"a": 1.5, "b": -2.0},
        status=Status.PAID,
        kind="b",
        pet=pet,
        # An aware datetime in a non-UTC zone: it must arrive as the same instant.
        at=dt.datetime(2026, 3, 29, 1, 30, 15, 250000, tzinfo=ZoneInfo("America/New_York")),
        day=dt.date(2024, 2, 29),
        clock=dt.time(23, 59, 58, 999000),
        amount=Decimal("-12345678.90"),
        ident=UUID("12345678-1234-5678-1234-567812345678"),
    )


@pytest.fixture
def conn(sandbox: Sandbox) -> Connection:
    return Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
        )
    )


@pytest.mark.parametrize("pet", [Dog(name="Rex"), Cat(name="Tom")], ids=["dog", "cat"])
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
    original = sample(model_cls, pet)
    try:
        original.produce(connection=conn)
    finally:
        conn.close(5)

    (message,) = consume_all(sandbox.bootstrap_servers, topic, 1)
    deserializer = AvroDeserializer(registry_client, return_record_name=True)
    decoded = deserializer(message.value(), SerializationContext(topic, MessageField.VALUE))

    assert message.key() == "héllo ✓".encode()
    assert decoded["at"] == dt.datetime(2026, 3, 29, 5, 30, 15, 250000, tzinfo=dt.UTC)
    assert decoded["status"] == "PAID"
    assert decoded["amount"] == Decimal("-12345678.90")
    assert decoded["pet"][0] == f"com.example.interop.{type(pet).__name__}"
    assert model_cls.from_avro_dict(decoded) == original


@pytest.mark.usefixtures("local_tz")
def test_deserialize_reads_what_confluent_serializer_wrote(
    conn: Connection,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
) -> None:
    topic = make_topic()
    model_cls = every_type_model(topic)
    originals = [sample(model_cls, Dog(name="Rex")), sample(model_cls, Cat(name="Tom"))]
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
    assert [type(m.pet) for m in decoded] == [Dog, Cat]  # type: ignore[attr-defined]
