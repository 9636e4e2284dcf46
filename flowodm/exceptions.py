"""FlowODM's exception tree: every error says what failed, where, and how to fix it.

    FlowODMError
    ├── ConfigurationError          bad connect() arguments, environment or client config
    │   ├── SettingsError           a model's inner ``Settings`` class is wrong
    │   └── MissingExtraError       an optional dependency is not installed (an ImportError)
    ├── InvalidArgumentError        a bad argument value (also a ValueError)
    │   └── ArgumentTypeError       a wrong type or an unknown keyword (also a TypeError)
    ├── SchemaGenerationError       a model field has no Avro mapping
    ├── SerializationError          a value could not be encoded (names the field)
    ├── SchemaRegistryError         the registry refused or was unreachable (names URL, subject)
    ├── ProducerError               Kafka did not accept a message (carries the KafkaError)
    │   ├── DeliveryTimeoutError    no acknowledgement in time; the message may be written
    │   │   └── BulkDeliveryTimeoutError   a bulk send stalled (also a PartialDeliveryError)
    │   └── PartialDeliveryError    some messages of a bulk send failed (carries the result)
    ├── ConsumerError               reading from Kafka failed
    │   └── DeserializationError    bytes could not be decoded into a model
    ├── DataFrameValidationError    rows of a DataFrame did not validate (carries the report)
    └── SandboxError                the local broker or registry could not be started or stopped

One rule for bad arguments: whatever the call, a bad value raises ``InvalidArgumentError`` and
a wrong type or unknown keyword ``ArgumentTypeError``, so ``except ValueError``/``except
TypeError`` catch them as they would for any Python function, and ``except FlowODMError``
catches everything FlowODM raises on purpose.

Every error pickles with its attributes (Dask, multiprocessing and joblib send errors between
processes). Names never shadow builtins (no ``ConnectionError``, no ``TimeoutError``).

An error's repr is bounded (``_REPR_MESSAGE_LIMIT`` characters of its message, then its full
length), so an error that carries a large result or quotes a large value does not flood a
notebook or a log of reprs; ``str(error)`` and the attributes keep everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from confluent_kafka import KafkaError

    from flowodm.kafka.errors import ClientErrorReport
    from flowodm.pandas.reports import ValidationReport

__all__ = [
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
]


#: Characters of an error's message shown in its repr.
_REPR_MESSAGE_LIMIT = 500


def _restore(cls: type[FlowODMError], args: tuple[Any, ...]) -> FlowODMError:
    """Rebuild an error without calling its ``__init__`` (whose keywords pickle cannot pass)."""
    error = cls.__new__(cls, *args)
    error.args = args
    return error


class FlowODMError(Exception):
    """Base class of every error FlowODM raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException pickles as cls(*args), which loses keyword-only attributes (and fails
        # for required ones); rebuild from args and restore every attribute instead.
        return (_restore, (type(self), self.args), self.__dict__)

    def __repr__(self) -> str:
        # BaseException's repr is the whole message; the attributes (a result, a key) are
        # never part of it, and neither is anything beyond _REPR_MESSAGE_LIMIT characters.
        message = str(self)
        if len(message) <= _REPR_MESSAGE_LIMIT:
            return f"{type(self).__name__}({message!r})"
        cut = message[:_REPR_MESSAGE_LIMIT]
        return f"{type(self).__name__}({cut!r}... ({len(message)} chars))"


class ConfigurationError(FlowODMError):
    """Connection or client configuration is missing or invalid."""


class SettingsError(ConfigurationError):
    """A model's inner ``Settings`` class has an unknown option or a wrong value."""

    def __init__(self, message: str, *, model: str | None = None, option: str | None = None):
        super().__init__(message)
        self.model = model
        self.option = option


class MissingExtraError(ConfigurationError, ImportError):
    """An optional dependency is missing; the message names the ``flowodm[extra]`` to install."""

    def __init__(self, message: str, *, module: str, extra: str):
        super().__init__(message)
        self.name = module  # ImportError's attribute: the module that could not be imported
        self.module = module
        self.extra = extra

    def __reduce__(self) -> tuple[Any, ...]:
        # ImportError keeps name and path in slots, outside __dict__: carry them explicitly.
        restore, arguments, state = super().__reduce__()
        return (restore, arguments, {**state, "name": self.name, "path": self.path})


class InvalidArgumentError(FlowODMError, ValueError):
    """An argument has a value the call cannot use; the message names it and what it takes."""

    def __init__(self, message: str, *, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument has the wrong type, or a keyword is unknown (the message suggests one)."""


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
    ``flowodm.kafka.errors.ClientErrorReport``: e.g. a failed SASL handshake) when it may
    explain a timeout, else ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        kafka_error: KafkaError | None = None,
        topic: str | None = None,
        key: bytes | None = None,
        client_error: ClientErrorReport | None = None,
    ):
        super().__init__(message)
        self.kafka_error = kafka_error
        self.topic = topic
        self.key = key
        self.client_error = client_error


class DeliveryTimeoutError(ProducerError):
    """No acknowledgement arrived in time; the message may or may not have been written."""


class PartialDeliveryError(ProducerError):
    """Some messages of a bulk send were not acknowledged; ``result`` lists each failure.

    ``result`` is what the call would have returned: a ``ProduceManyResult`` from
    ``produce_many``, a ``BulkResult`` from a ``BulkSender`` (so it is typed ``Any``).
    """

    def __init__(
        self,
        message: str,
        *,
        result: Any,
        topic: str | None = None,
        client_error: ClientErrorReport | None = None,
    ):
        super().__init__(message, topic=topic, client_error=client_error)
        self.result = result


class BulkDeliveryTimeoutError(PartialDeliveryError, DeliveryTimeoutError):
    """A bulk send made no progress in time; unacknowledged messages may have been written.

    ``reason`` is why the send stopped, without counts: a caller that reports its own (the
    DataFrame kit's report, ``produce_many``'s result) words its message from it, so the
    message and the report it carries never disagree.
    """

    def __init__(
        self,
        message: str,
        *,
        result: Any,
        topic: str | None = None,
        client_error: ClientErrorReport | None = None,
        reason: str | None = None,
    ):
        super().__init__(message, result=result, topic=topic, client_error=client_error)
        self.reason = message if reason is None else reason


class ConsumerError(FlowODMError):
    """Reading from Kafka failed (the consumer side of the tree)."""


class DeserializationError(ConsumerError):
    """Bytes could not be decoded into a model (names the model and field where known).

    Raised while consuming, it also carries the message's coordinates (``topic``,
    ``partition``, ``offset``), so the poison message can be found and replayed.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        field: str | None = None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ):
        super().__init__(message)
        self.model = model
        self.field = field
        self.topic = topic
        self.partition = partition
        self.offset = offset


class DataFrameValidationError(FlowODMError):
    """Rows of a DataFrame failed validation; ``report`` lists every row and reason.

    ``report`` is a ``flowodm.pandas.ValidationReport``: the invalid rows (or column problems),
    each with its index, field and reason.
    """

    def __init__(self, message: str, *, report: ValidationReport):
        super().__init__(message)
        self.report = report


class SandboxError(FlowODMError):
    """The local sandbox (broker or registry) could not be started, reached or stopped."""
