"""Subjects in the Schema Registry: list, show, register, delete, export.

Every call goes through the connection's ``RegistryAdapter`` (``flowodm.serde.registry``, the
one place FlowODM speaks HTTP to the registry), so failures are ``SchemaRegistryError``s that
name the URL (never its credentials) and the subject, and say what to do. ``connection=None``
means the current connection (``flowodm.connect(schema_registry_url=...)``, or the
environment's ``SCHEMA_REGISTRY_URL``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowodm.exceptions import ConfigurationError, InvalidArgumentError
from flowodm.tools.sources import (
    SchemaSource,
    is_model_class,
    load_schema_from_file,
    model_subject,
    resolve_schema,
)

if TYPE_CHECKING:
    from flowodm.kafka.connection import Connection
    from flowodm.serde.registry import RegistryAdapter, SubjectVersion

__all__ = [
    "delete_subject",
    "export_schema",
    "get_schema",
    "get_schema_versions",
    "get_subject_version",
    "list_subjects",
    "load_schema_from_registry",
    "register",
    "registry_of",
    "upload_schema",
]

_NO_REGISTRY = (
    "no Schema Registry is configured: pass connection=, call "
    "flowodm.connect(schema_registry_url=...) or set SCHEMA_REGISTRY_URL"
)


def registry_of(connection: Connection | None) -> RegistryAdapter:
    """Return the registry adapter of ``connection`` (default: the current connection).

    Raises:
        ConfigurationError: no registry URL is configured; the message says how to give one.
    """
    if connection is None:
        from flowodm.kafka.connection import codec_host

        host = codec_host()
        adapter = host.registry
    else:
        adapter = connection.registry
    if adapter is None:
        raise ConfigurationError(_NO_REGISTRY)
    return adapter


def list_subjects(
    *, prefix: str | None = None, deleted: bool = False, connection: Connection | None = None
) -> list[str]:
    """Return the registry's subjects, sorted (with ``deleted``, soft-deleted ones too).

    Raises:
        ConfigurationError: no registry is configured.
        SchemaRegistryError: the registry failed or could not be reached.
    """
    return registry_of(connection).subjects(prefix=prefix, deleted=deleted)


def get_schema_versions(subject: str, *, connection: Connection | None = None) -> list[int]:
    """Return the live version numbers of ``subject``, oldest first.

    Raises:
        ConfigurationError: no registry is configured.
        SchemaRegistryError: no such subject (``error_code`` 40401), or the registry failed.
    """
    return registry_of(connection).versions(_subject(subject))


def get_subject_version(
    subject: str, version: int | str = "latest", *, connection: Connection | None = None
) -> SubjectVersion:
    """Return one version of ``subject`` with its id and schema (``version``: a number or
    ``"latest"``).

    Raises:
        InvalidArgumentError: ``version`` is neither a positive number nor ``"latest"``.
        ConfigurationError: no registry is configured.
        SchemaRegistryError: no such subject or version, or the registry failed.
    """
    wanted = parse_version(version)
    return registry_of(connection).get_version(_subject(subject), wanted)


def get_schema(
    subject: str, version: int | str = "latest", *, connection: Connection | None = None
) -> Any:
    """Return the schema of one version of ``subject`` (parsed JSON for Avro).

    Raises:
        InvalidArgumentError: ``version`` is neither a positive number nor ``"latest"``.
        ConfigurationError: no registry is configured.
        SchemaRegistryError: no such subject or version, or the registry failed.
    """
    return get_subject_version(subject, version, connection=connection).schema


def load_schema_from_registry(
    subject: str, version: int | str = "latest", *, connection: Connection | None = None
) -> Any:
    """Upstream's name for :func:`get_schema`."""
    return get_schema(subject, version, connection=connection)


