"""Per-call options: ``topic=`` on every produce call, ``headers=``/``keys=`` on produce_many."""

from __future__ import annotations

import asyncio
import threading

import pytest
from confluent_kafka import KafkaError, Message
from confluent_kafka.schema_registry import SchemaRegistryClient

from flowodm.exceptions import ArgumentTypeError, InvalidArgumentError, SerializationError
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.core.models import model_for

pytestmark = pytest.mark.integration


def test_every_produce_call_writes_to_the_topic_given(
    conn: Connection,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
) -> None:
    home, other = make_topic(prefix="home"), make_topic(prefix="other")
    reading = model_for(home)
    acked = threading.Event()
    reports: list[KafkaError | None] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        reports.append(error)
        acked.set()

    first = reading(sensor="a", value=1.0).produce(topic=other, connection=conn)
    reading(sensor="b", value=2.0).produce_nowait(
        topic=other, callback=on_delivery, connection=conn
    )
    third = asyncio.run(reading(sensor="c", value=3.0).aproduce(topic=other, connection=conn))
    many = reading.produce_many(
        [reading(sensor=f"m{i}", value=float(i)) for i in range(5)], topic=other, connection=conn
    )

    assert acked.wait(15) and reports == [None]
    assert (first.topic, third.topic, many.topic, many.delivered) == (other, other, other, 5)
    messages = consume_all(sandbox.bootstrap_servers, other, 8)
    sensors = sorted(
        reading.deserialize(m.value() or b"", connection=conn).sensor for m in messages
    )
    assert sensors == ["a", "b", "c", "m0", "m1", "m2", "m3", "m4"]
    # The subject follows the topic written to (TopicNameStrategy), as Confluent's would.
    assert registry_client.get_latest_version(f"{other}-value").schema_id is not None
    assert consume_all(sandbox.bootstrap_servers, home, 0, linger=1.0) == []


def test_produce_many_sends_headers_with_every_message_and_keys_given_per_model(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(prefix="hdr")
    reading = model_for(topic)
    models = [reading(sensor=f"s{i}", value=float(i)) for i in range(3)]

    result = reading.produce_many(
        models,
        headers={"source": "backfill", "raw": b"\x00\x01"},
        keys=["k0", None, "k2"],
        connection=conn,
    )

    assert result.delivered == 3
    messages = consume_all(sandbox.bootstrap_servers, topic, 3)
    by_value = {reading.deserialize(m.value() or b"", connection=conn).sensor: m for m in messages}
    assert [by_value[f"s{i}"].key() for i in range(3)] == [b"k0", None, b"k2"]
    for message in messages:
        assert message.headers() == [("source", b"backfill"), ("raw", b"\x00\x01")]


def test_bad_keys_headers_or_topic_are_refused_before_sending(
    conn: Connection, make_topic: TopicFactory
) -> None:
    reading = model_for(make_topic(prefix="bad"))
    models = [reading(sensor=f"s{i}", value=float(i)) for i in range(3)]

    with pytest.raises(InvalidArgumentError, match="one key per model: got 2 keys for 3 models"):
        reading.produce_many(models, keys=["a", "b"], connection=conn)
    with pytest.raises(InvalidArgumentError, match="keys must hold one key per model"):
        reading.produce_many(models, keys="abc", connection=conn)
    with pytest.raises(SerializationError, match=r"keys\[1\] cannot be serialized"):
        reading.produce_many(models, keys=["a", object(), "c"], connection=conn)
    with pytest.raises(ArgumentTypeError, match="headers must be"):
        reading.produce_many(models, headers={"n": 5}, connection=conn)  # type: ignore[dict-item]
    with pytest.raises(InvalidArgumentError, match="topic must not be empty"):
        reading.produce_many(models, topic="", connection=conn)
    with pytest.raises(ArgumentTypeError, match="topic must be a str or None"):
        models[0].produce(topic=7, connection=conn)  # type: ignore[arg-type]
