"""The exception tree of ``flowodm.exceptions``: shape, attributes, no shadowed builtins."""

from __future__ import annotations

import builtins

import pytest
from confluent_kafka import KafkaError

import flowodm
from flowodm import exceptions
from flowodm.exceptions import (
    BulkDeliveryTimeoutError,
    ConfigurationError,
    DeliveryTimeoutError,
    DeserializationError,
    FlowODMError,
    PartialDeliveryError,
    ProducerError,
    SchemaRegistryError,
    SerializationError,
    SettingsError,
)


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (ConfigurationError, FlowODMError),
        (SettingsError, ConfigurationError),
        (SerializationError, FlowODMError),
        (DeserializationError, SerializationError),
        (SchemaRegistryError, FlowODMError),
        (ProducerError, FlowODMError),
        (DeliveryTimeoutError, ProducerError),
        (PartialDeliveryError, ProducerError),
        (BulkDeliveryTimeoutError, PartialDeliveryError),
        (BulkDeliveryTimeoutError, DeliveryTimeoutError),
    ],
)
def test_tree(error: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(error, parent)


def test_every_error_is_exported_and_none_shadows_a_builtin() -> None:
    names = set(exceptions.__all__)
    assert all(issubclass(getattr(exceptions, name), FlowODMError) for name in names)
    assert not names & set(dir(builtins))
    assert all(getattr(flowodm, name) is getattr(exceptions, name) for name in names)


def test_errors_carry_what_failed_and_where() -> None:
    kafka_error = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)
    produce = ProducerError("refused", kafka_error=kafka_error, topic="orders", key=b"k")
    registry = SchemaRegistryError(
        "no", url="http://r:8081", subject="orders-value", http_status=409, error_code=409
    )
    serialization = SerializationError("bad", model="Order", field="amount")
    settings = SettingsError("typo", model="Order", option="topik")

    assert (produce.kafka_error, produce.topic, produce.key) == (kafka_error, "orders", b"k")
    assert (registry.url, registry.subject, registry.http_status) == (
        "http://r:8081",
        "orders-value",
        409,
    )
    assert (serialization.model, serialization.field) == ("Order", "amount")
    assert (settings.model, settings.option) == ("Order", "topik")
    assert str(produce) == "refused"
