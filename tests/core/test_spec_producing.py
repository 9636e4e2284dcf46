"""Every code block of the "Producing Messages" page, run against the sandbox.

Each block is copied as written; only the connection string (the sandbox's broker and
registry) and the topic name (unique per test) are adapted. The assertions check what the
page's prose promises. Blocks that continue an earlier one (``order.produce_nowait()`` …)
run after the block that defines ``order``, as they would on the page.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from flowodm.kafka.clients import FlowProducer
from flowodm.kafka.connection import disconnect, get_connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.core.helpers import dead_address
from tests.core.registry_spy import RequestLog

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _disconnect_after() -> Iterator[None]:
    yield
    disconnect(5)


def by_key(messages: list[Message]) -> dict[bytes | None, Message]:
    return {m.key(): m for m in messages}


def test_blocking_production(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    orders_topic = make_topic(partitions=3)

    # --- page block: Blocking Production
    from datetime import datetime  # noqa: F401 - as on the page

    from flowodm import FlowBaseModel, connect

    connect(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
    )

    class OrderEvent(FlowBaseModel):
        class Settings:
            topic = orders_topic
            key_field = "order_id"

        order_id: str
        amount: float

    order = OrderEvent(order_id="ORD-001", amount=99.99)
    result = order.produce()  # Blocks until acknowledged
    # --- end of block

    # Acknowledged before returning: the broker assigned an offset, and the message is there.
    assert (result.topic, result.key) == (orders_topic, b"ORD-001")
    assert result.offset == 0
    assert result.partition in (0, 1, 2)
    (message,) = consume_all(sandbox.bootstrap_servers, orders_topic, 1)
    assert (message.partition(), message.offset()) == (result.partition, result.offset)
    assert OrderEvent.deserialize(message.value() or b"") == order

    # --- page block: Non-Blocking Production (continues with the same ``order``)
    order.produce_nowait()  # Returns immediately

    # Flush all pending messages
    from flowodm import get_producer

    remaining = get_producer().flush()
    # --- end of block

    assert remaining == 0
    messages = consume_all(sandbox.bootstrap_servers, orders_topic, 2)
    assert [m.key() for m in messages] == [b"ORD-001", b"ORD-001"]


def test_asynchronous_production(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    orders_topic = make_topic()
    results = []

    # --- page block: Asynchronous Production
    import asyncio

    from flowodm import FlowBaseModel, connect

    connect(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
    )

    class OrderEvent(FlowBaseModel):
        class Settings:
            topic = orders_topic

        order_id: str
        amount: float

    async def main() -> None:
        order = OrderEvent(order_id="ORD-001", amount=99.99)
        results.append(await order.aproduce())

    asyncio.run(main())
    # --- end of block

    (result,) = results
    assert (result.topic, result.partition, result.offset, result.key) == (
        orders_topic,
        0,
        0,
        None,
    )
    (message,) = consume_all(sandbox.bootstrap_servers, orders_topic, 1)
    assert message.key() is None
    assert OrderEvent.deserialize(message.value() or b"") == OrderEvent(
        order_id="ORD-001", amount=99.99
    )


def test_message_keys(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    orders_topic = make_topic(partitions=3)
    from flowodm import FlowBaseModel, connect

    connect(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
    )

    # --- page block: Using key_field Setting
    class OrderEvent(FlowBaseModel):
        class Settings:
            topic = orders_topic
            key_field = "order_id"  # Use this field as key

        order_id: str
        amount: float

    # order_id value is automatically used as the message key
    order = OrderEvent(order_id="ORD-001", amount=99.99)
    by_field = order.produce()
    # --- page block: Explicit Key
    order = OrderEvent(order_id="ORD-001", amount=99.99)
    explicit = order.produce(key="custom-key")
    # --- end of blocks

    assert (by_field.key, explicit.key) == (b"ORD-001", b"custom-key")
    messages = by_key(consume_all(sandbox.bootstrap_servers, orders_topic, 2))
    assert set(messages) == {b"ORD-001", b"custom-key"}
    assert messages[b"ORD-001"].partition() == by_field.partition
    assert messages[b"custom-key"].partition() == explicit.partition


def test_delivery_callbacks(
    sandbox: Sandbox, make_topic: TopicFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    orders_topic = make_topic(partitions=3)
    from flowodm import FlowBaseModel, connect, get_producer

    connect(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
    )

    class OrderEvent(FlowBaseModel):
        class Settings:
            topic = orders_topic
            key_field = "order_id"

        order_id: str
        amount: float

    order = OrderEvent(order_id="ORD-001", amount=99.99)

    # --- page block: Delivery Callbacks
    def on_delivery(err, msg):  # type: ignore[no-untyped-def]
        if err is not None:
            print(f"Delivery failed: {err}")
        else:
            print(f"Message delivered to {msg.topic()}/{msg.partition()}")

    order.produce_nowait(callback=on_delivery)
    # --- end of block

    assert get_producer().flush(30) == 0
    (message,) = consume_all(sandbox.bootstrap_servers, orders_topic, 1)
    assert capsys.readouterr().out == (
        f"Message delivered to {orders_topic}/{message.partition()}\n"
    )

    # The same callback on a failed delivery: a broker that is not there, a short timeout.
    connect(
        bootstrap_servers=dead_address(),
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={"message.timeout.ms": 500},
    )
    order.produce_nowait(callback=on_delivery)
    assert get_producer().flush(30) == 0
    assert capsys.readouterr().out.startswith("Delivery failed: KafkaError{code=_MSG_TIMED_OUT")


def test_batch_production(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    orders_topic = make_topic(partitions=3)
    from flowodm import FlowBaseModel, connect

    connect(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
    )

    class OrderEvent(FlowBaseModel):
        class Settings:
            topic = orders_topic
            key_field = "order_id"

        order_id: str
        amount: float

    # --- page block: Batch Production
    from flowodm import get_producer

    orders = [OrderEvent(order_id=f"ORD-{i:03d}", amount=float(i * 10)) for i in range(1000)]

    for order in orders:
        order.produce()  # Non-blocking

    # Flush all pending messages
    remaining = get_producer().flush()
    # --- end of block

    assert remaining == 0
    messages = by_key(consume_all(sandbox.bootstrap_servers, orders_topic, 1000, linger=0.5))
    assert len(messages) == 1000
    assert OrderEvent.deserialize(messages[b"ORD-042"].value() or b"") == orders[42]


def test_producer_configuration(
    sandbox: Sandbox, make_topic: TopicFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders_topic = make_topic()
    from flowodm import FlowBaseModel, connect

    built: list[dict[str, object]] = []  # the config of every producer librdkafka accepted

    def recording_init(self: FlowProducer, config: dict[str, object]) -> None:
        Producer.__init__(self, config)
        built.append(dict(config))

    monkeypatch.setattr(FlowProducer, "__init__", recording_init)

    # --- page block: Producer Configuration
    connect(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={
            "acks": "all",
            "retries": 3,
            "linger.ms": 10,
            "batch.size": 16384,
            "compression.type": "snappy",
        },
    )
    # --- end of block

    page_config = {
        "acks": "all",
        "retries": 3,
        "linger.ms": 10,
        "batch.size": 16384,
        "compression.type": "snappy",
    }
    # connect() built the shared producer with the page's settings over FlowODM's defaults.
    (shared,) = built
    assert {k: shared[k] for k in page_config} == page_config
    assert shared["enable.idempotence"] is True
    assert shared["message.timeout.ms"] == 30_000

    class OrderEvent(FlowBaseModel):
        class Settings:
            topic = orders_topic

        order_id: str
        amount: float

    OrderEvent(order_id="ORD-001", amount=1.0).produce()
    OrderEvent.produce_many([OrderEvent(order_id=f"ORD-{i}", amount=1.0) for i in range(10)])
    assert len(consume_all(sandbox.bootstrap_servers, orders_topic, 11, linger=0.5)) == 11
    # The bulk producer of produce_many got the page's settings too.
    bulk = [config for config in built if config.get("delivery.report.only.error")]
    assert bulk and all({k: b[k] for k in page_config} == page_config for b in bulk)


def test_wire_format_header_and_schema_id_cache(
    sandbox: Sandbox, make_topic: TopicFactory, registry_client: SchemaRegistryClient
) -> None:
    orders_topic = make_topic()
    from flowodm import FlowBaseModel, connect

    connect(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
    )
    registry = get_connection().registry
    assert registry is not None
    log = RequestLog(registry)

    class OrderEvent(FlowBaseModel):
        class Settings:
            topic = orders_topic
            key_field = "order_id"

        order_id: str
        amount: float

    for i in range(20):
        OrderEvent(order_id=f"ORD-{i}", amount=1.0).produce()
    OrderEvent(order_id="ORD-nowait", amount=1.0).produce_nowait()
    asyncio.run(OrderEvent(order_id="ORD-async", amount=1.0).aproduce())
    assert get_connection().producer.flush(30) == 0

    # Only the first serialization talked to the registry (one registration).
    assert log.requests == [f"POST /subjects/{orders_topic}-value/versions"]
    expected_id = registry_client.get_latest_version(f"{orders_topic}-value").schema_id
    for message in consume_all(sandbox.bootstrap_servers, orders_topic, 22):
        value = message.value() or b""
        magic, schema_id = struct.unpack(">bI", value[:5])
        assert (magic, schema_id) == (0, expected_id)


def test_wire_format_can_be_disabled(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    import io

    import fastavro

    orders_topic = make_topic()
    from flowodm import FlowBaseModel, connect

    connect(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
    )

    class RawOrder(FlowBaseModel):
        class Settings:
            topic = orders_topic
            confluent_wire_format = False

        order_id: str
        amount: float

    RawOrder(order_id="ORD-001", amount=0.0).produce()
    (message,) = consume_all(sandbox.bootstrap_servers, orders_topic, 1)
    value = message.value() or b""
    parsed = fastavro.parse_schema(RawOrder.avro_schema())
    buffer = io.BytesIO(value)
    assert fastavro.schemaless_reader(buffer, parsed) == {"order_id": "ORD-001", "amount": 0.0}
    assert buffer.tell() == len(value)  # no header: the body is the whole value


def test_error_handling(
    sandbox: Sandbox, make_topic: TopicFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    orders_topic = make_topic()
    from flowodm import FlowBaseModel, connect

    connect(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
    )

    class OrderEvent(FlowBaseModel):
        class Settings:
            topic = orders_topic
            key_field = "order_id"

        order_id: str
        amount: float

    # Larger than librdkafka's message.max.bytes (1 MB): Kafka refuses it.
    order = OrderEvent(order_id="X" * 2_000_000, amount=1.0)
    caught = None

    # --- page block: Error Handling
    from flowodm.exceptions import ProducerError

    try:
        order.produce()
    except ProducerError as e:
        print(f"Failed to produce message: {e}")
        # Handle error: retry, log, alert, etc.
        caught = e
    # --- end of block

    assert caught is not None and caught.kafka_error is not None
    assert caught.kafka_error.code() == KafkaError.MSG_SIZE_TOO_LARGE
    assert caught.topic == orders_topic
    out = capsys.readouterr().out
    assert out.startswith("Failed to produce message: Kafka refused the message for ")
    assert "MSG_SIZE_TOO_LARGE" in out


def test_error_handling_when_the_broker_is_down(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = dead_address()
    from flowodm import FlowBaseModel, connect

    # Nothing listens at ``dead``; a short message timeout keeps the test quick.
    connect(
        bootstrap_servers=dead,
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={"message.timeout.ms": 1500},
        produce_timeout=10,
    )

    class OrderEvent(FlowBaseModel):
        class Settings:
            topic = "orders-nowhere"

        order_id: str
        amount: float

    order = OrderEvent(order_id="ORD-001", amount=99.99)
    caught = None

    # --- page block: Error Handling
    from flowodm.exceptions import ProducerError

    try:
        order.produce()
    except ProducerError as e:
        print(f"Failed to produce message: {e}")
        caught = e
    # --- end of block

    assert caught is not None and caught.kafka_error is not None
    assert caught.kafka_error.code() == KafkaError._MSG_TIMED_OUT
    assert "it was not written" in capsys.readouterr().out  # no broker: nothing was sent
