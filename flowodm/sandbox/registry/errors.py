"""Confluent Schema Registry error codes and the one error type the registry core raises.

The codes and message wording follow Confluent's REST API documentation, so clients that branch
on ``error_code`` (``confluent_kafka``'s ``SchemaRegistryError.error_code``) behave unchanged.
Each factory below builds one documented error; the HTTP layer turns any
:class:`RegistryHTTPError` into ``{"error_code": N, "message": "..."}``.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """Confluent Schema Registry error codes (plain HTTP codes where Confluent uses them)."""

    BAD_REQUEST = 400
    UNAUTHORIZED = 401
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    INCOMPATIBLE_SCHEMA = 409
    LENGTH_REQUIRED = 411
    PAYLOAD_TOO_LARGE = 413
    UNSUPPORTED_MEDIA_TYPE = 415
    SUBJECT_NOT_FOUND = 40401
    VERSION_NOT_FOUND = 40402
    SCHEMA_NOT_FOUND = 40403
    SUBJECT_SOFT_DELETED = 40404
    SUBJECT_NOT_SOFT_DELETED = 40405
    SCHEMA_VERSION_SOFT_DELETED = 40406
    SCHEMA_VERSION_NOT_SOFT_DELETED = 40407
    SUBJECT_COMPATIBILITY_NOT_CONFIGURED = 40408
    SUBJECT_MODE_NOT_CONFIGURED = 40409
    INVALID_SCHEMA = 42201
    INVALID_VERSION = 42202
    INVALID_COMPATIBILITY_LEVEL = 42203
    INVALID_MODE = 42204
    REFERENCE_EXISTS = 42206
    STORE_ERROR = 50001


class RegistryHTTPError(Exception):
    """A request the registry refuses, with the HTTP status and Confluent error code to answer.

    Attributes:
        status: HTTP status code of the response.
        error_code: Confluent error code put in the response body.
        message: Human-readable reason put in the response body.
    """

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def __repr__(self) -> str:
        return f"RegistryHTTPError({self.status}, {self.error_code}, {self.message!r})"

    def body(self) -> dict[str, object]:
        """Return the Confluent error body ``{"error_code": N, "message": "..."}``."""
        return {"error_code": self.error_code, "message": self.message}


def subject_not_found(subject: str) -> RegistryHTTPError:
    """Build 40401: the subject has no (visible) versions."""
    return RegistryHTTPError(404, ErrorCode.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")


def version_not_found(subject: str, version: int | str) -> RegistryHTTPError:
    """Build 40402: the subject exists but not this version."""
    return RegistryHTTPError(
        404,
        ErrorCode.VERSION_NOT_FOUND,
        f"Version {version} not found for subject '{subject}'.",
    )


def schema_not_found(detail: str = "Schema not found") -> RegistryHTTPError:
    """Build 40403: no such schema id, or the schema is not registered under the subject."""
    return RegistryHTTPError(404, ErrorCode.SCHEMA_NOT_FOUND, detail)


def subject_soft_deleted(subject: str) -> RegistryHTTPError:
    """Build 40404: soft-deleting a subject whose versions are all soft-deleted already."""
    return RegistryHTTPError(
        404,
        ErrorCode.SUBJECT_SOFT_DELETED,
        f"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently",
    )


def subject_not_soft_deleted(subject: str) -> RegistryHTTPError:
    """Build 40405: permanent delete of a subject that was not soft-deleted first."""
    return RegistryHTTPError(
        404,
        ErrorCode.SUBJECT_NOT_SOFT_DELETED,
        f"Subject '{subject}' was not deleted first before being permanently deleted",
    )


def version_soft_deleted(subject: str, version: int) -> RegistryHTTPError:
    """Build 40406: soft-deleting a version that is soft-deleted already."""
    return RegistryHTTPError(
        404,
        ErrorCode.SCHEMA_VERSION_SOFT_DELETED,
        f"Subject '{subject}' Version {version} was soft deleted. "
        "Set permanent=true to delete permanently",
    )


def version_not_soft_deleted(subject: str, version: int) -> RegistryHTTPError:
    """Build 40407: permanent delete of a version that was not soft-deleted first."""
    return RegistryHTTPError(
        404,
        ErrorCode.SCHEMA_VERSION_NOT_SOFT_DELETED,
        f"Subject '{subject}' Version {version} was not deleted first before being "
        "permanently deleted",
    )


def compatibility_not_configured(subject: str) -> RegistryHTTPError:
    """Build 40408: the subject has no subject-level compatibility level of its own."""
    return RegistryHTTPError(
        404,
        ErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
        f"Subject '{subject}' does not have subject-level compatibility configured",
    )


def incompatible_schema(subject: str, details: list[str]) -> RegistryHTTPError:
    """Build 409: the schema breaks the subject's compatibility level."""
    return RegistryHTTPError(
        409,
        ErrorCode.INCOMPATIBLE_SCHEMA,
        f'Schema being registered is incompatible with an earlier schema for subject "{subject}", '
        f"details: [{', '.join(details)}]",
    )


def invalid_schema(reason: str) -> RegistryHTTPError:
    """Build 42201: the schema (or its schema type or references) cannot be parsed."""
    return RegistryHTTPError(422, ErrorCode.INVALID_SCHEMA, f"Invalid schema: {reason}")


def invalid_version(version: str) -> RegistryHTTPError:
    """Build 42202: the version is neither 1..2^31-1 nor ``latest``/``-1``."""
    return RegistryHTTPError(
        422,
        ErrorCode.INVALID_VERSION,
        f"The specified version '{version}' is not a valid version id. Allowed values are "
        'between [1, 2^31-1] and the string "latest"',
    )


def invalid_compatibility_level(level: object) -> RegistryHTTPError:
    """Build 42203: an unknown compatibility level in a config update."""
    return RegistryHTTPError(
        422,
        ErrorCode.INVALID_COMPATIBILITY_LEVEL,
        f"Invalid compatibility level {level!r}. Valid values are none, backward, forward, "
        "full, backward_transitive, forward_transitive, and full_transitive",
    )


def invalid_mode(mode: object) -> RegistryHTTPError:
    """Build 42204: this registry only runs in READWRITE mode."""
    return RegistryHTTPError(
        422,
        ErrorCode.INVALID_MODE,
        f"Invalid mode {mode!r}: this registry only supports READWRITE",
    )


def reference_exists(subject: str, version: int) -> RegistryHTTPError:
    """Build 42206: deleting a version that other live schemas still reference."""
    return RegistryHTTPError(
        422,
        ErrorCode.REFERENCE_EXISTS,
        f"One or more references exist to the schema {{subject={subject},version={version}}}.",
    )


def bad_request(message: str) -> RegistryHTTPError:
    """Build 400: the request is malformed (bad JSON, a field of the wrong type, a bad query).

    Confluent answers a body it cannot bind (e.g. ``schema`` sent as an object) the same way.
    """
    return RegistryHTTPError(400, ErrorCode.BAD_REQUEST, message)
