"""FlowODM's exception tree: every error says what failed, where, and how to fix it.

    FlowODMError
    ├── ConfigurationError          bad connect() arguments, environment or client config
    │   └── SettingsError           a model's inner ``Settings`` class is wrong
    ├── SchemaGenerationError       a model field has no Avro mapping
    ├── SerializationError          a value could not be encoded (names the field)
    │   └── DeserializationError    bytes could not be decoded into a model
    ├── SchemaRegistryError         the registry refused or was unreachable (names URL, subject)
    ├── ProducerError               Kafka did not accept a message (carries the KafkaError)
    │   ├── DeliveryTimeoutError    no acknowledgement in time; the message may be written
    │   │   └── BulkDeliveryTimeoutError   a bulk send stalled (also a PartialDeliveryError)
    │   └── PartialDeliveryError    some messages of a bulk send failed (carries the result)
    ├── ConsumerError               consuming failed
    ├── DataFrameValidationError    rows of a DataFrame did not validate (carries the report)
    └── SandboxError                the local broker or registry could not be started or stopped

Names never shadow builtins (no ``ConnectionError``, no ``TimeoutError``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BulkDeliveryTimeoutError",
    "ConfigurationError",
    "ConsumerError",
    "DataFrameValidationError",
    "DeliveryTimeoutError",
    "DeserializationError",
    "FlowODMError",
    "PartialDeliveryError",
    "ProducerError",
    "SandboxError",
    "SchemaGenerationError",
    "SchemaRegistryError",
    "SerializationError",
    "SettingsError",
]


class FlowODMError(Exception):
    """Base class of every error FlowODM raises on purpose."""


class ConfigurationError(FlowODMError):
    """Connection or client configuration is missing or invalid."""


class SettingsError(ConfigurationError):
    """A model's inner ``Settings`` class has an unknown option or a wrong value."""

    def __init__(self, message: str, *, model: str | None = None, option: str | None = None):
        super().__init__(message)
        self.model = model
        self.option = option


class SchemaGenerationError(FlowODMError):
    """A model cannot be mapped to an Avro schema (names the model and field)."""

    def __init__(self, message: str, *, model: str | None = None, field: str | None = None):
        super().__init__(message)
        self.model = model
        self.field = field


class SerializationError(FlowODMError):
    """A value could not be serialized (names the model and field where known)."""

    def __init__(self, message: str, *, model: str | None = None, field: str | None = None):
        super().__init__(message)
        self.model = model
        self.field = field


class DeserializationError(SerializationError):
    """Bytes could not be decoded into a model."""


class SchemaRegistryError(FlowODMError):
    """The Schema Registry refused a request or could not be reached in time."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        subject: str | None = None,
        http_status: int | None = None,
        error_code: int | None = None,
    ):
        super().__init__(message)
        self.url = url
        self.subject = subject
        self.http_status = http_status
        self.error_code = error_code


class ProducerError(FlowODMError):
    """Kafka did not accept a message; ``kafka_error`` holds librdkafka's error if any.

    ``client_error`` is the producer's last client-level error (a
    ``flowodm.delivery.ClientErrorReport``: e.g. a failed SASL handshake) when it may explain
    a timeout, else ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        kafka_error: Any = None,
        topic: str | None = None,
        key: bytes | None = None,
        client_error: Any = None,
    ):
        super().__init__(message)
        self.kafka_error = kafka_error
        self.topic = topic
        self.key = key
        self.client_error = client_error


class DeliveryTimeoutError(ProducerError):
    """No acknowledgement arrived in time; the message may or may not have been written."""


class PartialDeliveryError(ProducerError):
    """Some messages of a bulk send were not acknowledged; ``result`` lists each failure."""

    def __init__(
        self, message: str, *, result: Any, topic: str | None = None, client_error: Any = None
    ):
        super().__init__(message, topic=topic, client_error=client_error)
        self.result = result


class BulkDeliveryTimeoutError(PartialDeliveryError, DeliveryTimeoutError):
    """A bulk send made no progress in time; unacknowledged messages may have been written."""


class ConsumerError(FlowODMError):
    """Consuming or decoding from Kafka failed."""


class DataFrameValidationError(FlowODMError):
    """Rows of a DataFrame failed validation; ``report`` lists every row and reason."""

    def __init__(self, message: str, *, report: Any):
        super().__init__(message)
        self.report = report


class SandboxError(FlowODMError):
    """The local sandbox (broker or registry) could not be started, reached or stopped."""
