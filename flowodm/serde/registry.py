"""The one boundary to the Schema Registry: confluent's client with timeouts and wrapped errors.

Contract (used by ``Connection.registry`` and the model codec):

- ``RegistryAdapter(url, *, config, timeout)`` builds confluent's ``SchemaRegistryClient`` with
  ``timeout`` (seconds per HTTP attempt) and ``max.retries=1`` unless ``config`` says otherwise,
  so an unreachable or silent registry fails in seconds, not never (confluent's default client
  has no timeout). Unknown client properties raise ``ConfigurationError`` at construction.
- Credentials embedded in the URL (``http://user:password@host``) are taken out of it and
  passed as ``basic.auth.user.info``, so the HTTP library never logs them with the URL; if
  ``config`` holds other credentials too, that is a ``ConfigurationError``.
- ``register(subject, schema) -> int``, ``lookup(subject, schema) -> int`` (for
  ``auto_register=False``) and ``get_schema(schema_id)`` are cached in this adapter, keyed by
  (subject, canonical schema) and by id, so one adapter (one registry URL) asks once.
- Subject administration for ``flowodm.tools`` (no caching, each call asks the registry):
  ``subjects()``, ``versions(subject)``, ``get_version(subject, version)`` (a
  ``SubjectVersion``), ``compatibility_level(subject)`` (the subject's, else the global one),
  ``set_compatibility_level(subject, level)``, ``test_compatibility(subject, schema)`` (the
  registry's verdict and its verbose messages) and ``delete_subject(subject, permanent=...)``.
- Every failure, HTTP or network, raises ``flowodm.exceptions.SchemaRegistryError`` with
  ``url`` (credentials stripped), ``subject``, ``http_status`` and ``error_code``, a message that
  says what to do, and no secret in it.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError as _ConfluentRegistryError

from flowodm._secrets import scrub, secrets_in_config, secrets_in_url, split_url_credentials
from flowodm.exceptions import ConfigurationError, SchemaRegistryError

__all__ = [
    "DEFAULT_CLIENT_SETTINGS",
    "SCHEMA_NOT_FOUND",
    "AvroSchema",
    "RegistryAdapter",
    "SubjectVersion",
    "canonical_json",
]

AvroSchema = dict[str, Any] | list[Any] | str
_T = TypeVar("_T")

# Client settings applied under the caller's config: one retry with a short back-off, so a
# refused connection fails in well under a second and a black-holed one in about 2 x timeout.
DEFAULT_CLIENT_SETTINGS: dict[str, Any] = {
    "max.retries": 1,
    "retries.wait.ms": 100,
    "retries.max.wait.ms": 1000,
}


def _http_modules() -> list[ModuleType]:
    """The HTTP libraries confluent's client may use: ``httpx2`` when installed, else ``httpx``.

    confluent-kafka >= 2.16 prefers ``httpx2`` (a separate package with its own exception
    classes); catching both families keeps the wrapping right whichever one it picked.
    """
    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return found


_TIMEOUT_ERRORS: tuple[type[Exception], ...] = tuple(
    module.TimeoutException for module in _http_modules()
)
_TRANSPORT_ERRORS: tuple[type[Exception], ...] = tuple(
    module.HTTPError for module in _http_modules()
)

_USER_INFO = "basic.auth.user.info"

# Confluent Schema Registry error codes (see its API reference).
_SUBJECT_NOT_FOUND = 40401
_VERSION_NOT_FOUND = 40402
#: The registry's error code for an unknown schema id (a message names a schema it does not have).
SCHEMA_NOT_FOUND = 40403
_INVALID_SCHEMA = 42201


class SubjectVersion(NamedTuple):
    """One registered version of a subject: where it is, its id and its (parsed) schema."""

    subject: str
    version: int
    schema_id: int
    schema: AvroSchema
    schema_type: str


def canonical_json(schema: AvroSchema) -> str:
    """Return a stable JSON text of ``schema`` (sorted keys, no spaces), used as a cache key."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


