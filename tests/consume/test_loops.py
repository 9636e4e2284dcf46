"""Consumer loops against the sandbox: commits, failures, dead letters, signals, crashes."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Message

from flowodm.consume.loops import AsyncConsumerLoop, ConsumerLoop, consumer_loop
from flowodm.consume.profiles import LongRunningSettings
from flowodm.exceptions import ArgumentTypeError, ConsumerError, InvalidArgumentError
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.consume.helpers import committed, new_group
from tests.consume.models import OrderFields, order_model, orders

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WAIT = 30.0


def wait_for(condition: Any, loop: ConsumerLoop[Any] | None = None) -> None:
    """Wait until ``condition()``; a ``loop`` that ended meanwhile re-raises what ended it."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if loop is not None and not loop.running and time.monotonic() > deadline - WAIT + 1:
            loop.join(1)  # raises the loop's error, if any
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_a_loop_on_a_thread_stops_and_commits_what_it_handled(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    group = new_group()
    order = order_model(topic, group)
    sent = orders(order, 30)
    order.produce_many(sent, connection=conn)
    seen: list[OrderFields] = []
    events: list[str] = []

    loop = ConsumerLoop(
        order,
        seen.append,
        on_startup=lambda: events.append("start"),
        on_shutdown=lambda: events.append("stop"),
        poll_timeout=0.2,
        connection=conn,
    )
    thread = loop.start()
    wait_for(lambda: len(seen) == 30, loop)
    loop.stop()
    loop.join(10)

    assert not thread.is_alive()
    assert sorted(seen, key=lambda o: o.quantity) == sent
    assert events == ["start", "stop"]
    assert loop.stats.processed == 30
    by_partition = committed(sandbox.bootstrap_servers, group, topic, partitions=2)
    assert sum(by_partition.values()) == 30


def test_a_poison_message_goes_to_the_dead_letter_topic_and_the_error_handler(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic, dead = make_topic(), make_topic(prefix="dlq")
    group = new_group()
    order = order_model(topic, group)
    good = orders(order, 2)
    good[0].produce(connection=conn)
    conn.producer.produce(
        topic, value=b"\x00\x00\x00\x00\x09junk", key=b"bad", headers=[("h", b"1")]
    )
    conn.producer.flush(10)
    good[1].produce(connection=conn)
    failures: list[tuple[Exception, Message, Any]] = []
    seen: list[OrderFields] = []

    loop = ConsumerLoop(
        order,
        seen.append,
        error_handler=lambda exc, msg, instance: failures.append((exc, msg, instance)),
        dead_letter_topic=dead,
        poll_timeout=0.2,
        connection=conn,
    )
    loop.start()
    wait_for(lambda: len(seen) == 2, loop)
    loop.stop()
    loop.join(10)

    assert seen == good
    ((exc, msg, instance),) = failures
    assert instance is None and msg.offset() == 1
    assert getattr(exc, "offset", None) == 1
    (letter,) = consume_all(sandbox.bootstrap_servers, dead, 1)
    assert letter.value() == b"\x00\x00\x00\x00\x09junk"
    assert letter.key() == b"bad"
    headers = dict(letter.headers() or [])
    assert headers["h"] == b"1"
    assert headers["flowodm.error.topic"] == topic.encode()
    assert headers["flowodm.error.offset"] == b"1"
    assert headers["flowodm.error.partition"] == b"0"
    assert headers["flowodm.error.group"] == group.encode()
    assert headers["flowodm.error.type"] == b"DeserializationError"
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 3}
    assert loop.stats.dead_lettered == 1 and loop.stats.failed == 1


def test_an_unhandled_failure_stops_the_loop_and_leaves_the_message_uncommitted(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 5), connection=conn)

    def handler(model: OrderFields) -> None:
        if model.quantity == 3:
            raise RuntimeError("cannot bill order 3")

    loop = ConsumerLoop(order, handler, max_retries=1, retry_delay=0.01, connection=conn)
    loop.start()
    with pytest.raises(ConsumerError, match=r"@3: RuntimeError: cannot bill order 3") as stopped:
        loop.join(WAIT)
    assert "after 2 attempt(s)" in str(stopped.value)
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 3}


