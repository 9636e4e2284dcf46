"""The exception tree of ``flowodm.exceptions``: shape, attributes, no shadowed builtins."""

from __future__ import annotations

import builtins
import pickle

import pytest
from confluent_kafka import KafkaError

import flowodm
from flowodm import exceptions
from flowodm._optional import require
from flowodm.exceptions import (
    ArgumentTypeError,
    BulkDeliveryTimeoutError,
    ConfigurationError,
    ConsumerError,
    DataFrameValidationError,
    DeliveryTimeoutError,
    DeserializationError,
    FlowODMError,
    InvalidArgumentError,
    MissingExtraError,
    PartialDeliveryError,
    ProducerError,
    SandboxError,
    SchemaGenerationError,
    SchemaRegistryError,
    SerializationError,
    SettingsError,
)
from flowodm.kafka.errors import ClientErrorReport
from flowodm.pandas.reports import RowError, ValidationReport
from flowodm.produce.results import FailedMessage, ProduceManyResult


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (ConfigurationError, FlowODMError),
        (SettingsError, ConfigurationError),
        (SerializationError, FlowODMError),
        (DeserializationError, ConsumerError),
        (MissingExtraError, ConfigurationError),
        (MissingExtraError, ImportError),
        (InvalidArgumentError, FlowODMError),
        (InvalidArgumentError, ValueError),
        (ArgumentTypeError, InvalidArgumentError),
        (ArgumentTypeError, TypeError),
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


def test_deserialization_is_not_a_serialization_error() -> None:
    assert not issubclass(DeserializationError, SerializationError)


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


_KAFKA_ERROR = KafkaError(KafkaError._MSG_TIMED_OUT, "Message timed out")
_CLIENT_ERROR = ClientErrorReport(KafkaError._TRANSPORT, "_TRANSPORT", "refused", False, 1.0)
_RESULT = ProduceManyResult(
    topic="orders", delivered=1, failed=[FailedMessage(1, {"id": 1}, _KAFKA_ERROR, True)]
)
# One instance of every error FlowODM defines, with every attribute it takes set.
_EXAMPLES: list[FlowODMError] = [
    FlowODMError("base"),
    ConfigurationError("bad config"),
    SettingsError("typo", model="Order", option="topik"),
    MissingExtraError("no pandas", module="pandas", extra="pandas"),
    InvalidArgumentError("bad", argument="timeout"),
    ArgumentTypeError("wrong type", argument="headers"),
    SchemaGenerationError("no avro", model="Order", field="when"),
    SerializationError("bad", model="Order", field="amount"),
    SchemaRegistryError("no", url="http://r:8081", subject="s", http_status=409, error_code=1),
    ProducerError(
        "refused", kafka_error=_KAFKA_ERROR, topic="t", key=b"k", client_error=_CLIENT_ERROR
    ),
    DeliveryTimeoutError("late", kafka_error=_KAFKA_ERROR, topic="t", key=None),
    PartialDeliveryError("some", result=_RESULT, topic="t", client_error=_CLIENT_ERROR),
    BulkDeliveryTimeoutError("stalled", result=_RESULT, topic="t", client_error=None),
    ConsumerError("read"),
    DeserializationError("garbage", model="Order", field="amount"),
    DataFrameValidationError(
        "rows",
        report=ValidationReport(
            model="Order", total=5, errors=(RowError(3, "amount", "not a number", "float", "x"),)
        ),
    ),
    SandboxError("broker"),
]


def test_the_examples_cover_every_error() -> None:
    assert {type(e).__name__ for e in _EXAMPLES} == set(exceptions.__all__)


@pytest.mark.parametrize("error", _EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_its_attributes(error: FlowODMError) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    assert set(vars(copy)) == set(vars(error))
    for name, value in vars(error).items():
        restored = getattr(copy, name)
        if isinstance(value, KafkaError):
            assert (restored.code(), restored.str()) == (value.code(), value.str())
        elif isinstance(value, ProduceManyResult):
            assert restored.summary() == value.summary()
            assert restored.failed[0].kafka_error.code() == value.failed[0].kafka_error.code()
        else:
            assert restored == value, name


def test_a_missing_extra_keeps_import_errors_name_and_path_through_pickle() -> None:
    error = MissingExtraError("no pandas", module="pandas", extra="pandas")
    error.path = "/site-packages/pandas"

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.name, copy.path) == ("pandas", "/site-packages/pandas")


def test_a_missing_extra_is_caught_as_an_import_error() -> None:
    with pytest.raises(ImportError) as info:
        require("flowodm_no_such_module", extra="pandas")
    assert isinstance(info.value, MissingExtraError)
    assert "pip install 'flowodm[pandas]'" in str(info.value)
    assert (info.value.module, info.value.extra, info.value.name) == (
        "flowodm_no_such_module",
        "pandas",
        "flowodm_no_such_module",
    )
