"""FlowODM: Kafka messages as pydantic models, with Avro and the Confluent Schema Registry.

The public names below load on first use (PEP 562), so light processes such as the sandbox
registry do not import pydantic, confluent-kafka or pandas. Importing ``flowodm`` makes the
``df.flowodm`` pandas accessor available as soon as pandas is (or already was) imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flowodm._pandas_hook import register_accessor_with_pandas
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

if TYPE_CHECKING:
    from flowodm.config import ConnectionConfig
    from flowodm.connection import (
        Connection,
        FlowProducer,
        connect,
        disconnect,
        get_connection,
        get_producer,
    )
    from flowodm.delivery import DeliveryResult, FailedMessage, ProduceManyResult
    from flowodm.model import FlowBaseModel
    from flowodm.settings import ModelSettings

__version__ = "0.4.0.dev0"

_LAZY_EXPORTS = {
    "Connection": "flowodm.connection",
    "ConnectionConfig": "flowodm.config",
    "DeliveryResult": "flowodm.delivery",
    "FailedMessage": "flowodm.delivery",
    "FlowBaseModel": "flowodm.model",
    "FlowProducer": "flowodm.connection",
    "ModelSettings": "flowodm.settings",
    "ProduceManyResult": "flowodm.delivery",
    "connect": "flowodm.connection",
    "disconnect": "flowodm.connection",
    "get_connection": "flowodm.connection",
    "get_producer": "flowodm.connection",
}


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowodm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_EXPORTS))


register_accessor_with_pandas()

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
