"""produce / produce_nowait / aproduce against the sandbox: results, arguments and failures."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import uuid
from collections.abc import Iterator
from enum import Enum

import pytest
from confluent_kafka import KafkaError, Message

from flowodm.exceptions import (
    ArgumentTypeError,
    DeliveryTimeoutError,
    InvalidArgumentError,
    ProducerError,
    SchemaRegistryError,
    SerializationError,
)
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.produce import reports as reports_module
from flowodm.produce.results import DeliveryResult
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.core.helpers import dead_address, pollers, wait_until
from tests.core.models import model_for
from tests.schema.tz import local_tz  # noqa: F401 - the fixture, used by name

pytestmark = pytest.mark.integration


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


@pytest.mark.usefixtures("local_tz")  # a local-time bug would shift the naive timestamp
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
    assert info.value.kafka_error is not None
    assert info.value.kafka_error.code() == KafkaError._UNKNOWN_PARTITION
    assert (info.value.topic, info.value.key) == (topic, b"s-9")
    assert "_UNKNOWN_PARTITION" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"partition": -2}, InvalidArgumentError, "partition must be a non-negative int"),
        ({"partition": True}, ArgumentTypeError, "partition must be a non-negative int"),
        ({"timestamp": "yesterday"}, ArgumentTypeError, "timestamp must be a datetime"),
        ({"timestamp": -5}, InvalidArgumentError, "timestamp must be a datetime"),
        ({"headers": {"n": 1}}, ArgumentTypeError, "headers must be a dict or a list"),
        ({"headers": [("n",)]}, ArgumentTypeError, "headers must be a dict or a list"),
    ],
)
def test_bad_arguments_are_refused_before_sending(
    conn: Connection, kwargs: dict[str, object], error: type[InvalidArgumentError], match: str
) -> None:
    # A bad value is an InvalidArgumentError (a ValueError) only; a wrong type is the
    # ArgumentTypeError subclass, a TypeError too.
    reading = model_for(f"args-{uuid.uuid4().hex}")(sensor="s", value=0.0)
    with pytest.raises(InvalidArgumentError, match=match) as info:
        reading.produce(connection=conn, **kwargs)  # type: ignore[arg-type]
    assert type(info.value) is error
    assert info.value.argument == next(iter(kwargs))
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, TypeError) == (error is ArgumentTypeError)


def test_unknown_option_is_a_type_error_naming_the_closest(conn: Connection) -> None:
    reading = model_for(f"args-{uuid.uuid4().hex}")(sensor="s", value=0.0)
    with pytest.raises(
        ArgumentTypeError, match=r"unexpected keyword argument 'kye' \(did you mean 'key'\?\)"
    ) as info:
        reading.produce(kye="s-1", connection=conn)  # type: ignore[call-arg]
    assert isinstance(info.value, TypeError) and info.value.argument == "kye"
    with pytest.raises(TypeError, match="'timeout'"):
        reading.produce_nowait(timeout=1.0, connection=conn)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'callback'"):
        reading.produce(callback=print, connection=conn)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'key'"):
        type(reading).produce_many([reading], key="x", connection=conn)  # type: ignore[call-arg]
    with pytest.raises(ArgumentTypeError, match=r"'kye' \(did you mean 'key'\?\)"):
        asyncio.run(reading.aproduce(kye="s-1", connection=conn))  # type: ignore[call-arg]
    with pytest.raises(ArgumentTypeError, match=r"'key' \(did you mean 'keys'\?\)"):
        asyncio.run(
            type(reading).aproduce_many([reading], key="x", connection=conn)  # type: ignore[call-arg]
        )


def test_non_positive_timeout_is_refused(conn: Connection) -> None:
    reading = model_for(f"args-{uuid.uuid4().hex}")(sensor="s", value=0.0)
    with pytest.raises(InvalidArgumentError, match="timeout must be a positive number"):
        reading.produce(timeout=0, connection=conn)
    with pytest.raises(InvalidArgumentError, match="got inf"):
        reading.produce(timeout=float("inf"), connection=conn)  # never ending is a hang
    with pytest.raises(ArgumentTypeError, match="timeout must be a positive number"):
        reading.produce(timeout="5", connection=conn)  # type: ignore[arg-type]


def test_serialization_error_propagates_as_ours(conn: Connection) -> None:
    reading_cls = model_for(f"ser-{uuid.uuid4().hex}")
    broken = reading_cls.model_construct(sensor="s", value="not a float")  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match="Reading"):
        broken.produce(connection=conn)


@pytest.mark.timeout(30)  # hang guard: confluent's client alone would wait forever
@pytest.mark.parametrize("registry", ["refusing", "black-holed"])
def test_registry_down_is_a_schema_registry_error(sandbox: Sandbox, registry: str) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        if registry == "black-holed":
            silent.listen(8)  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        # Default registry timeouts: a silent registry fails after 2 attempts of 2 s.
        settings = build_config(
            bootstrap_servers=sandbox.bootstrap_servers, schema_registry_url=url
        )
        with Connection(settings) as connection:
            reading = model_for(f"noreg-{uuid.uuid4().hex}")(sensor="s", value=0.0)
            with pytest.raises(SchemaRegistryError) as info:
                reading.produce(connection=connection)
            if registry == "refusing":
                with pytest.raises(SchemaRegistryError):
                    asyncio.run(reading.aproduce(connection=connection))

    assert info.value.url == url
    assert info.value.subject == f"{reading.flow_settings().topic}-value"
    assert url in str(info.value) and info.value.subject in str(info.value)
    if registry == "black-holed":
        assert "no answer within 2 s per attempt (2 attempts" in str(info.value)


def test_produce_to_a_dead_broker_times_out_and_says_it_may_be_written(
    dead_conn: Connection,
) -> None:
    reading = model_for(f"dead-{uuid.uuid4().hex}")(sensor="s-1", value=0.0)
    with pytest.raises(DeliveryTimeoutError, match="may have been written") as info:
        reading.produce(timeout=1, connection=dead_conn)
    assert info.value.kafka_error is not None
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

    # The test checks at run time what the signature says: nothing is returned.
    assert (
        model_for(topic)(sensor="s", value=1.0).produce_nowait(  # type: ignore[func-returns-value]
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


def test_fenced_report_replaces_the_shared_producer_once(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    shared = conn.producer
    serving = len(pollers())
    report = reports_module.NowaitReport(None, shared)
    report(KafkaError(KafkaError.PRODUCER_FENCED, "fenced"), Message(topic=topic))

    fresh = reports_module.shared_producer(conn)

    assert fresh is not shared
    assert conn.producer is fresh
    assert reports_module.shared_producer(conn) is fresh  # replaced once per broken producer
    assert conn.replace_producer(shared) is fresh  # no longer current: nothing happens
    wait_until(lambda: len(pollers()) == serving, "the idle old producer to be closed")
    with pytest.raises(RuntimeError, match="closed"):
        shared.produce(topic, b"x")
    result = model_for(topic)(sensor="s", value=1.0).produce(connection=conn)
    assert (result.topic, result.offset) == (topic, 0)


def test_replaced_producer_still_reports_what_was_queued_on_it(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    settings = build_config(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={"linger.ms": 1000},  # keeps the messages queued on the old producer
    )
    reports: list[tuple[KafkaError | None, bytes | None, str]] = []
    all_reported = threading.Event()

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        reports.append((err, msg.key(), threading.current_thread().name))
        if len(reports) == 3:
            all_reported.set()

    with Connection(settings) as connection:
        reading_cls = model_for(topic)
        old = connection.producer
        serving = len(pollers())
        for i in range(3):
            reading_cls(sensor=f"s-{i}", value=0.0).produce_nowait(
                callback=on_delivery, connection=connection
            )
        assert len(old) == 3

        new = connection.replace_producer(old)

        assert new is not old and connection.producer is new
        assert all_reported.wait(30)
        wait_until(lambda: len(pollers()) == serving, "the drained old producer to be closed")
        reading_cls(sensor="after", value=0.0).produce(connection=connection)

    assert sorted(reports, key=str) == [
        (None, f"s-{i}".encode(), "flowodm-poller") for i in range(3)
    ]
    keys = {m.key() for m in consume_all(sandbox.bootstrap_servers, topic, 4)}
    assert keys == {b"s-0", b"s-1", b"s-2", b"after"}


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


def test_produce_waits_for_its_own_message_only(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    topic = make_topic()
    settings = build_config(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
        # A message to a missing topic then waits ~30 s for it to appear instead of creating it.
        producer_config={"allow.auto.create.topics": False},
    )
    stuck_reports: list[KafkaError | None] = []
    with Connection(settings) as connection:
        stuck = model_for(f"missing-{uuid.uuid4().hex}")(sensor="stuck", value=0.0)
        stuck.produce_nowait(
            callback=lambda err, msg: stuck_reports.append(err), connection=connection
        )
        reading_cls = model_for(topic)

        blocking = reading_cls(sensor="a", value=1.0).produce(connection=connection)
        awaited = asyncio.run(reading_cls(sensor="b", value=2.0).aproduce(connection=connection))

        # Both returned with their own acknowledgement while the other message still waits:
        # neither flushed the shared producer.
        assert (blocking.offset, awaited.offset) == (0, 1)
        assert len(connection.producer) == 1
        assert stuck_reports == []
        left = connection.close(0)

    assert left == 1
    assert [err.code() for err in stuck_reports if err is not None] == [KafkaError._PURGE_QUEUE]


def test_produce_nowait_waits_out_a_full_queue(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    topic = make_topic()
    settings = build_config(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={"queue.buffering.max.messages": 2},
    )
    reports: list[KafkaError | None] = []
    reading_cls = model_for(topic)
    with Connection(settings) as connection:
        for i in range(30):  # 15 times the queue: most calls meet a full queue and wait
            reading_cls(sensor=f"s-{i}", value=float(i)).produce_nowait(
                callback=lambda err, msg: reports.append(err), connection=connection
            )
        assert connection.producer.flush(30) == 0

    assert reports == [None] * 30
    assert len(consume_all(sandbox.bootstrap_servers, topic, 30)) == 30


class Color(str, Enum):  # noqa: UP042 - the spelling most users write
    RED = "red"
    BLUE = "blue"


class PaintFields(FlowBaseModel):
    """The fields of ``paint_model``'s models, so that they are typed."""

    color: Color
    label: str


def paint_model(topic_name: str) -> type[PaintFields]:
    """A model keyed by a ``str`` Enum field."""

    class Paint(PaintFields):
        class Settings:
            topic = topic_name
            key_field = "color"

    return Paint


def test_keys_on_the_wire(conn: Connection, sandbox: Sandbox, make_topic: TopicFactory) -> None:
    topic = make_topic()
    paint_cls = paint_model(topic)

    paint_cls(color=Color.RED, label="a").produce(connection=conn)
    paint_cls(color=Color.BLUE, label="b").produce(key="grüße ✓", connection=conn)
    paint_cls.produce_many([paint_cls(color=Color.BLUE, label="c")], connection=conn)

    keys = sorted(m.key() or b"" for m in consume_all(sandbox.bootstrap_servers, topic, 3))
    assert keys == sorted([b"red", "grüße ✓".encode(), b"blue"])
