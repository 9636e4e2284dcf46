"""A delivery callback's exception never escapes ``flush()``/``poll()``: it is logged and counted.

Issue 13: callbacks run on whichever thread serves the producer's queue, the poller thread or
the one calling ``flush()``. confluent-kafka re-raises a callback's exception from ``flush()``,
so a ``produce_nowait`` callback that raised could surface from an unrelated ``flush()`` (and
stop it early), against the documented "logged, not raised anywhere".
"""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import KafkaError, Message

from flowodm.kafka.clients import FlowProducer
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.produce.reports import NowaitReport
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory

_SECRET = "hunter2-do-not-log"


def _raising(error: KafkaError | None, message: Message) -> None:
    raise RuntimeError(f"callback bug while holding {_SECRET}")


@pytest.fixture
def secret_connection(sandbox: Sandbox) -> Connection:
    """A sandbox connection that knows a secret (a registry API secret), to check logs mask it."""
    return Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
            schema_registry_api_key="key",
            schema_registry_api_secret=_SECRET,
        )
    )


def test_flush_does_not_raise_callback_exceptions(
    secret_connection: Connection, make_topic: TopicFactory, caplog: pytest.LogCaptureFixture
) -> None:
    topic = make_topic()
    # A producer without poller: the callback runs on this thread, inside flush(), wrapped
    # the way produce_nowait wraps it.
    producer: FlowProducer = secret_connection.new_producer()
    try:
        for n in range(3):
            producer.produce(topic, bytes([n]), on_delivery=NowaitReport(_raising, producer))
        with caplog.at_level(logging.ERROR, logger="flowodm.connection"):
            left = producer.flush(10)
    finally:
        producer.close()
        secret_connection.close(0)

    assert left == 0
    assert producer.callback_errors == 3  # every callback ran, and each failure is counted
    logged = [r for r in caplog.records if "delivery callback raised" in r.getMessage()]
    assert len(logged) == 3
    text = caplog.text
    assert "RuntimeError: callback bug while holding **********" in text
    assert _SECRET not in text


def test_poll_does_not_raise_callback_exceptions(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    producer: FlowProducer = conn.new_producer()
    try:
        producer.produce(topic, b"x", on_delivery=NowaitReport(_raising, producer))
        for _ in range(100):  # at most 10 s: the report arrives within a round trip
            producer.poll(0.1)
            if producer.callback_errors:
                break
    finally:
        producer.close()

    assert producer.callback_errors == 1
    assert len(producer) == 0


def test_nowait_callback_exception_does_not_escape_the_shared_producers_flush(
    conn: Connection, make_topic: TopicFactory
) -> None:
    from tests.core.models import model_for

    model = model_for(make_topic())
    called: list[int] = []

    def callback(error: KafkaError | None, message: Message) -> None:
        called.append(1)
        _raising(error, message)

    for n in range(20):
        model(sensor=f"s{n}", value=float(n)).produce_nowait(callback=callback, connection=conn)

    # Some reports may be served by the poller thread, some by this flush(): neither raises,
    # and every callback runs and is counted (confluent-kafka alone keeps one per call).
    assert conn.producer.flush(10) == 0
    for _ in range(100):  # the poller may still be inside its last poll()
        if conn.producer.callback_errors == 20:
            break
        conn.producer.poll(0.1)
    assert (len(called), conn.producer.callback_errors) == (20, 20)
