"""FlowODM: Kafka messages as pydantic models, with Avro and the Confluent Schema Registry.

The public names below load on first use (PEP 562), so light processes such as the sandbox
registry do not import pydantic, confluent-kafka or pandas. Importing ``flowodm`` makes the
``df.flowodm`` pandas accessor available as soon as pandas is (or already was) imported.
"""

import typing as _typing

from flowodm._lazy import attach as _attach
from flowodm._pandas_hook import register_accessor_with_pandas as _register_accessor

if _typing.TYPE_CHECKING:
    from flowodm._types import BatchOptions, MessageOptions, NowaitOptions, ProduceOptions
    from flowodm.consume import (
        AsyncConsumerLoop,
        BaseSettings,
        BatchSettings,
        ConsumedMessage,
        ConsumerLoop,
        ConsumerProfile,
        HighThroughputSettings,
        LongRunningSettings,
        LoopStats,
        ModelConsumer,
        ReadReport,
        ReadResult,
        RealTimeSettings,
        ReliableSettings,
        TopicReadError,
        async_consumer_loop,
        consumer_loop,
        read_messages,
    )
    from flowodm.consume.interrupts import ConsumeInterrupted, ReadInterrupted
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
    from flowodm.kafka.clients import FlowProducer
    from flowodm.kafka.config import ConnectionConfig
    from flowodm.kafka.connection import (
        Connection,
        connect,
        disconnect,
        get_connection,
        get_producer,
    )
    from flowodm.kafka.errors import ClientErrorReport
    from flowodm.model import FlowBaseModel
    from flowodm.pandas.read import read_topic
    from flowodm.produce.interrupt import ProduceInterrupted
    from flowodm.produce.results import DeliveryResult, FailedMessage, ProduceManyResult
    from flowodm.schema.types import Float32, Int32, TimeMicros, TimestampMicros
    from flowodm.settings import ModelSettings

#: The one version source: pyproject.toml reads it from here (hatch's dynamic version).
__version__ = "0.4.0.dev0"

_EXCEPTIONS = (
    "ArgumentTypeError",
    "BulkDeliveryTimeoutError",
    "ConfigurationError",
    "ConsumerError",
    "DataFrameValidationError",
    "DeliveryTimeoutError",
    "DeserializationError",
    "FlowODMError",
    "InvalidArgumentError",
    "MissingExtraError",
    "PartialDeliveryError",
    "ProducerError",
    "SandboxError",
    "SchemaGenerationError",
    "SchemaRegistryError",
    "SerializationError",
    "SettingsError",
)

_CONSUME = (
    "AsyncConsumerLoop",
    "BaseSettings",
    "BatchSettings",
    "ConsumedMessage",
    "ConsumerLoop",
    "ConsumerProfile",
    "HighThroughputSettings",
    "LongRunningSettings",
    "LoopStats",
    "ModelConsumer",
    "ReadReport",
    "ReadResult",
    "RealTimeSettings",
    "ReliableSettings",
    "TopicReadError",
    "async_consumer_loop",
    "consumer_loop",
    "read_messages",
)

_EXPORTS = {
    **dict.fromkeys(_EXCEPTIONS, "flowodm.exceptions"),
    **dict.fromkeys(
        ("BatchOptions", "MessageOptions", "NowaitOptions", "ProduceOptions"), "flowodm._types"
    ),
    **dict.fromkeys(("Float32", "Int32", "TimeMicros", "TimestampMicros"), "flowodm.schema.types"),
    **dict.fromkeys(
        ("Connection", "connect", "disconnect", "get_connection", "get_producer"),
        "flowodm.kafka.connection",
    ),
    **dict.fromkeys(
        ("DeliveryResult", "FailedMessage", "ProduceManyResult"), "flowodm.produce.results"
    ),
    **dict.fromkeys(_CONSUME, "flowodm.consume"),
    "ClientErrorReport": "flowodm.kafka.errors",
    "ProduceInterrupted": "flowodm.produce.interrupt",
    "ConsumeInterrupted": "flowodm.consume.interrupts",
    "ReadInterrupted": "flowodm.consume.interrupts",
    "ConnectionConfig": "flowodm.kafka.config",
    "FlowBaseModel": "flowodm.model",
    "FlowProducer": "flowodm.kafka.clients",
    "ModelSettings": "flowodm.settings",
    "read_topic": "flowodm.pandas.read",  # needs the pandas extra
}

#: Public submodules reachable as attributes after a bare ``import flowodm`` (loaded on use).
_SUBMODULES = (
    "cli",
    "consume",
    "exceptions",
    "kafka",
    "model",
    "pandas",
    "produce",
    "progress",
    "sandbox",
    "schema",
    "serde",
    "settings",
    "testing",
    "tools",
    "widgets",
)

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error
    __getattr__, __dir__ = _attach(__name__, _EXPORTS, _SUBMODULES)

_register_accessor()

__all__ = [
    "ArgumentTypeError",
    "AsyncConsumerLoop",
    "BaseSettings",
    "BatchOptions",
    "BatchSettings",
    "BulkDeliveryTimeoutError",
    "ClientErrorReport",
    "ConfigurationError",
    "Connection",
    "ConnectionConfig",
    "ConsumeInterrupted",
    "ConsumedMessage",
    "ConsumerError",
    "ConsumerLoop",
    "ConsumerProfile",
    "DataFrameValidationError",
    "DeliveryResult",
    "DeliveryTimeoutError",
    "DeserializationError",
    "FailedMessage",
    "Float32",
    "FlowBaseModel",
    "FlowODMError",
    "FlowProducer",
    "HighThroughputSettings",
    "Int32",
    "InvalidArgumentError",
    "LongRunningSettings",
    "LoopStats",
    "MessageOptions",
    "MissingExtraError",
    "ModelConsumer",
    "ModelSettings",
    "NowaitOptions",
    "PartialDeliveryError",
    "ProduceInterrupted",
    "ProduceManyResult",
    "ProduceOptions",
    "ProducerError",
    "ReadInterrupted",
    "ReadReport",
    "ReadResult",
    "RealTimeSettings",
    "ReliableSettings",
    "SandboxError",
    "SchemaGenerationError",
    "SchemaRegistryError",
    "SerializationError",
    "SettingsError",
    "TimeMicros",
    "TimestampMicros",
    "TopicReadError",
    "__version__",
    "async_consumer_loop",
    "connect",
    "consumer_loop",
    "disconnect",
    "get_connection",
    "get_producer",
    "read_messages",
    "read_topic",
]
