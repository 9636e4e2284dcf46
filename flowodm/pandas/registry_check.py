"""Would producing pass the Schema Registry step? Checked before anything is sent.

A dry run that only validates rows can pass while the real run fails at its first message with
a 409 (the registry refuses an incompatible schema) or "not registered" (``auto_register`` off
and the schema was never registered). ``check_registry`` asks the registry what the real run's
first step would get, without registering anything:

- ``auto_register`` on: the subject's compatibility check (``Model.check_compatibility``),
  naming each incompatible field;
- ``auto_register`` off: a lookup of the exact schema under the subject.

The subject is the one the run would use (``topic=`` moves it under the topic strategies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowodm.exceptions import ConfigurationError, SchemaRegistryError
from flowodm.kafka.connection import Connection, codec_host
from flowodm.serde.model_codec import get_model_codec

if TYPE_CHECKING:
    from flowodm.tools.compat import CompatibilityResult

__all__ = ["RegistryCheck", "check_registry"]


@dataclass(frozen=True)
class RegistryCheck:
    """The registry's answer for a run's value schema.

    Attributes:
        subject: The subject the run would register under or look up in.
        ok: Whether the real run's registry step would succeed.
        message: The verdict in words (what is incompatible, or what to do).
        compatibility: The full compatibility result, when ``auto_register`` is on.
    """

    subject: str
    ok: bool
    message: str
    compatibility: CompatibilityResult | None = None

    def __str__(self) -> str:
        return f"registry subject {self.subject!r}: {self.message}"


def check_registry(
    model: type[Any],
    *,
    topic: str | None = None,
    connection: Connection | None = None,
    required: bool = False,
) -> RegistryCheck | None:
    """Check ``model``'s value schema against the registry as a produce to ``topic`` would.

    Args:
        model: A ``FlowBaseModel`` subclass.
        topic: The topic the run writes to (default: the model's).
        connection: The connection (default: the current one, or the environment's).
        required: Raise when there is no registry to ask, instead of returning ``None``.

    Returns:
        The verdict, or ``None`` when the run would not use a registry (none configured, JSON
        values, or ``confluent_wire_format`` off).

    Raises:
        ConfigurationError: ``required`` and no registry is configured.
        SchemaRegistryError: the registry failed or could not be reached.
    """
    host = connection if connection is not None else codec_host()
    codec = get_model_codec(model, host, topic=topic)
    if not codec.framed or not isinstance(host, Connection) or host.registry is None:
        if required:
            raise ConfigurationError(
                f"{model.__name__}: no Schema Registry to check against; connect() with "
                "schema_registry_url=... (and Avro values in the Confluent wire format)"
            )
        return None
    subject = codec.subject
    if codec.settings.auto_register:
        result = model.check_compatibility(subject=subject, connection=host)
        if result.compatible:
            message = f"compatible ({result.level}, {result.checked} version(s) checked)"
            if result.note:
                message += f"; {result.note}"
        else:
            # The offline analysis names fields in words; the registry's own text is the fallback.
            reasons = "; ".join(map(str, result.problems)) or "; ".join(result.messages)
            message = (
                f"incompatible at {result.level}: {reasons or 'the registry gave no reason'}; "
                "the run would be refused (409). "
                "Evolve the model compatibly, or change the subject's compatibility level"
            )
        return RegistryCheck(subject, result.compatible, message, result)
    try:
        schema_id = host.registry.lookup(subject, codec.schema)
    except SchemaRegistryError as exc:
        if exc.http_status != 404:  # an outage or a refusal is not "not registered"
            raise
        return RegistryCheck(
            subject,
            False,
            f"the schema is not registered and auto_register is off, so the run would fail "
            f"({exc}); register it first (flowodm schema register) or set auto_register",
        )
    return RegistryCheck(subject, True, f"registered (id {schema_id})")
