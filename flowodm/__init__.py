"""FlowODM: Kafka messages as pydantic models, with Avro and the Confluent Schema Registry.

Importing ``flowodm`` also registers the ``df.flowodm`` pandas accessor when pandas is installed.
"""

from __future__ import annotations

from flowodm.config import ConnectionConfig
from flowodm.connection import (
    Connection,
    FlowProducer,
    connect,
    disconnect,
    get_connection,
    get_producer,
)
from flowodm.delivery import (
    DeliveryResult,
    FailedMessage,
    ProduceManyResult,
)
from flowodm.exceptions import (
    BulkDeliveryTimeoutError,
    ConfigurationError,
    ConsumerError,
    DataFrameValidationError,
    DeliveryTimeoutError,
    DeserializationError,
    FlowODMError,
    PartialDeliveryError,
    ProducerError,
    SandboxError,
    SchemaGenerationError,
    SchemaRegistryError,
    SerializationError,
    SettingsError,
)
from flowodm.model import FlowBaseModel
from flowodm.settings import ModelSettings

__version__ = "0.4.0.dev0"

try:  # the DataFrame kit is optional: pip install 'flowodm[pandas]'
    import flowodm.pandas as _pandas_kit  # noqa: F401  (registers df.flowodm)
except ImportError:  # pragma: no cover - exercised only without pandas installed
    pass

__all__ = [
    "BulkDeliveryTimeoutError",
    "ConfigurationError",
    "Connection",
    "ConnectionConfig",
    "ConsumerError",
    "DataFrameValidationError",
    "DeliveryResult",
    "DeliveryTimeoutError",
    "DeserializationError",
    "FailedMessage",
    "FlowBaseModel",
    "FlowODMError",
    "FlowProducer",
    "ModelSettings",
    "PartialDeliveryError",
    "ProduceManyResult",
    "ProducerError",
    "SandboxError",
    "SchemaGenerationError",
    "SchemaRegistryError",
    "SerializationError",
    "SettingsError",
    "__version__",
    "connect",
    "disconnect",
    "get_connection",
    "get_producer",
]
