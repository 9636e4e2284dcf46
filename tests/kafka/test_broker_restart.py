"""A connection recovers by itself after its broker restarts (issue 13, defect 1).

Each test runs its own Tansu broker (memory storage) on its own port, kills it with SIGKILL and
starts it again on the same port, so the restarted broker has forgotten the producer id it gave
the connection's producer. Before the fix, every later send on the open connection was refused
in a loop (``UNKNOWN_PRODUCER_ID``, retried with a locally bumped epoch that Tansu refuses too)
and failed after 30 s with ``_MSG_TIMED_OUT``, blaming a stale "Connection refused". Bounds
here are generous ("does not hang"), never tight timings.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowodm.exceptions import ProducerError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.testing import consume_all
from tests.core.helpers import pollers
from tests.kafka.private_broker import PrivateBroker, running_broker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

# What "within a few seconds" means here: a fresh idempotent producer needs about 0.5 s.
RECOVERY_BOUND = 20.0
# A broker restart is never instant; this also lets the poller serve the disconnect.
DOWNTIME = 0.5


class Ping(FlowBaseModel):
    """A message that needs no Schema Registry (the private broker has none)."""

    class Settings:
        topic = "broker-restart"
        confluent_wire_format = False

    n: int


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A running private broker, stopped at the end whatever happened."""
    with running_broker(tmp_path) as private:
        yield private


@pytest.fixture
def topic(broker: PrivateBroker) -> str:
    name = f"restart-{uuid.uuid4().hex[:12]}"
    broker.create_topic(name)
    return name


def _connection(broker: PrivateBroker, message_timeout_ms: int | None = None) -> Connection:
    config = None if message_timeout_ms is None else {"message.timeout.ms": message_timeout_ms}
    return Connection(build_config(bootstrap_servers=broker.bootstrap, producer_config=config))


def _restart(broker: PrivateBroker, topic: str) -> None:
    """Crash the broker, start it again on the same port, recreate the (lost) topic."""
    broker.kill()
    time.sleep(DOWNTIME)
    broker.start()
    broker.create_topic(topic)


def _values_on(broker: PrivateBroker, topic: str, expected: int) -> list[int]:
    messages = consume_all(broker.bootstrap, topic, expected, linger=0.5)
    return sorted(Ping.deserialize(m.value() or b"").n for m in messages)


def test_produce_recovers_after_the_broker_restarts(broker: PrivateBroker, topic: str) -> None:
    connection = _connection(broker)
    try:
        Ping(n=1).produce(connection=connection, topic=topic)
        _restart(broker, topic)

        started = time.monotonic()
        result = Ping(n=2).produce(connection=connection, topic=topic, timeout=RECOVERY_BOUND)
        elapsed = time.monotonic() - started
        again = Ping(n=3).produce(connection=connection, topic=topic, timeout=RECOVERY_BOUND)
    finally:
        connection.close(1)

    assert elapsed < RECOVERY_BOUND
    assert (result.topic, again.topic) == (topic, topic)
    # Memory storage lost message 1 with the restart; 2 and 3 went to the new broker.
    assert _values_on(broker, topic, 2) == [2, 3]


def test_aproduce_recovers_after_the_broker_restarts(broker: PrivateBroker, topic: str) -> None:
    connection = _connection(broker)

    async def send(n: int) -> float:
        started = time.monotonic()
        await Ping(n=n).aproduce(connection=connection, topic=topic, timeout=RECOVERY_BOUND)
        return time.monotonic() - started

    try:
        asyncio.run(send(1))
        _restart(broker, topic)
        elapsed = asyncio.run(send(2))
    finally:
        connection.close(1)

    assert elapsed < RECOVERY_BOUND
    assert _values_on(broker, topic, 1) == [2]


def test_produce_many_recovers_after_the_broker_restarts(broker: PrivateBroker, topic: str) -> None:
    # The first call leaves its producer idle in the pool (kept per timeout, so both calls
    # use the same one); the broker restarts meanwhile.
    connection = _connection(broker)
    try:
        first = Ping.produce_many(
            [Ping(n=i) for i in range(5)],
            connection=connection,
            topic=topic,
            timeout=RECOVERY_BOUND,
        )
        _restart(broker, topic)

        started = time.monotonic()
        second = Ping.produce_many(
            [Ping(n=i) for i in range(5, 10)],
            connection=connection,
            topic=topic,
            timeout=RECOVERY_BOUND,
        )
        elapsed = time.monotonic() - started
    finally:
        connection.close(1)

    assert (first.delivered, second.delivered, second.failed) == (5, 5, [])
    assert elapsed < RECOVERY_BOUND
    assert _values_on(broker, topic, 5) == [5, 6, 7, 8, 9]


def test_produce_names_the_real_cause_while_the_broker_stays_down(
    broker: PrivateBroker, topic: str
) -> None:
    connection = _connection(broker, message_timeout_ms=3000)
    try:
        Ping(n=1).produce(connection=connection, topic=topic)
        broker.kill()
        time.sleep(DOWNTIME)

        started = time.monotonic()
        with pytest.raises(ProducerError) as failed:
            Ping(n=2).produce(connection=connection, topic=topic, timeout=RECOVERY_BOUND)
        elapsed = time.monotonic() - started
    finally:
        connection.close(1)

    # Within the delivery timeout (message.timeout.ms, 3 s here), not after a hang.
    assert elapsed < RECOVERY_BOUND
    cause = failed.value.client_error
    assert cause is not None and cause.age < RECOVERY_BOUND
    text = str(failed.value)
    assert "Connection refused" in text or "brokers are down" in text
    assert "check bootstrap_servers and that the broker is running" in text


def test_an_outage_does_not_start_a_producer_per_call(broker: PrivateBroker, topic: str) -> None:
    connection = _connection(broker, message_timeout_ms=3000)
    try:
        Ping(n=0).produce(connection=connection, topic=topic)
        before = len(pollers())
        broker.kill()
        time.sleep(DOWNTIME)
        # A fresh producer on a dead broker reports losing it too; replacing it on every call
        # would start a producer (and a poller thread) per message.
        for n in range(1, 41):
            Ping(n=n).produce_nowait(connection=connection, topic=topic)
            time.sleep(0.025)
        during = len(pollers())
    finally:
        connection.close(1)

    assert during - before <= 2
