"""Consuming across schema versions, every mapped type, keys, and Confluent-written messages."""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum
from uuid import UUID

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from flowodm.exceptions import DeserializationError
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory
from tests.consume.helpers import new_group
from tests.core.test_interop import every_type_model, sample
from tests.schema.zoo import Cat, Dog

pytestmark = pytest.mark.integration

JOIN = 15.0


def read_all(model: type[FlowBaseModel], count: int, conn: Connection) -> list[object]:
    with model.consumer(group_id=new_group(), connection=conn) as consumer:
        return [m.value for m in consumer.iter(max_messages=count, timeout=JOIN)]


def test_every_mapped_type_round_trips_through_produce_and_consume(
    conn: Connection, make_topic: TopicFactory
) -> None:
    model = every_type_model(make_topic())
    sent = [sample(model, pet=Dog(name="Rex")), sample(model, pet=Cat(name="Tom", good=False))]
    for item in sent:
        item.produce(connection=conn)

    got = read_all(model, 2, conn)

    assert got == sent
    assert [type(m.pet) for m in got] == [Dog, Cat]  # type: ignore[attr-defined]


def test_messages_of_confluents_avro_serializer_are_consumed(
    conn: Connection,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
) -> None:
    topic = make_topic()
    model = every_type_model(topic)
    sent = [sample(model, pet=Dog(name="Rex")), sample(model, pet=Cat(name="Tom"))]
    serializer = AvroSerializer(
        registry_client, json.dumps(model.avro_schema()), conf={"auto.register.schemas": True}
    )
    context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    for item in sent:
        producer.produce(topic, serializer(item.to_avro_dict(), context), key=b"k")
    assert producer.flush(30) == 0

    assert read_all(model, 2, conn) == sent


class Channel(str, Enum):  # noqa: UP042 - the spelling most users write
    WEB = "web"
    SHOP = "shop"


def versions(topic_name: str) -> tuple[type[FlowBaseModel], type[FlowBaseModel]]:
    """v1 and v2 of one record (same name and subject); v2 adds fields with defaults."""

    class OrderV1(FlowBaseModel):
        class Settings:
            topic = topic_name
            record_name = "Order"

        order_id: str
        amount: float

    class OrderV2(FlowBaseModel):
        class Settings:
            topic = topic_name
            record_name = "Order"

        order_id: str
        amount: float
        channel: Channel = Channel.WEB
        placed_at: dt.datetime | None = None

    return OrderV1, OrderV2


def test_v1_and_v2_consumers_both_read_v1_and_v2_messages(
    conn: Connection, make_topic: TopicFactory
) -> None:
    v1, v2 = versions(make_topic())
    v1(order_id="a", amount=1.0).produce(connection=conn)  # type: ignore[call-arg]
    at = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    v2(order_id="b", amount=2.0, channel=Channel.SHOP, placed_at=at).produce(connection=conn)  # type: ignore[call-arg]

    assert read_all(v2, 2, conn) == [
        v2(order_id="a", amount=1.0),  # type: ignore[call-arg]
        v2(order_id="b", amount=2.0, channel=Channel.SHOP, placed_at=at),  # type: ignore[call-arg]
    ]
    assert read_all(v1, 2, conn) == [
        v1(order_id="a", amount=1.0),  # type: ignore[call-arg]
        v1(order_id="b", amount=2.0),  # type: ignore[call-arg]
    ]


def test_an_incompatible_writer_schema_is_a_deserialization_error_with_coordinates(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic_name = make_topic()

    class Written(FlowBaseModel):
        class Settings:
            topic = topic_name
            record_name = "Order"

        order_id: str

    class Reader(FlowBaseModel):
        class Settings:
            topic = topic_name
            record_name = "Order"
            auto_register = False

        order_id: str
        amount: float  # no default: a v1 record cannot fill it

    Written(order_id="x").produce(connection=conn)
    consumer = Reader.consumer(group_id=new_group(), connection=conn)
    with pytest.raises(DeserializationError) as bad:
        consumer.one(timeout=JOIN)
    assert (bad.value.topic, bad.value.offset) == (topic_name, 0)
    consumer.close()


@pytest.mark.parametrize(
    ("serializer", "key", "expected"),
    [
        ("string", "ord-1", "ord-1"),
        ("json", {"id": 1, "region": "eu"}, {"id": 1, "region": "eu"}),
        ("bytes", b"\x00\x01", b"\x00\x01"),
        ("avro", 42, 42),
        ("avro", UUID(int=7), UUID(int=7)),  # the uuid logical type comes back as a UUID
    ],
)
def test_keys_are_decoded_with_the_models_key_serializer(
    conn: Connection, make_topic: TopicFactory, serializer: str, key: object, expected: object
) -> None:
    topic_name = make_topic()

    class Keyed(FlowBaseModel):
        class Settings:
            topic = topic_name
            key_serializer = serializer

        name: str

    Keyed(name="n").produce(key=key, connection=conn)
    with Keyed.consumer(group_id=new_group(), connection=conn) as consumer:
        message = consumer.one(timeout=JOIN)
    assert message is not None
    assert message.key == expected


def test_json_values_are_consumed_and_bad_json_is_reported(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic_name = make_topic()

    class Event(FlowBaseModel):
        class Settings:
            topic = topic_name
            value_serializer = "json"

        name: str
        size: int

    Event(name="a", size=1).produce(connection=conn)
    conn.producer.produce(topic_name, value=b'{"name": "b", "size": "big"}')
    conn.producer.flush(10)
    with Event.consumer(group_id=new_group(), connection=conn) as consumer:
        first = consumer.one(timeout=JOIN)
        with pytest.raises(DeserializationError, match=r"@1: JSON value does not validate"):
            consumer.one(timeout=5)
    assert first is not None and first.value == Event(name="a", size=1)
