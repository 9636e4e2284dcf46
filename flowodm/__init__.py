"""FlowODM: Kafka messages as pydantic models, with Avro and the Confluent Schema Registry."""

from __future__ import annotations

from flowodm.exceptions import (
    ConfigurationError,
    ConsumerError,
    DataFrameValidationError,
    DeliveryTimeoutError,
    DeserializationError,
    FlowODMError,
    ProducerError,
    SandboxError,
    SchemaGenerationError,
    SchemaRegistryError,
    SerializationError,
    SettingsError,
)

__version__ = "0.4.0.dev0"

__all__ = [
    "ConfigurationError",
    "ConsumerError",
    "DataFrameValidationError",
    "DeliveryTimeoutError",
    "DeserializationError",
    "FlowODMError",
    "ProducerError",
    "SandboxError",
    "SchemaGenerationError",
    "SchemaRegistryError",
    "SerializationError",
    "SettingsError",
    "__version__",
]