def test_retries_call_the_handler_again_before_giving_up(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    order = order_model(topic, new_group())
    order.produce_many(orders(order, 1), connection=conn)
    attempts: list[float] = []

    def flaky(model: OrderFields) -> None:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise ConnectionError("billing service down")

    loop = ConsumerLoop(order, flaky, max_retries=2, retry_delay=0.2, connection=conn)
    loop.start()
    wait_for(lambda: loop.stats.processed == 1, loop)
    loop.stop()
    loop.join(10)
    assert len(attempts) == 3
    assert attempts[2] - attempts[1] >= 0.19


def test_bad_loop_arguments_are_named(conn: Connection, make_topic: TopicFactory) -> None:
    order = order_model(make_topic(), "g")
    with pytest.raises(InvalidArgumentError) as bad:
        ConsumerLoop(order, print, commit_strategy="per_message", connection=conn)  # type: ignore[arg-type]
    assert bad.value.argument == "commit_strategy"
    with pytest.raises(InvalidArgumentError) as retries:
        ConsumerLoop(order, print, max_retries=-1, connection=conn)
    assert retries.value.argument == "max_retries"
    with pytest.raises(ArgumentTypeError) as handler:
        ConsumerLoop(order, "print", connection=conn)  # type: ignore[arg-type]
    assert handler.value.argument == "handler"
    with pytest.raises(InvalidArgumentError) as concurrency:
        AsyncConsumerLoop(order, print, max_concurrent=0, connection=conn)
    assert concurrency.value.argument == "max_concurrent"


def test_the_decorator_returns_a_loop(conn: Connection, make_topic: TopicFactory) -> None:
    order = order_model(make_topic(), "g")

    @consumer_loop(order, LongRunningSettings(), connection=conn)
    def handle(model: OrderFields) -> None:
        del model

    assert isinstance(handle, ConsumerLoop)
    assert handle.group_id == "g"


def test_sigterm_stops_a_loop_cleanly_commits_and_restores_the_handler(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 3), connection=conn)
    out = tmp_path / "seen.txt"

    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.consume.loop_child",
            "sigterm",
            sandbox.bootstrap_servers,
            sandbox.schema_registry_url,
            topic,
            group,
            str(out),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    wait_for(lambda: out.exists() and len(out.read_text().split()) == 3)
    child.send_signal(signal.SIGTERM)
    output, _ = child.communicate(timeout=WAIT)

    assert child.returncode == 0
    assert "restored" in output.split()
    assert "stats 3" in output
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 3}


def test_a_crash_between_processing_and_commit_redelivers_and_loses_nothing(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    sent = orders(order, 12)
    order.produce_many(sent, connection=conn)
    out = tmp_path / "processed.txt"

    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.consume.loop_child",
            "crash",
            sandbox.bootstrap_servers,
            sandbox.schema_registry_url,
            topic,
            group,
            str(out),
        ],
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL
    before_crash = out.read_text().split()
    assert before_crash == [f"o-{i}" for i in range(5)]

    # The group's next member starts from the last commit: the fifth message (processed, never
    # confirmed) comes again, and every message is processed at least once.
    after: list[str] = []
    with order.consumer(connection=conn) as consumer:
        for message in consumer.iter(timeout=40):
            assert message.value is not None
            after.append(message.value.order_id)
            if message.value.order_id == "o-11":
                break
    assert "o-4" in after
    assert set(before_crash) | set(after) == {o.order_id for o in sent}
    assert after == [f"o-{i}" for i in range(int(after[0][2:]), 12)]


def test_async_loop_commits_in_order_whatever_order_handlers_finish_in(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    sent = orders(order, 40)
    order.produce_many(sent, connection=conn)
    finished: list[int] = []
    rng = random.Random(7)

    async def handler(model: OrderFields) -> None:
        await asyncio.sleep(rng.uniform(0, 0.05))
        finished.append(model.quantity)

    async def main() -> None:
        loop: AsyncConsumerLoop[OrderFields] = AsyncConsumerLoop(
            order, handler, max_concurrent=8, poll_timeout=0.2, connection=conn
        )
        runner = asyncio.create_task(loop.run())
        deadline = time.monotonic() + WAIT
        while len(finished) < 40 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        loop.stop()
        stats = await runner
        assert stats.processed == 40

    asyncio.run(main())
    assert sorted(finished) == list(range(40))
    assert finished != sorted(finished)  # they did finish out of order
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: 40}


def test_async_loop_never_commits_past_a_message_whose_handler_failed(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, 10), connection=conn)

    async def handler(model: OrderFields) -> None:
        if model.quantity == 4:
            await asyncio.sleep(0.05)
            raise RuntimeError("order 4 failed")

    async def main() -> None:
        loop: AsyncConsumerLoop[OrderFields] = AsyncConsumerLoop(
            order, handler, max_concurrent=5, poll_timeout=0.2, connection=conn
        )
        with pytest.raises(ConsumerError, match="order 4 failed"):
            await asyncio.wait_for(loop.run(), WAIT)

    asyncio.run(main())
    assert committed(sandbox.bootstrap_servers, group, topic).get(0, 0) <= 4


def test_async_loop_signal_handlers_are_restored(
    conn: Connection, make_topic: TopicFactory
) -> None:
    order = order_model(make_topic(), new_group())
    before = signal.getsignal(signal.SIGTERM)

    async def handler(model: OrderFields) -> None:
        del model

    async def main() -> None:
        loop: AsyncConsumerLoop[OrderFields] = AsyncConsumerLoop(
            order, handler, poll_timeout=0.1, connection=conn
        )
        runner = asyncio.create_task(loop.run())
        await asyncio.sleep(0.5)
        assert loop.running
        loop.stop()
        await asyncio.wait_for(runner, 10)

    asyncio.run(main())
    assert signal.getsignal(signal.SIGTERM) is before
    assert threading.current_thread() is threading.main_thread()
