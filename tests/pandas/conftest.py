"""Fixtures for the DataFrame tests that talk to the sandbox broker and registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Message
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from flowodm.exceptions import DataFrameValidationError
from flowodm.kafka.connection import Connection
from flowodm.pandas import ValidationReport
from flowodm.sandbox import Sandbox
from flowodm.testing import consume_all
from tests.pandas.bars import RecordingBar


@pytest.fixture
def conn(flowodm_connection: Connection) -> Connection:
    """``flowodm.testing``'s own connection to the sandbox (not the current one), closed after."""
    return flowodm_connection


@pytest.fixture(autouse=True)
def _forget_bars() -> Iterator[None]:
    RecordingBar.instances.clear()
    yield
    RecordingBar.instances.clear()


def read_back(
    sandbox: Sandbox,
    registry: SchemaRegistryClient,
    topic: str,
    expected: int,
    *,
    linger: float = 0.0,
) -> list[tuple[bytes | None, dict[str, Any], Message]]:
    """Consume ``topic`` and decode every value with Confluent's own ``AvroDeserializer``."""
    deserializer = AvroDeserializer(registry)
    context = SerializationContext(topic, MessageField.VALUE)
    messages = consume_all(sandbox.bootstrap_servers, topic, expected, linger=linger)
    return [(m.key(), deserializer(m.value(), context), m) for m in messages]


def validation_report(error: DataFrameValidationError) -> ValidationReport:
    """``error.report``, checked to be the ``ValidationReport`` every raise site passes."""
    report = error.report
    assert isinstance(report, ValidationReport)
    return report