class RegistryAdapter:
    """A Schema Registry client that fails fast, caches, and raises FlowODM's errors.

    Example:
        >>> adapter = RegistryAdapter("http://127.0.0.1:8081", config={}, timeout=2.0)
        >>> schema_id = adapter.register("orders-value", {"type": "record", ...})  # doctest: +SKIP
    """

    def __init__(
        self, url: str, *, config: Mapping[str, Any] | None = None, timeout: float = 2.0
    ) -> None:
        """Create the client; no request is made yet.

        Args:
            url: Registry URL (or comma-separated URLs); may embed ``user:password@``.
            config: Extra confluent client properties (``basic.auth.user.info``,
                ``ssl.ca.location``, ``max.retries`` …); they override FlowODM's defaults.
            timeout: Seconds each HTTP attempt may take.

        Raises:
            ConfigurationError: ``config`` holds an unknown or invalid property.
        """
        extra = dict(config or {})
        if "url" in extra:
            raise ConfigurationError(
                "schema_registry_config must not contain 'url'; pass schema_registry_url instead"
            )
        bare_url, from_url = split_url_credentials(url)
        if from_url is not None:
            given = extra.get(_USER_INFO)
            if given is not None and str(given) != from_url:
                raise ConfigurationError(
                    f"Schema Registry {bare_url}: credentials are given twice and differ, in "
                    "schema_registry_url and as schema_registry_basic_auth_user_info (or "
                    "schema_registry_api_key/secret, or basic.auth.user.info in "
                    "schema_registry_config); give them once"
                )
            # The HTTP client logs request URLs: credentials must not be part of them.
            extra[_USER_INFO] = from_url
        settings = {"url": bare_url, "timeout": timeout, **DEFAULT_CLIENT_SETTINGS, **extra}
        self._url = bare_url
        self._timeout = float(settings["timeout"])
        self._retries = int(settings["max.retries"])
        self._secrets = secrets_in_url(url) + secrets_in_config(extra)
        try:
            self._client = SchemaRegistryClient(settings)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"invalid Schema Registry client settings for {self._url}: "
                f"{scrub(str(exc), self._secrets)}"
            ) from None
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, AvroSchema] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The registry URL without embedded credentials."""
        return self._url

    @property
    def client(self) -> SchemaRegistryClient:
        """The underlying confluent client (for the few calls this adapter does not wrap)."""
        return self._client

    def register(self, subject: str, schema: AvroSchema) -> int:
        """Register ``schema`` under ``subject`` (idempotent) and return its id.

        Raises:
            SchemaRegistryError: the registry refused (e.g. incompatible) or was unreachable.
        """
        key = (subject, canonical_json(schema))
        if key in self._ids:
            return self._ids[key]
        schema_id = self._call(
            "register the schema",
            subject,
            lambda: self._client.register_schema(subject, _to_schema(schema)),
        )
        with self._lock:
            self._ids[key] = schema_id
        return schema_id

    def lookup(self, subject: str, schema: AvroSchema) -> int:
        """Return the id of ``schema`` already registered under ``subject``, without registering.

        Raises:
            SchemaRegistryError: the subject or schema is not registered, or the registry failed.
        """
        key = (subject, canonical_json(schema))
        if key in self._ids:
            return self._ids[key]
        registered = self._call(
            "look up the schema",
            subject,
            lambda: self._client.lookup_schema(subject, _to_schema(schema)),
        )
        if registered.schema_id is None:
            raise self._error("look up the schema", subject, "the answer has no id", _ODD_ANSWER)
        schema_id = int(registered.schema_id)
        with self._lock:
            self._ids[key] = schema_id
        return schema_id

    def get_schema(self, schema_id: int) -> AvroSchema:
        """Return the Avro schema with ``schema_id`` as parsed JSON (cached).

        Raises:
            SchemaRegistryError: no such id, not an Avro schema, or the registry failed.
        """
        if schema_id in self._schemas:
            return self._schemas[schema_id]
        fetched = self._call(
            f"fetch schema id {schema_id}", None, lambda: self._client.get_schema(schema_id)
        )
        if (fetched.schema_type or "AVRO") != "AVRO":
            raise SchemaRegistryError(
                f"Schema Registry {self._url}: schema id {schema_id} is a "
                f"{fetched.schema_type} schema, not Avro; FlowODM reads Avro values only",
                url=self._url,
            )
        if fetched.schema_str is None:
            raise self._error(f"fetch schema id {schema_id}", None, "no schema text", _ODD_ANSWER)
        parsed: AvroSchema = json.loads(fetched.schema_str)
        with self._lock:
            self._schemas[schema_id] = parsed
        return parsed

    # --- subject administration (flowodm.tools): not cached, every call asks the registry ---

    def subjects(self, *, prefix: str | None = None, deleted: bool = False) -> list[str]:
        """Return the registry's subjects (with ``deleted``, soft-deleted ones too), sorted.

        Raises:
            SchemaRegistryError: the registry failed or could not be reached.
        """
        found = self._call(
            "list the subjects",
            None,
            lambda: self._client.get_subjects(subject_prefix=prefix, deleted=deleted),
        )
        return sorted(str(subject) for subject in found)

    def versions(self, subject: str) -> list[int]:
        """Return the live version numbers of ``subject``, oldest first.

        Raises:
            SchemaRegistryError: no such subject (error code 40401), or the registry failed.
        """
        found = self._call("list the versions", subject, lambda: self._client.get_versions(subject))
        return sorted(int(version) for version in found)

    def get_version(self, subject: str, version: int | str = "latest") -> SubjectVersion:
        """Return one version of ``subject`` (a number, or ``"latest"``) with its schema.

        Raises:
            SchemaRegistryError: no such subject or version, or the registry failed.
        """
        found = self._call(
            f"fetch version {version}",
            subject,
            lambda: self._client.get_version(subject, version),  # type: ignore[arg-type]
        )
        schema = found.schema
        if found.schema_id is None or found.version is None or schema.schema_str is None:
            raise self._error(f"fetch version {version}", subject, "incomplete answer", _ODD_ANSWER)
        schema_type = schema.schema_type or "AVRO"
        text = schema.schema_str
        parsed: AvroSchema = json.loads(text) if schema_type == "AVRO" else text
        return SubjectVersion(
            subject, int(found.version), int(found.schema_id), parsed, schema_type
        )

    def compatibility_level(self, subject: str | None = None) -> str:
        """Return the level that applies to ``subject`` (its own, else the global level).

        Raises:
            SchemaRegistryError: the registry failed or could not be reached.
        """
        path = "config" if subject is None else f"config/{_quoted(subject)}"
        answer = self._call(
            "read the compatibility level",
            subject,
            lambda: self._client._rest_client.get(path, {"defaultToGlobal": "true"}),
        )
        return str(answer["compatibilityLevel"])

    def set_compatibility_level(self, subject: str, level: str) -> str:
        """Set ``subject``'s compatibility level and return it as the registry confirms it.

        Raises:
            SchemaRegistryError: the registry refused the level or failed.
        """
        answer = self._call(
            f"set the compatibility level to {level}",
            subject,
            lambda: self._client.set_compatibility(subject, level),
        )
        return str(answer.get("compatibility", level) if isinstance(answer, dict) else answer)

    def test_compatibility(self, subject: str, schema: AvroSchema) -> tuple[bool, list[str]]:
        """Ask whether ``schema`` could be registered under ``subject`` at its level.

        Uses the all-versions endpoint with ``verbose=true``, so the registry applies the
        subject's level (transitive or not) and says why a schema is incompatible.
        confluent's ``test_compatibility_all_versions`` returns only the verdict, so the
        request goes through its REST client to keep the messages.

        Returns:
            The verdict and the registry's messages (empty when compatible).

        Raises:
            SchemaRegistryError: the registry failed or could not be reached.
        """
        path = f"compatibility/subjects/{_quoted(subject)}/versions?verbose=true"
        body = _to_schema(schema).to_dict()
        answer = self._call(
            "test compatibility",
            subject,
            lambda: self._client._rest_client.post(path, body=body),
        )
        messages = answer.get("messages") or []
        return bool(answer["is_compatible"]), [str(message) for message in messages]

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Soft-delete ``subject`` (or, with ``permanent``, delete it for good) and return
        the versions deleted.

        A permanent delete soft-deletes first when needed, as the registry requires.

        Raises:
            SchemaRegistryError: no such subject, or the registry failed.
        """
        if not permanent:
            found = self._call(
                "delete the subject", subject, lambda: self._client.delete_subject(subject)
            )
            return sorted(int(version) for version in found)
        live = self._call(
            "list the live versions",
            subject,
            lambda: self._client.get_subjects(subject_prefix=subject, deleted=False),
        )
        if subject in live:
            self._call("delete the subject", subject, lambda: self._client.delete_subject(subject))
        found = self._call(
            "delete the subject permanently",
            subject,
            lambda: self._client.delete_subject(subject, permanent=True),
        )
        with self._lock:
            self._ids = {key: value for key, value in self._ids.items() if key[0] != subject}
        return sorted(int(version) for version in found)

    def close(self) -> None:
        """Close the HTTP session; the adapter is unusable afterwards."""
        self._client.close()

    def __repr__(self) -> str:
        return f"RegistryAdapter(url={self._url!r}, timeout={self._timeout})"

    def _call(self, action: str, subject: str | None, request: Callable[[], _T]) -> _T:
        """Run one client request and translate every failure into our error."""
        try:
            return request()
        except _ConfluentRegistryError as exc:
            raise self._http_error(action, subject, exc) from None
        except _TIMEOUT_ERRORS as exc:
            detail = (
                f"no answer within {self._timeout:g} s per attempt "
                f"({self._retries + 1} attempts; {type(exc).__name__})"
            )
            raise self._error(action, subject, detail, _UNREACHABLE_HINT) from None
        except _TRANSPORT_ERRORS as exc:
            detail = f"{type(exc).__name__}: {exc}"
            raise self._error(action, subject, detail, _UNREACHABLE_HINT) from None
        except (ValueError, KeyError) as exc:
            # A 2xx answer that is not the registry's JSON: wrong URL (a web page) or a proxy.
            detail = f"unexpected response ({type(exc).__name__}: {exc})"
            raise self._error(action, subject, detail, _ODD_ANSWER) from None

    def _http_error(
        self, action: str, subject: str | None, exc: _ConfluentRegistryError
    ) -> SchemaRegistryError:
        status, code = exc.http_status_code, exc.error_code
        detail = f"HTTP {status}, error code {code}: {exc.error_message}"
        registry_code = isinstance(code, int) and code >= 10_000  # e.g. 40401, not -1 or 404
        if status == 404 and not registry_code:
            answer = _shorten(str(exc.error_message))
            detail = f"HTTP 404 without a Schema Registry error code (the answer was {answer})"
            hint = (
                f"{self._url} does not look like a Schema Registry (its API answers 404 with an "
                "error code such as 40401); check schema_registry_url, including its path"
            )
        elif code in (_SUBJECT_NOT_FOUND, SCHEMA_NOT_FOUND, _VERSION_NOT_FOUND) and subject:
            hint = (
                "the schema is not registered under this subject; register it first "
                "(Model.register_schema()) or set auto_register = True in the model's Settings"
            )
        elif code == SCHEMA_NOT_FOUND:
            hint = "the message was written with a schema this registry does not have"
        elif status == 409:
            hint = (
                "the schema is incompatible with the versions already registered under this "
                "subject; make the change compatible (e.g. give new fields a default) or "
                "change the subject's compatibility level"
            )
        elif code == _INVALID_SCHEMA or status == 422:
            hint = "the registry rejected the schema as invalid Avro"
        elif status in (401, 403):
            hint = (
                "authentication failed; check schema_registry_basic_auth_user_info or "
                "schema_registry_api_key/schema_registry_api_secret"
            )
        elif status is not None and status >= 500:
            hint = "the registry failed internally; retry later or check its logs"
        else:
            hint = "check the subject and the registry's answer (HTTP status and error code)"
        return self._error(action, subject, detail, hint, http_status=status, error_code=code)

    def _error(
        self,
        action: str,
        subject: str | None,
        detail: str,
        hint: str,
        *,
        http_status: int | None = None,
        error_code: int | None = None,
    ) -> SchemaRegistryError:
        where = f" for subject {subject!r}" if subject else ""
        # Foreign texts end with or without a period; join the sentences with exactly one.
        detail = detail.strip().rstrip(".").rstrip()
        message = (
            f"Schema Registry {self._url}: could not {action}{where}: {detail}. "
            f"Fix: {hint.rstrip('.')}."
        )
        return SchemaRegistryError(
            scrub(message, self._secrets),
            url=self._url,
            subject=subject,
            http_status=http_status,
            error_code=error_code,
        )


_UNREACHABLE_HINT = (
    "check schema_registry_url and that the registry is running and reachable; "
    "raise registry_timeout in connect() for a slow registry"
)


_ODD_ANSWER = "check that schema_registry_url points at a Confluent-compatible Schema Registry"


def _shorten(text: str, limit: int = 120) -> str:
    """A foreign answer (maybe a whole HTML page) cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(subject: str) -> str:
    """A subject as one URL path segment (confluent's client quotes the same way)."""
    return quote(subject, safe="")


def _to_schema(schema: AvroSchema) -> Schema:
    return Schema(json.dumps(schema), "AVRO")
