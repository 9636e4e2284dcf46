"""Group consumption against the sandbox: round trips, commits, errors, async.

Each test has its own topic and group. Commits are read back from the broker (``committed``),
never inferred from FlowODM's own state.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from pydantic import field_validator

from flowodm.exceptions import (
    ConsumerError,
    DeserializationError,
    InvalidArgumentError,
    SettingsError,
)
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory
from tests.consume.helpers import committed, new_group
from tests.consume.models import OrderFields, Status, order_model, orders

pytestmark = pytest.mark.integration

JOIN = 15.0  # first fetch of a new group member: the join takes about 3 s on Tansu


def test_consume_iter_round_trips_every_message_of_three_partitions(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    order = order_model(topic, new_group())
    sent = orders(order, 60)
    order.produce_many(sent, connection=conn)

    got = list(order.consume_iter(timeout=JOIN, max_messages=60, connection=conn))

    assert sorted(got, key=lambda o: o.quantity) == sent
    assert all(type(o) is order for o in got)


def test_consumed_message_carries_key_headers_and_coordinates(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    order = order_model(topic)
    (first,) = orders(order, 1, start=7)
    result = first.produce(headers=[("trace", b"abc")], connection=conn)

    with order.consumer(group_id=new_group(), connection=conn) as consumer:
        message = consumer.one(timeout=JOIN)

    assert message is not None
    assert message.value == first
    assert message.key == "o-7"
    assert message.headers == [("trace", b"abc")]
    assert (message.topic, message.partition, message.offset) == (topic, 0, result.offset)
    assert message.timestamp is not None and message.timestamp.tzinfo is not None
    assert message.timestamp_type == "create_time"
    assert message.raw_value is not None and message.raw_value[0] == 0  # Confluent framing
    assert not message.is_tombstone


def test_tombstones_are_handed_out_by_the_consumer_and_skipped_by_the_model_calls(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    order = order_model(topic)
    (live,) = orders(order, 1)
    producer = conn.producer
    live.produce(connection=conn)
    producer.produce(topic, value=None, key=b"o-0")
    producer.flush(10)
    (after,) = orders(order, 1, start=1)
    after.produce(connection=conn)

    with order.consumer(group_id=new_group(), connection=conn) as consumer:
        seen = list(consumer.iter(max_messages=3, timeout=JOIN))
    assert [m.value for m in seen] == [live, None, after]
    assert seen[1].is_tombstone and seen[1].key == "o-0"

    models = list(order.consume_iter(timeout=5, group_id=new_group(), connection=conn))
    assert models == [live, after]


def test_after_processing_commits_what_the_next_fetch_confirms_and_no_more(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 10), connection=conn)

    consumer = order.consumer(connection=conn)
    first = consumer.batch(4, timeout=JOIN)
    assert [m.offset for m in first] == [0, 1, 2, 3]
    second = consumer.batch(3, timeout=5)  # the first batch counts as processed now
    assert [m.offset for m in second] == [4, 5, 6]
    consumer.close()  # the second batch was handed out, never confirmed

    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 4}
    again = order.consumer(connection=conn)
    assert [m.offset for m in again.batch(3, timeout=JOIN)] == [4, 5, 6]  # re-delivered
    again.close()


def test_leaving_a_with_block_cleanly_commits_everything_handed_out(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 5), connection=conn)

    with order.consumer(connection=conn) as consumer:
        assert len(consumer.batch(5, timeout=JOIN)) == 5
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 5}


def test_an_exception_in_the_with_block_commits_only_confirmed_messages(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 6), connection=conn)

    with pytest.raises(RuntimeError), order.consumer(connection=conn) as consumer:
        consumer.batch(2, timeout=JOIN)
        consumer.batch(2, timeout=5)  # confirms the first two
        raise RuntimeError("handler crashed")
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 2}


def test_breaking_out_of_iter_loses_nothing_of_the_fetched_batch(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 20), connection=conn)

    consumer = order.consumer(connection=conn)
    for message in consumer.iter(timeout=JOIN):
        if message.offset == 4:
            break
    # The rest of the fetched batch was not handed out: the next call starts right after.
    rest = consumer.batch(15, timeout=5)
    assert [m.offset for m in rest] == list(range(5, 20))
    consumer.commit()
    consumer.close()
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 20}


def test_before_processing_commits_on_hand_out(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 3), connection=conn)

    consumer = order.consumer(commit="before_processing", connection=conn)
    assert len(consumer.batch(3, timeout=JOIN)) == 3
    consumer.close()  # nothing confirmed, yet at-most-once already stored them
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 3}


def test_manual_commits_only_what_was_marked(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 6), connection=conn)

    consumer = order.consumer(commit="manual", connection=conn)
    batch = consumer.batch(6, timeout=JOIN)
    consumer.batch(1, timeout=0.5)  # fetching again confirms nothing under "manual"
    consumer.commit(batch[2])
    consumer.close()
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 3}


def test_model_calls_continue_where_the_last_one_stopped(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    sent = orders(order, 7)
    order.produce_many(sent, connection=conn)

    first = order.consume_one(timeout=JOIN, connection=conn)
    batch = order.consume_batch(4, timeout=5, connection=conn)
    rest = list(order.consume_iter(timeout=2, connection=conn))
    assert [first, *batch, *rest] == sent
    order.commit(connection=conn)
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 7}


def test_a_poison_message_is_raised_with_its_coordinates_after_the_good_ones(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    order = order_model(topic)
    good = orders(order, 3)
    good[0].produce(connection=conn)
    conn.producer.produce(topic, value=b"\x00\x00\x00\x00\x01garbage")  # schema id 1, bad body
    conn.producer.produce(topic, value=b"not framed at all")
    conn.producer.flush(10)
    good[1].produce(connection=conn)

    consumer = order.consumer(group_id=new_group(), connection=conn)
    assert [m.value for m in consumer.batch(4, timeout=JOIN)] == [good[0]]
    with pytest.raises(DeserializationError) as first_bad:
        consumer.batch(4, timeout=5)
    assert (first_bad.value.topic, first_bad.value.partition, first_bad.value.offset) == (
        topic,
        0,
        1,
    )
    assert f"{topic}[0]@1" in str(first_bad.value)
    with pytest.raises(DeserializationError, match="magic byte") as second_bad:
        consumer.one(timeout=5)
    assert second_bad.value.offset == 2
    assert [m.value for m in consumer.batch(4, timeout=5)] == [good[1]]  # carries on after
    consumer.close()


def test_a_record_that_does_not_validate_names_the_field(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic_name = make_topic()
    order = order_model(topic_name)

    class Positive(OrderFields):
        class Settings:
            topic = topic_name
            record_name = "Order"  # the writer's name: Avro resolution matches records by name

        @field_validator("quantity")
        @classmethod
        def positive(cls, value: int) -> int:
            if value <= 0:
                raise ValueError("quantity must be positive")
            return value

    order.produce_many(orders(order, 2), connection=conn)  # quantity 0 and 1
    consumer = Positive.consumer(group_id=new_group(), connection=conn)
    with pytest.raises(DeserializationError) as bad:
        consumer.one(timeout=JOIN)
    assert bad.value.field == "quantity"
    assert bad.value.offset == 0
    assert "quantity must be positive" in str(bad.value)
    message = consumer.one(timeout=5)
    assert message is not None and message.value is not None and message.value.quantity == 1
    consumer.close()


def test_a_reader_record_of_another_name_is_told_to_set_record_name(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic_name = make_topic()
    order = order_model(topic_name)

    class Renamed(OrderFields):
        class Settings:
            topic = topic_name

    order.produce_many(orders(order, 1), connection=conn)
    consumer = Renamed.consumer(group_id=new_group(), connection=conn)
    with pytest.raises(DeserializationError, match="record_name = 'Order'"):
        consumer.one(timeout=JOIN)
    consumer.close()


def test_missing_group_and_bad_arguments_are_named(
    conn: Connection, make_topic: TopicFactory
) -> None:
    order = order_model(make_topic())
    with pytest.raises(SettingsError, match="consumer_group"):
        order.consumer(connection=conn)
    with pytest.raises(InvalidArgumentError) as bad:
        order.consumer(group_id="g", commit="sometimes", connection=conn)  # type: ignore[arg-type]
    assert bad.value.argument == "commit"
    consumer = order.consumer(group_id="g", connection=conn)
    with pytest.raises(InvalidArgumentError) as count:
        consumer.batch(0)
    assert count.value.argument == "n"
    consumer.close()
    with pytest.raises(ConsumerError, match="closed"):
        consumer.one()


def test_an_unknown_topic_is_an_error_not_an_empty_result(conn: Connection) -> None:
    order = order_model("no-such-topic-flowodm")
    consumer = order.consumer(
        group_id=new_group(), consumer_config={"allow.auto.create.topics": False}, connection=conn
    )
    with pytest.raises(ConsumerError, match="no-such-topic-flowodm"):
        consumer.batch(1, timeout=JOIN)
    consumer.close()


def test_aconsume_never_blocks_the_event_loop(conn: Connection, make_topic: TopicFactory) -> None:
    topic = make_topic()
    order = order_model(topic, new_group())
    sent = orders(order, 3)
    order.produce_many(sent, connection=conn)

    async def main() -> tuple[int, list[OrderFields], OrderFields | None]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        tick_task = asyncio.create_task(ticker())
        first = await order.aconsume_one(timeout=JOIN, connection=conn)
        rest = [m async for m in order.aconsume_iter(timeout=2, connection=conn)]
        started = ticks
        nothing = await order.aconsume_one(timeout=1.0, connection=conn)
        waited = ticks - started
        tick_task.cancel()
        assert first is not None
        return waited, [first, *rest], nothing

    waited, got, nothing = asyncio.run(main())
    assert got == sent
    assert nothing is None
    assert waited >= 12  # a 1 s wait let the 50 ms ticker run (0 ticks if it blocked)


def test_aconsume_batch_returns_models(conn: Connection, make_topic: TopicFactory) -> None:
    topic = make_topic()
    order = order_model(topic, new_group())
    sent = orders(order, 4)
    order.produce_many(sent, connection=conn)

    async def main() -> list[OrderFields]:
        found: list[OrderFields] = []
        deadline = time.monotonic() + JOIN
        while len(found) < 4 and time.monotonic() < deadline:
            found += await order.aconsume_batch(4, timeout=1.0, connection=conn)
        return found

    assert asyncio.run(main()) == sent


def test_closing_the_connection_closes_its_consumers(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    from flowodm.kafka.config import build_config
    from tests.consume.conftest import FAST_GROUPS

    connection = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
            consumer_config=FAST_GROUPS,
        )
    )
    order = order_model(make_topic(), new_group())
    consumer = order.consumer(connection=connection)
    consumer.batch(1, timeout=0.2)
    connection.close(5)
    assert consumer.closed
    assert Status.NEW.value == "new"


def test_a_rebalance_commits_what_was_processed_before_the_partition_moves(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 8), connection=conn)
    # No periodic commit within the test: only the revocation can commit.
    rare = {"auto.commit.interval.ms": 600_000}
    first = order.consumer(consumer_config=rare, connection=conn)
    assert len(first.batch(5, timeout=JOIN)) == 5
    first.batch(1, timeout=0.2)  # confirms the five
    assert committed(sandbox.bootstrap_servers, group, topic) == {}

    second = order.consumer(consumer_config=rare, connection=conn)
    joined = threading.Thread(target=second.batch, args=(1,), kwargs={"timeout": JOIN})
    joined.start()
    deadline = time.monotonic() + JOIN
    while joined.is_alive() and time.monotonic() < deadline:
        first.batch(1, timeout=0.2)  # takes part in the rebalance
    joined.join()
    assert committed(sandbox.bootstrap_servers, group, topic).get(0, 0) >= 5
    first.close()
    second.close()
