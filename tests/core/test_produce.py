"""produce / produce_nowait / aproduce against the sandbox: results, arguments and failures."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, Message, Producer

from flowodm import producer as producer_module
from flowodm.config import build_config
from flowodm.connection import Connection
from flowodm.delivery import DeliveryResult
from flowodm.exceptions import (
    DeliveryTimeoutError,
    ProducerError,
    SchemaRegistryError,
    SerializationError,
)
from flowodm.model import FlowBaseModel
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all

pytestmark = pytest.mark.integration


def dead_address() -> str:
    """An address where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def model_for(topic_name: str) -> type[FlowBaseModel]:
    """A fresh model class producing to ``topic_name``, keyed by ``sensor``."""

    class Reading(FlowBaseModel):
        class Settings:
            topic = topic_name
            key_field = "sensor"

        sensor: str
        value: float

    return Reading


@pytest.fixture
def conn(sandbox: Sandbox) -> Iterator[Connection]:
    connection = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
        )
    )
    yield connection
    connection.close(5)


@pytest.fixture
def dead_conn(sandbox: Sandbox) -> Iterator[Connection]:
    """A connection whose broker does not exist (the registry does)."""
    connection = Connection(
        build_config(
            bootstrap_servers=dead_address(),
            schema_registry_url=sandbox.schema_registry_url,
            producer_config={"message.timeout.ms": 60_000},
        )
    )
    yield connection
    connection.close(0)


def test_produce_returns_where_the_message_was_written(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    reading_cls = model_for(topic)
    reading = reading_cls(sensor="s-1", value=1.5)
    stamp = dt.datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=dt.UTC)

    result = reading.produce(
        headers={"trace": "abc", "raw": b"\x01"}, partition=2, timestamp=stamp, connection=conn
    )

    assert isinstance(result, DeliveryResult)
    assert (result.topic, result.partition, result.offset) == (topic, 2, 0)
    assert result.key == b"s-1"
    assert result.timestamp == int(stamp.timestamp() * 1000)
    (message,) = consume_all(sandbox.bootstrap_servers, topic, 1)
    assert message.partition() == 2
    assert dict(message.headers() or []) == {"trace": b"abc", "raw": b"\x01"}
    assert message.timestamp()[1] == result.timestamp
    assert reading_cls.deserialize(message.value() or b"", connection=conn) == reading


def test_key_none_means_no_key_and_naive_timestamp_is_utc(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    reading = model_for(topic)(sensor="s-1", value=1.5)
    naive = dt.datetime(2026, 3, 4, 5, 6, 7)

    result = reading.produce(key=None, timestamp=naive, connection=conn)

    assert result.key is None
    assert result.timestamp == int(naive.replace(tzinfo=dt.UTC).timestamp() * 1000)
    (message,) = consume_all(sandbox.bootstrap_servers, topic, 1)
    assert message.key() is None


def test_unknown_partition_is_a_producer_error_with_the_kafka_error(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=1)
    reading = model_for(topic)(sensor="s-9", value=0.0)
    with pytest.raises(ProducerError) as info:
        reading.produce(partition=7, connection=conn)
    assert info.value.kafka_error.code() == KafkaError._UNKNOWN_PARTITION
    assert (info.value.topic, info.value.key) == (topic, b"s-9")
    assert "_UNKNOWN_PARTITION" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"partition": -2}, "partition must be a non-negative int"),
        ({"partition": True}, "partition must be a non-negative int"),
        ({"timestamp": "yesterday"}, "timestamp must be a datetime"),
        ({"timestamp": -5}, "timestamp must be a datetime"),
        ({"headers": {"n": 1}}, "headers must be a dict or a list"),
        ({"headers": [("n",)]}, "headers must be a dict or a list"),
    ],
)
def test_bad_arguments_are_refused_before_sending(
    conn: Connection, kwargs: dict[str, object], match: str
) -> None:
    reading = model_for(f"args-{uuid.uuid4().hex}")(sensor="s", value=0.0)
    with pytest.raises(ProducerError, match=match):
        reading.produce(connection=conn, **kwargs)  # type: ignore[arg-type]


def test_non_positive_timeout_is_refused(conn: Connection) -> None:
    reading = model_for(f"args-{uuid.uuid4().hex}")(sensor="s", value=0.0)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        reading.produce(timeout=0, connection=conn)


def test_serialization_error_propagates_as_ours(conn: Connection) -> None:
    reading_cls = model_for(f"ser-{uuid.uuid4().hex}")
    broken = reading_cls.model_construct(sensor="s", value="not a float")
    with pytest.raises(SerializationError, match="Reading"):
        broken.produce(connection=conn)


def test_registry_down_is_a_schema_registry_error(sandbox: Sandbox) -> None:
    dead_registry = f"http://{dead_address()}"
    with Connection(
        build_config(bootstrap_servers=sandbox.bootstrap_servers, schema_registry_url=dead_registry)
    ) as connection:
        reading = model_for(f"noreg-{uuid.uuid4().hex}")(sensor="s", value=0.0)
        with pytest.raises(SchemaRegistryError) as info:
            reading.produce(connection=connection)
    assert info.value.url == dead_registry