def register(
    schema: SchemaSource,
    subject: str | None = None,
    *,
    level: str | None = None,
    connection: Connection | None = None,
) -> int:
    """Register ``schema`` (a model, dict, JSON text or ``.avsc`` path) and return its id.

    ``subject`` defaults to the model's subject. With ``level``, the subject's compatibility
    level is set first (it stays set: the registry keeps a level per subject), so the
    registration is judged at that level.

    Raises:
        InvalidArgumentError: no subject is given for a schema that is not a model, or
            ``level`` names no level.
        ConfigurationError: no registry is configured.
        SchemaRegistryError: the registry refused the schema (``http_status`` 409:
            incompatible with the subject's versions) or failed.
    """
    from flowodm.tools.compat import parse_avro, parse_level

    resolved = resolve_schema(schema)
    target = _subject_for(schema, subject)
    parse_avro(resolved.schema, resolved.label)  # an invalid schema is named here, not as HTTP 422
    adapter = registry_of(connection)
    if level is not None:
        adapter.set_compatibility_level(target, parse_level(level).value)
    return adapter.register(target, resolved.schema)


def upload_schema(
    schema_path: str | Path,
    subject: str,
    compatibility_level: str | None = None,
    *,
    connection: Connection | None = None,
) -> int:
    """Register the schema in the ``.avsc`` file ``schema_path`` under ``subject`` (upstream's
    signature); ``compatibility_level`` sets the subject's level first, and a failure to set it
    is an error, not ignored.

    Raises:
        InvalidArgumentError: the file cannot be read, or the level names no level.
        ConfigurationError: no registry is configured.
        SchemaRegistryError: the registry refused the schema or failed.
    """
    return register(
        load_schema_from_file(schema_path),
        subject,
        level=compatibility_level,
        connection=connection,
    )


def delete_subject(
    subject: str, *, permanent: bool = False, connection: Connection | None = None
) -> list[int]:
    """Delete ``subject`` and return the versions deleted.

    A soft delete (the default) hides the versions, which the registry can still serve by id
    to readers of old messages; ``permanent=True`` removes them for good (soft-deleting first
    when needed, as the registry requires).

    Raises:
        ConfigurationError: no registry is configured.
        SchemaRegistryError: no such subject, or the registry failed.
    """
    return registry_of(connection).delete_subject(_subject(subject), permanent=permanent)


def export_schema(
    source: SchemaSource | None = None,
    path: str | Path | None = None,
    *,
    subject: str | None = None,
    version: int | str = "latest",
    connection: Connection | None = None,
) -> str:
    """Return (and with ``path``, write) a schema as ``.avsc`` JSON text.

    The schema is ``source`` (a model: the very schema it registers; or a dict, JSON text or
    file), or with ``subject`` a version from the registry.

    Raises:
        InvalidArgumentError: neither or both of ``source`` and ``subject`` are given, or the
            file cannot be written.
        ConfigurationError: a subject is asked for and no registry is configured.
        SchemaRegistryError: the registry failed.
    """
    if (source is None) == (subject is None):
        raise InvalidArgumentError(
            "export_schema() takes a schema source or subject=, exactly one of them",
            argument="subject",
        )
    if subject is not None:
        schema = get_schema(subject, version, connection=connection)
    else:
        schema = resolve_schema(source, argument="source").schema
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if path is not None:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidArgumentError(
                f"cannot write the schema to {str(path)!r}: {exc}", argument="path"
            ) from None
    return text


def parse_version(version: object) -> int | str:
    """Return ``version`` as a positive number or ``"latest"``.

    Raises:
        InvalidArgumentError: it is neither.
    """
    if isinstance(version, str):
        text = version.strip().lower()
        if text in ("latest", "-1"):
            return "latest"
        if text.isdigit() and int(text) > 0:
            return int(text)
    elif isinstance(version, int) and not isinstance(version, bool) and version > 0:
        return version
    raise InvalidArgumentError(
        f"version must be a positive number or 'latest', not {version!r}", argument="version"
    )


def _subject(subject: object) -> str:
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidArgumentError(
            f"subject must be a non-empty string, not {subject!r}", argument="subject"
        )
    return subject


def _subject_for(schema: SchemaSource, subject: str | None) -> str:
    """The subject to use: the one given, else the model's."""
    if subject is not None:
        return _subject(subject)
    if is_model_class(schema):
        return model_subject(schema)
    raise InvalidArgumentError(
        "subject= is needed: only a FlowBaseModel class knows its own subject", argument="subject"
    )
