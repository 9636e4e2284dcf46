"""``connect()``, the ``Connection``, its shared producer and background poller."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message, Producer

from flowodm.exceptions import ConfigurationError
from flowodm.kafka.config import PRODUCER_DEFAULTS, build_config
from flowodm.kafka.connection import Connection, connect, disconnect, get_connection, get_producer
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.core.helpers import dead_address, pollers, wait_until

SECRET = "hunter2-secret"


@pytest.fixture(autouse=True)
def _no_current_connection() -> Iterator[None]:
    disconnect(timeout=0)
    yield
    disconnect(timeout=0)


@pytest.fixture
def dead_broker() -> str:
    """``host:port`` where nothing listens, so nothing is ever delivered."""
    return dead_address()


def test_connect_makes_the_current_connection_with_a_shared_producer(dead_broker: str) -> None:
    connection = connect(dead_broker)

    assert get_connection() is connection
    assert get_producer() is connection.producer
    assert connection.producer is connection.producer
    assert len(pollers()) == 1


def test_shared_producer_is_confluents_with_an_optional_flush_timeout(dead_broker: str) -> None:
    producer = connect(dead_broker).producer

    assert isinstance(producer, Producer)
    assert producer.flush() == 0
    assert producer.flush(timeout=None) == 0
    producer.produce("t", b"never delivered")
    # At least the message is left (librdkafka also counts client events not served yet).
    assert producer.flush(0.1) >= 1


def test_producer_settings_layers_defaults_security_user_config_and_extra(
    dead_broker: str,
) -> None:
    connection = connect(
        dead_broker,
        client_id="billing",
        producer_config={"linger.ms": 50, "compression.type": "lz4"},
    )

    settings = connection.producer_settings()
    bulk = connection.producer_settings(
        {"delivery.report.only.error": True, "linger.ms": 100}, **{"batch.size": 1000}
    )

    assert settings == {
        **PRODUCER_DEFAULTS,
        "bootstrap.servers": dead_broker,
        "client.id": "billing",
        "linger.ms": 50,
        "compression.type": "lz4",
    }
    assert settings["acks"] == "all"
    assert settings["enable.idempotence"] is True
    assert settings["message.timeout.ms"] == 30_000
    assert bulk["linger.ms"] == 100
    assert bulk["delivery.report.only.error"] is True
    assert bulk["batch.size"] == 1000
    assert bulk["compression.type"] == "lz4"


def test_unknown_producer_property_names_the_key_and_keeps_the_old_connection(
    dead_broker: str,
) -> None:
    old = connect(dead_broker)

    with pytest.raises(ConfigurationError) as info:
        connect(dead_broker, producer_config={"linger.mss": 5})

    assert "'linger.mss'" in str(info.value)
    assert "producer_config" in str(info.value)
    assert get_connection() is old
    assert not old.closed


def test_unknown_consumer_property_names_the_key(dead_broker: str) -> None:
    with pytest.raises(ConfigurationError, match=r"'auto\.offset\.rest' in consumer_config"):
        connect(dead_broker, consumer_config={"auto.offset.rest": "earliest"})


def test_invalid_producer_value_is_a_configuration_error(dead_broker: str) -> None:
    with pytest.raises(ConfigurationError, match=r"request\.required\.acks"):
        connect(dead_broker, producer_config={"acks": "sometimes"})


def test_invalid_value_names_the_key_the_user_gave_and_the_value(dead_broker: str) -> None:
    # librdkafka reports linger.ms under its canonical name, queue.buffering.max.ms.
    with pytest.raises(ConfigurationError) as info:
        connect(dead_broker, producer_config={"compression.type": "lz4", "linger.ms": "abc"})

    message = str(info.value)
    assert message.startswith("invalid value 'abc' for 'linger.ms'")
    assert "in producer_config" in message
    assert "queue.buffering.max.ms" in message  # the alias, as a hint for librdkafka's docs
    with pytest.raises(ConfigurationError, match=r"'fetch\.wait\.max\.ms' in consumer_config"):
        connect(dead_broker, consumer_config={"fetch.wait.max.ms": "soon"})
    with pytest.raises(ConfigurationError, match=r"'bad' for 'batch\.size' in an internal"):
        connect(dead_broker).new_producer({"batch.size": "bad"})


def test_unknown_registry_client_property_is_a_configuration_error(dead_broker: str) -> None:
    with pytest.raises(ConfigurationError, match=r"Unrecognized properties: cache\.size"):
        connect(
            dead_broker,
            schema_registry_url="http://127.0.0.1:1",
            schema_registry_config={"cache.size": 5},
        )


def test_new_producer_is_separate_and_validates_extra_keys(dead_broker: str) -> None:
    connection = connect(dead_broker)

    extra = connection.new_producer({"delivery.report.only.error": True})

    assert extra is not connection.producer
    extra.close()
    with pytest.raises(ConfigurationError, match=r"'no\.such\.key' in an internal override"):
        connection.new_producer({"no.such.key": 1})


def test_connect_again_replaces_and_closes_the_old_connection(dead_broker: str) -> None:
    old = connect(dead_broker)
    old_producer = old.producer

    new = connect(dead_broker, client_id="second")

    assert get_connection() is new
    assert old.closed
    assert new.producer is not old_producer
    assert len(pollers()) == 1
    with pytest.raises(ConfigurationError, match="closed"):
        _ = old.producer


def test_close_purges_undelivered_messages_and_reports_them(dead_broker: str) -> None:
    connection = connect(dead_broker)
    reports: list[KafkaError | None] = []
    connection.producer.produce("t", b"x", on_delivery=lambda err, msg: reports.append(err))

    left = connection.close(timeout=0.2)

    assert left == 1
    assert [err.code() for err in reports if err is not None] == [KafkaError._PURGE_QUEUE]
    assert pollers() == []
    assert connection.close() == 0


def test_poller_serves_callbacks_without_flush_and_survives_a_raising_callback(
    dead_broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    connection = connect(dead_broker, producer_config={"message.timeout.ms": 200})
    second_done = threading.Event()
    threads: list[str] = []

    def raising(err: KafkaError | None, msg: Message) -> None:
        raise RuntimeError("callback bug")

    def recording(err: KafkaError | None, msg: Message) -> None:
        threads.append(threading.current_thread().name)
        second_done.set()

    with caplog.at_level(logging.ERROR, logger="flowodm.connection"):
        connection.producer.produce("t", b"1", on_delivery=raising)
        connection.producer.produce("t", b"2", on_delivery=recording)
        assert second_done.wait(timeout=15), "delivery callback never ran"

    assert threads == ["flowodm-poller"]
    assert any("callback raised" in record.getMessage() for record in caplog.records)


def test_get_connection_without_configuration_says_how_to_fix_it() -> None:
    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP_SERVERS"):
        get_connection()
    with pytest.raises(ConfigurationError, match=r"connect\(bootstrap_servers="):
        get_producer()


def test_get_connection_builds_from_environment(
    monkeypatch: pytest.MonkeyPatch, dead_broker: str
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", dead_broker)

    connection = get_connection()

    assert connection.config.bootstrap_servers == dead_broker
    assert get_connection() is connection


def test_registry_only_connection_has_no_producer() -> None:
    connection = connect(schema_registry_url="http://127.0.0.1:1")

    assert connection.registry is not None
    assert connection.registry.url == "http://127.0.0.1:1"
    with pytest.raises(ConfigurationError, match="no Kafka bootstrap servers"):
        _ = connection.producer


def test_no_registry_url_means_no_registry(dead_broker: str) -> None:
    assert connect(dead_broker).registry is None


def test_secrets_never_appear_in_reprs_errors_or_logs(
    dead_broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret_args: dict[str, Any] = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_username": "alice",
        "sasl_password": SECRET,
        "schema_registry_url": f"http://bob:{SECRET}@127.0.0.1:1",
    }
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        connection = connect(dead_broker, **secret_args)
        texts += [repr(connection), str(connection), repr(connection.config)]
        texts.append(repr(connection.registry))
        for bad in ({"linger.mss": 1}, {"acks": SECRET}, {"sasl.password": 5, "nope": 1}):
            with pytest.raises(ConfigurationError) as info:
                connect(dead_broker, producer_config=bad, **secret_args)
            texts.append(str(info.value))
        with pytest.raises(ConfigurationError) as info:
            connect(dead_broker, sasl_password=SECRET, sasl_username="alice")
        texts.append(str(info.value))
        disconnect(timeout=0)
    texts += [record.getMessage() for record in caplog.records]

    assert texts
    for text in texts:
        assert SECRET not in text


def test_connection_as_context_manager_closes(dead_broker: str) -> None:
    config = connect(dead_broker).config
    with Connection(config) as connection:
        _ = connection.producer
    assert connection.closed


@pytest.mark.integration
def test_delivery_callback_runs_on_the_poller_thread(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    connect(sandbox.bootstrap_servers)
    delivered = threading.Event()
    seen: list[tuple[str, KafkaError | None, str | None]] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        seen.append((threading.current_thread().name, err, msg.topic()))
        delivered.set()

    get_producer().produce(topic, b"value", key=b"k", on_delivery=on_delivery)

    assert delivered.wait(timeout=20), "no delivery report without flush()"
    assert seen == [("flowodm-poller", None, topic)]


@pytest.mark.integration
def test_replacing_the_connection_flushes_the_old_producer(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    old = connect(sandbox.bootstrap_servers, producer_config={"linger.ms": 500})
    for i in range(3):
        old.producer.produce(topic, f"v{i}".encode())

    connect(sandbox.bootstrap_servers)

    assert old.closed
    values = sorted(m.value() or b"" for m in consume_all(sandbox.bootstrap_servers, topic, 3))
    assert values == [b"v0", b"v1", b"v2"]
    assert get_producer().flush(10) == 0


def test_disconnect_by_bootstrap_servers_closes_only_a_matching_connection(
    dead_broker: str,
) -> None:
    connection = connect(dead_broker)

    assert disconnect(0, bootstrap_servers="127.0.0.1:1") == 0
    assert not connection.closed
    assert get_connection() is connection

    disconnect(0, bootstrap_servers=dead_broker)
    assert connection.closed


def test_close_quietly_does_not_log_client_errors_queued_while_idle(
    dead_broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    with Connection(build_config(bootstrap_servers=dead_broker)) as connection:
        quiet, loud = connection.new_producer(), connection.new_producer()
        # Refused connections queue client error events that nobody serves meanwhile.
        wait_until(lambda: len(quiet) > 0 and len(loud) > 0, "queued client error events")

        def client_errors() -> list[str]:
            texts = [record.getMessage() for record in caplog.records]
            return [text for text in texts if "Kafka client error" in text]

        with caplog.at_level(logging.WARNING, logger="flowodm.connection"):
            quiet.close_quietly()
            assert client_errors() == []
            loud.close()  # confluent's close() serves the queue: the errors are logged
            assert client_errors()
