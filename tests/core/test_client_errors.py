"""Client errors: timeouts name the real cause, librdkafka logs go to Python logging only."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError

from flowodm.exceptions import BulkDeliveryTimeoutError, DeliveryTimeoutError, ProducerError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.produce.bulk import BulkSender
from flowodm.sandbox import Sandbox
from tests.core.helpers import dead_address, wait_until

pytestmark = pytest.mark.integration

SECRET = "hunter2-topsecret"


class PingFields(FlowBaseModel):
    """The fields of ``plain_model``'s models, so that they are typed."""

    n: int


def plain_model(topic_name: str) -> type[PingFields]:
    """A model written as plain Avro, so these tests need no registry."""

    class Ping(PingFields):
        class Settings:
            topic = topic_name
            confluent_wire_format = False

    return Ping


@pytest.fixture
def sasl_conn(sandbox: Sandbox) -> Iterator[Connection]:
    """SASL/PLAIN against the sandbox's plaintext listener: every handshake fails."""
    connection = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_username="alice",
            sasl_password=SECRET,
            producer_config={"message.timeout.ms": 1500},
        )
    )
    yield connection
    connection.close(0)


def _wait_for_client_error(connection: Connection) -> None:
    log = connection.producer.error_log
    assert log is not None
    wait_until(lambda: log.last is not None, "the producer's first client error")


def test_produce_timeout_names_the_authentication_failure(sasl_conn: Connection) -> None:
    model = plain_model(f"sasl-{uuid.uuid4().hex[:8]}")
    _wait_for_client_error(sasl_conn)

    with pytest.raises(DeliveryTimeoutError) as info:
        model(n=1).produce(timeout=0.5, connection=sasl_conn)

    error = info.value
    assert error.client_error is not None
    assert error.client_error.code == KafkaError._AUTHENTICATION
    message = str(error)
    assert "the client last reported _AUTHENTICATION: " in message
    assert "SASL" in message
    assert "s ago)" in message
    assert "may have been written" in message  # never proven otherwise: the caution stays
    assert SECRET not in message


def test_message_timeout_names_the_authentication_failure(sasl_conn: Connection) -> None:
    model = plain_model(f"sasl-{uuid.uuid4().hex[:8]}")

    with pytest.raises(ProducerError) as info:
        model(n=1).produce(timeout=30, connection=sasl_conn)  # librdkafka gives up at 1.5 s

    error = info.value
    assert not isinstance(error, DeliveryTimeoutError)
    assert error.kafka_error is not None
    assert error.kafka_error.code() == KafkaError._MSG_TIMED_OUT
    assert error.client_error is not None
    assert error.client_error.name == "_AUTHENTICATION"
    assert "_MSG_TIMED_OUT" in str(error)
    assert "the client last reported _AUTHENTICATION" in str(error)
    assert SECRET not in str(error)


def test_bulk_stall_names_the_authentication_failure(sasl_conn: Connection) -> None:
    model = plain_model(f"sasl-{uuid.uuid4().hex[:8]}")

    with pytest.raises(BulkDeliveryTimeoutError) as info:
        model.produce_many(
            [model(n=i) for i in range(5)], timeout=60, stall_timeout=2, connection=sasl_conn
        )

    error = info.value
    assert error.client_error is not None
    assert error.client_error.name == "_AUTHENTICATION"
    message = str(error)
    assert "The client last reported _AUTHENTICATION" in message
    assert message.endswith(f"Outcome: {error.result.summary()}")  # the result's own counts
    assert "0 of 5 messages delivered" in message and "(not written)" in message
    assert "may have been written" not in message
    assert SECRET not in message
    assert error.result.delivered == 0
    # Authentication failed, so no metadata and no partition: nothing was ever sent. (A lost-
    # answer retry purged from the queue would have a partition, and "may have been written".)
    assert not any(failure.maybe_written for failure in error.result.failed)


def test_librdkafka_writes_nothing_to_stderr_and_each_error_is_logged_once(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # sasl.mechanism without a SASL protocol makes librdkafka warn (CONFWARN) at creation.
    config = build_config(
        bootstrap_servers=dead_address(), producer_config={"sasl.mechanism": "PLAIN"}
    )
    with Connection(config) as connection:
        log = connection.producer.error_log
        assert log is not None
        wait_until(lambda: log.last is not None, "a refused connection")
        first = log.last
        wait_until(lambda: log.last is not first, "a second refused connection")
        # A bulk producer of the same connection is polled by its sender, not the poller.
        sender: BulkSender[int] = BulkSender(connection, "nowhere", timeout=60, stall_timeout=60)
        sender.send(b"value", None, 0)
        assert sender.producer is not None
        bulk_log = sender.producer.error_log
        assert bulk_log is not None
        wait_until(lambda: sender.poll(0.05) == 0 and bulk_log.last is not None, "bulk error")
        sender.abort()

    assert capfd.readouterr().err == ""
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name == "flowodm.connection" and "Kafka client error" in record.getMessage()
    ]
    assert len([w for w in warnings if "(_TRANSPORT)" in w]) == 1, warnings
    librdkafka = [record for record in caplog.records if record.name == "flowodm.librdkafka"]
    assert any("CONFWARN" in r.getMessage() and r.levelno == logging.WARNING for r in librdkafka)
    failures = [r for r in librdkafka if r.getMessage().startswith("FAIL ")]
    assert failures, "librdkafka's own FAIL lines are kept, at DEBUG"
    assert {r.levelno for r in failures} == {logging.DEBUG}