def test_produce_to_a_dead_broker_times_out_and_says_it_may_be_written(
    dead_conn: Connection,
) -> None:
    reading = model_for(f"dead-{uuid.uuid4().hex}")(sensor="s-1", value=0.0)
    with pytest.raises(DeliveryTimeoutError, match="may have been written") as info:
        reading.produce(timeout=1, connection=dead_conn)
    assert info.value.kafka_error.code() == KafkaError._MSG_TIMED_OUT
    assert info.value.key == b"s-1"


def test_produce_nowait_callback_runs_on_the_poller_thread(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    calls: list[tuple[KafkaError | None, str | None, int | None, str]] = []
    done = threading.Event()

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        calls.append((err, msg.topic(), msg.partition(), threading.current_thread().name))
        done.set()

    assert (
        model_for(topic)(sensor="s", value=1.0).produce_nowait(
            callback=on_delivery, connection=conn
        )
        is None
    )
    assert done.wait(30)
    (message,) = consume_all(sandbox.bootstrap_servers, topic, 1)
    assert calls == [(None, topic, message.partition(), "flowodm-poller")]


def test_produce_nowait_with_a_full_queue_raises_after_the_timeout(sandbox: Sandbox) -> None:
    settings = build_config(
        bootstrap_servers=dead_address(),
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={"queue.buffering.max.messages": 1},
        produce_timeout=0.5,
    )
    connection = Connection(settings)
    try:
        reading = model_for(f"full-{uuid.uuid4().hex}")(sensor="s", value=0.0)
        reading.produce_nowait(connection=connection)
        with pytest.raises(ProducerError, match="local producer queue stayed full"):
            reading.produce_nowait(connection=connection)
    finally:
        connection.close(0)  # the first message can never be delivered: do not wait for it


def test_thousand_concurrent_aproduce_complete_without_blocking_the_loop(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    reading_cls = model_for(topic)
    readings = [reading_cls(sensor=f"s-{i}", value=float(i)) for i in range(1000)]
    ticks = 0
    most_threads = 0
    baseline = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks, most_threads
        while not stop.is_set():
            ticks += 1
            most_threads = max(most_threads, threading.active_count())
            await asyncio.sleep(0)

    async def main() -> list[DeliveryResult]:
        nonlocal baseline
        await readings[0].aproduce(connection=conn)  # registry round trip, producer start
        baseline = threading.active_count()
        stop = asyncio.Event()
        tick_task = asyncio.create_task(ticker(stop))
        results = await asyncio.gather(*(r.aproduce(connection=conn) for r in readings[1:]))
        stop.set()
        await tick_task
        return results

    results = asyncio.run(main())

    assert len(results) == 999
    assert len({(r.partition, r.offset) for r in results}) == 999
    assert ticks > 1  # the loop kept running other tasks while deliveries were pending
    assert most_threads == baseline  # no thread per call
    assert len(consume_all(sandbox.bootstrap_servers, topic, 1000)) == 1000


def test_aproduce_to_a_dead_broker_times_out_while_the_loop_runs(dead_conn: Connection) -> None:
    reading = model_for(f"dead-{uuid.uuid4().hex}")(sensor="s", value=0.0)
    ticks = 0

    async def main() -> None:
        nonlocal ticks

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        try:
            await reading.aproduce(timeout=1, connection=dead_conn)
        finally:
            task.cancel()

    with pytest.raises(DeliveryTimeoutError, match="may have been written"):
        asyncio.run(main())
    assert ticks > 1


def test_aproduce_many_delivers_every_model(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    reading_cls = model_for(topic)
    readings = [reading_cls(sensor=f"s-{i}", value=float(i)) for i in range(300)]

    result = asyncio.run(reading_cls.aproduce_many(readings, connection=conn))

    assert (result.delivered, result.failed, result.topic) == (300, [], topic)
    assert len(consume_all(sandbox.bootstrap_servers, topic, 300)) == 300


def test_fenced_report_marks_the_shared_producer_for_replacement(
    conn: Connection, make_topic: TopicFactory, caplog: pytest.LogCaptureFixture
) -> None:
    topic = make_topic()
    shared = conn.producer
    report = producer_module._NowaitReport(None, shared)
    report(KafkaError(KafkaError.PRODUCER_FENCED, "fenced"), Message(topic=topic))

    # Without a replacement hook on the connection, produce goes on and says what to do.
    with caplog.at_level(logging.ERROR, logger="flowodm.producer"):
        assert producer_module._shared_producer(conn) is shared
    assert "call flowodm.connect(...) again" in caplog.text

    replaced: list[Producer] = []

    def replace_producer(broken: Producer) -> None:
        replaced.append(broken)

    conn.replace_producer = replace_producer  # type: ignore[attr-defined]
    producer_module._shared_producer(conn)
    assert replaced == [shared]
    producer_module._shared_producer(conn)
    assert replaced == [shared]  # asked once per broken producer


def test_produce_inside_a_delivery_callback_is_refused_not_deadlocked(
    conn: Connection, make_topic: TopicFactory
) -> None:
    reading_cls = model_for(make_topic())
    errors: list[BaseException] = []
    done = threading.Event()

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        try:
            reading_cls(sensor="inner", value=0.0).produce(connection=conn)
        except ProducerError as exc:
            errors.append(exc)
        finally:
            done.set()

    reading_cls(sensor="outer", value=0.0).produce_nowait(callback=on_delivery, connection=conn)
    assert done.wait(30)
    assert len(errors) == 1
    assert "use produce_nowait() there" in str(errors[0])
