"""Is a model (or schema) compatible with what came before? Offline, or against the registry.

* ``check_compatibility(Model, against=..., level=...)`` checks offline, with Apache ``avro``'s
  checker, against a schema, a file, another model, or a list of them (oldest first; the
  ``_TRANSITIVE`` levels check every one, the others only the last).
* ``check_compatibility(Model, subject=None, level=None)`` asks the registry (its
  compatibility endpoint, ``verbose=true``) at the subject's level. A ``level`` other than the
  subject's is applied for real, but without changing the subject: the live versions are
  fetched and checked here at that level (``result.source == "offline"``).

The model's schema is always the one it registers, so a check and a later registration agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowodm.exceptions import InvalidArgumentError, SchemaRegistryError
from flowodm.tools.compat import CompatibilityResult, check_schemas, parse_level
from flowodm.tools.registry import get_subject_version, registry_of
from flowodm.tools.schema_diff import SchemaDiff, diff
from flowodm.tools.sources import (
    SchemaSource,
    is_model_class,
    model_subject,
    resolve_schema,
)

if TYPE_CHECKING:
    from flowodm.kafka.connection import Connection
    from flowodm.model import FlowBaseModel
    from flowodm.serde.registry import RegistryAdapter

__all__ = [
    "ValidationResult",
    "check_compatibility",
    "check_model_compatibility",
    "validate_against_file",
    "validate_against_registry",
]

_SUBJECT_NOT_FOUND = 40401


def check_compatibility(
    model: SchemaSource,
    against: SchemaSource | Sequence[SchemaSource] | None = None,
    *,
    subject: str | None = None,
    level: str | None = None,
    connection: Connection | None = None,
    compatibility_level: str | None = None,
) -> CompatibilityResult:
    """Check whether ``model``'s schema is compatible with earlier schemas.

    Args:
        model: The new schema: a ``FlowBaseModel`` class (its registered schema), a schema
            dict, JSON text or an ``.avsc`` path.
        against: Offline check: the earlier schema (any of the same kinds, or another model),
            or a list of them, oldest first. Leave out to ask the registry.
        subject: Registry check: the subject (default: the model's).
        level: ``BACKWARD`` (the offline default), ``FORWARD``, ``FULL``, their
            ``_TRANSITIVE`` forms or ``NONE``. For a registry check the default is the
            subject's own level; another level is checked here against the subject's live
            versions (the registry's level is not changed).
        connection: The registry's connection (default: the current one).
        compatibility_level: Upstream's name for ``level``.

    Example:
        >>> old = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
        >>> new = {"type": "record", "name": "R", "fields": [
        ...     {"name": "a", "type": "int"}, {"name": "b", "type": "string"}]}
        >>> result = check_compatibility(new, against=old, level="BACKWARD")
        >>> result.compatible, result.fields
        (False, ('b',))
        >>> check_compatibility(new, against=old, level="FORWARD").compatible
        True

    Raises:
        InvalidArgumentError: both ``against`` and ``subject`` given, an unknown level, an
            invalid schema, or no subject for a schema that is not a model.
        ConfigurationError: a registry check with no registry configured.
        SchemaRegistryError: the registry failed or could not be reached.
        MissingExtraError: the ``avro`` package is missing (``flowodm[sandbox]``).
    """
    if compatibility_level is not None:
        if level is not None:
            raise InvalidArgumentError(
                "give level= or compatibility_level= (its upstream name), not both",
                argument="compatibility_level",
            )
        level = compatibility_level
    new = resolve_schema(model, argument="model")
    if against is not None:
        if subject is not None:
            raise InvalidArgumentError(
                "give against= (an offline check) or subject= (a registry check), not both",
                argument="subject",
            )
        return _offline(new.schema, new.label, against, level)
    if subject is None:
        if not is_model_class(model):
            raise InvalidArgumentError(
                "subject= is needed to check a schema that is not a FlowBaseModel class "
                "against the registry (or pass against= to check offline)",
                argument="subject",
            )
        subject = model_subject(model)
    return _against_registry(new.schema, new.label, subject, level, registry_of(connection))


def check_model_compatibility(
    model: type[FlowBaseModel],
    *,
    subject: str | None = None,
    level: str | None = None,
    connection: Connection | None = None,
) -> CompatibilityResult:
    """Check ``model`` against its registry subject (the facade of
    ``FlowBaseModel.check_compatibility``); see :func:`check_compatibility`.

    Raises:
        ArgumentTypeError: ``model`` is not a ``FlowBaseModel`` subclass.
        ConfigurationError: no registry is configured.
        SchemaRegistryError: the registry failed or could not be reached.
    """
    if not is_model_class(model):
        from flowodm.exceptions import ArgumentTypeError

        raise ArgumentTypeError(
            f"model must be a FlowBaseModel subclass, not {model!r}", argument="model"
        )
    return check_compatibility(model, subject=subject, level=level, connection=connection)


def _offline(new: Any, label: str, against: Any, level: str | None) -> CompatibilityResult:
    """Check against schema sources given directly (a list is a history, oldest first)."""
    sources = list(against) if isinstance(against, list | tuple) else [against]
    previous = []
    for index, source in enumerate(sources):
        try:
            resolved = resolve_schema(source, argument="against")
        except InvalidArgumentError as exc:
            if (
                isinstance(source, str)
                and not Path(source).exists()
                and "does not exist" in str(exc)
            ):
                raise InvalidArgumentError(
                    f"{exc}; to check against a registry subject, pass subject={source!r}",
                    argument="against",
                ) from None
            raise
        name = "old schema" if resolved.label == "schema" else resolved.label
        name = name if len(sources) == 1 else f"{name} (#{index + 1})"
        previous.append((name, resolved.schema))
    return check_schemas(new, previous, level or "BACKWARD", new_label=label)


def _against_registry(
    new: Any, label: str, subject: str, level: str | None, adapter: RegistryAdapter
) -> CompatibilityResult:
    """Check ``new`` against ``subject``: the registry's endpoint at its level, or here."""
    requested = parse_level(level).value if level is not None else None
    try:
        versions = adapter.versions(subject)
    except SchemaRegistryError as exc:
        if exc.error_code != _SUBJECT_NOT_FOUND:
            raise
        versions = []
    effective = adapter.compatibility_level(subject)
    if not versions:
        return CompatibilityResult(
            True,
            requested or effective,
            subject=subject,
            source="registry",
            note="the subject has no versions yet; its first registration is accepted",
        )
    if requested is not None and requested != effective:
        history = _history(adapter, subject, versions, requested)
        result = check_schemas(new, history, requested, new_label=label)
        return CompatibilityResult(
            result.compatible,
            requested,
            result.messages,
            result.problems,
            subject=subject,
            source="offline",
            checked=result.checked,
            note=f"checked here against the registry's versions; the subject's own level, "
            f"{effective}, is unchanged",
        )
    compatible, messages = adapter.test_compatibility(subject, new)
    problems: tuple[Any, ...] = ()
    if not compatible:
        # The registry's verdict stands; the checker here names the fields behind it.
        explained = check_schemas(new, _history(adapter, subject, versions, effective), effective)
        problems = explained.problems
    checked = len(versions) if parse_level(effective).transitive else 1
    return CompatibilityResult(
        compatible,
        effective,
        tuple(messages),
        problems,
        subject=subject,
        source="registry",
        checked=checked if effective != "NONE" else 0,
    )


def _history(
    adapter: RegistryAdapter, subject: str, versions: Sequence[int], level: str
) -> list[tuple[str, Any]]:
    """The Avro schemas of the versions ``level`` checks against, oldest first."""
    wanted = versions if parse_level(level).transitive else versions[-1:]
    history = []
    for number in wanted:
        found = adapter.get_version(subject, number)
        if found.schema_type == "AVRO":
            history.append((f"version {found.version}", found.schema))
    return history


@dataclass(frozen=True)
class ValidationResult:
    """Whether a model and a schema describe the same data (upstream's result, filled in).

    Attributes:
        is_valid: The model reads data written with the schema and the other way round
            (FULL compatibility).
        errors: Why not: each compatibility problem, naming its field(s).
        warnings: Every difference between the two, one diff line each (present even when
            the two are compatible: a changed default, say).
        compatibility: The full FULL check.
        diff: Every difference between the schema (old) and the model (new).
    """

    is_valid: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    compatibility: CompatibilityResult | None = None
    diff: SchemaDiff | None = None

    def __bool__(self) -> bool:
        return self.is_valid


def validate_against_file(
    model_class: type[FlowBaseModel], schema_path: str | Path
) -> ValidationResult:
    """Check that ``model_class`` and the schema in the ``.avsc`` file describe the same data.

    Raises:
        InvalidArgumentError: the file cannot be read or is not valid Avro.
        MissingExtraError: the ``avro`` package is missing.
    """
    return _validate(model_class, Path(schema_path))


def validate_against_registry(
    model_class: type[FlowBaseModel],
    subject: str | None = None,
    version: int | str = "latest",
    *,
    connection: Connection | None = None,
) -> ValidationResult:
    """Check that ``model_class`` and a registered version (default: the latest of its
    subject) describe the same data.

    Raises:
        ConfigurationError: no registry is configured.
        SchemaRegistryError: no such subject or version, or the registry failed.
    """
    target = subject if subject is not None else model_subject(model_class)
    found = get_subject_version(target, version, connection=connection)
    return _validate(model_class, found.schema)


def _validate(model_class: type[FlowBaseModel], schema: Any) -> ValidationResult:
    result = check_compatibility(model_class, against=schema, level="FULL")
    changes = diff(schema, model_class)
    errors = [str(problem) for problem in result.problems]
    warnings = [f"{c.kind.replace('_', ' ')}: {c.describe()}" for c in changes.changes]
    return ValidationResult(result.compatible, errors, warnings, result, changes)
