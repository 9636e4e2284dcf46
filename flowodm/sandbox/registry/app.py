"""Routes of the Confluent REST API, request decoding, basic auth and the one error→body map.

:meth:`RegistryApp.handle` takes a method, a raw path, headers and a body and returns status,
headers and payload; it knows nothing of sockets, so :mod:`server` only has to adapt the stdlib
HTTP server to it. Every failure, expected or not, leaves here as a Confluent error body.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flowodm.sandbox.registry import errors
from flowodm.sandbox.registry.errors import ErrorCode, RegistryHTTPError
from flowodm.sandbox.registry.inputs import SchemaRequest
from flowodm.sandbox.registry.schemas import SCHEMA_TYPES
from flowodm.sandbox.registry.service import Registry

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
ACCEPTED_CONTENT_TYPES = frozenset(
    {
        CONTENT_TYPE,
        "application/vnd.schemaregistry+json",
        "application/json",
        "application/octet-stream",
    }
)
_READWRITE = "READWRITE"
_MAX_SCHEMA_ID = 2**31 - 1

logger = logging.getLogger("flowodm.sandbox.registry")


@dataclass(frozen=True)
class BasicAuth:
    """HTTP basic-auth credentials; the password never appears in ``repr``."""

    user: str
    password: str = field(repr=False)

    @classmethod
    def parse(cls, value: str) -> BasicAuth:
        """Parse ``USER:PASSWORD`` (the password may contain ``:``).

        Raises:
            ValueError: The value has no ``:`` or an empty user; the message never echoes it.
        """
        user, sep, password = value.partition(":")
        if not sep or not user:
            raise ValueError(
                "basic auth must be given as USER:PASSWORD (non-empty user, a colon, then the "
                "password)"
            )
        return cls(user, password)

    def accepts(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries these credentials (constant time)."""
        if not header or header[:6].lower() != "basic ":
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{self.user}:{self.password}".encode()
        return hmac.compare_digest(decoded, expected)


@dataclass(frozen=True)
class Request:
    """A decoded request: path parameters, query, JSON body (lazily) and the raw body."""

    params: dict[str, str]
    query: dict[str, list[str]]
    raw_body: bytes
    accept_unknown: bool = False

    def schema_request(self) -> SchemaRequest:
        """Decode the body of a register, lookup or compatibility request."""
        return SchemaRequest.from_json(self.json(), self.accept_unknown)

    def json(self) -> Any:
        """Decode the body as JSON (400 when empty, malformed or nested absurdly deep)."""
        if not self.raw_body.strip():
            raise errors.bad_request("The request body is empty; send a JSON object")
        try:
            return json.loads(self.raw_body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise errors.bad_request(f"The request body is not valid JSON: {exc}") from exc
        except RecursionError:
            raise errors.bad_request("The request body nests JSON too deeply") from None

    def json_object(self) -> dict[str, Any]:
        """Decode the body as a JSON object (400 for anything else)."""
        body = self.json()
        if not isinstance(body, dict):
            raise errors.bad_request(
                f"The request body must be a JSON object, got {type(body).__name__}"
            )
        return body

    def flag(self, name: str) -> bool:
        """Return a boolean query parameter (``true``/``false``, any case; absent: false)."""
        value = self.text(name)
        if value is None or value.lower() == "false":
            return False
        if value.lower() == "true":
            return True
        raise errors.bad_request(f"Query parameter '{name}' must be true or false, got {value!r}")

    def deleted_only(self) -> bool:
        """Return the deleted-only flag under either spelling.

        Confluent's server reads ``deletedOnly``; confluent-kafka's Python client sends
        ``deleted_only``.
        """
        return self.flag("deletedOnly") or self.flag("deleted_only")

    def text(self, name: str) -> str | None:
        """Return the last value of a query parameter, or ``None``."""
        values = self.query.get(name)
        return values[-1] if values else None

    def integer(self, name: str, default: int) -> int:
        """Return an integer query parameter (400 when it is not one)."""
        value = self.text(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise errors.bad_request(
                f"Query parameter '{name}' must be an integer, got {value!r}"
            ) from None


@dataclass(frozen=True)
class Response:
    """Status and payload; ``payload`` is JSON-encoded unless ``raw`` is set."""

    status: int
    payload: Any
    raw: bool = False

    def encode(self) -> bytes:
        """Return the response body bytes."""
        if self.raw:
            return str(self.payload).encode()
        return json.dumps(self.payload, separators=(",", ":")).encode()


Handler = Callable[[Registry, Request], Response]


def _ok(payload: Any) -> Response:
    return Response(200, payload)


def _schema_id(request: Request) -> int:
    """Return the ``{id}`` path parameter; 40403 for anything that cannot be an id."""
    text = request.params["id"]
    if not re.fullmatch(r"-?\d+", text):
        raise errors.schema_not_found(f"Schema id '{text}' is not an integer")
    # Confluent ids are 32-bit; a larger number cannot name a schema (nor fit in SQLite).
    if not 1 <= int(text) <= _MAX_SCHEMA_ID:
        raise errors.schema_not_found(f"Schema {text} not found")
    return int(text)


def _page(items: list[Any], request: Request) -> list[Any]:
    """Apply Confluent's ``offset``/``limit`` (``limit`` -1 or absent: everything)."""
    offset = max(request.integer("offset", 0), 0)
    limit = request.integer("limit", -1)
    return items[offset:] if limit < 0 else items[offset : offset + limit]


def _root(registry: Registry, request: Request) -> Response:
    return _ok({})


def _subjects(registry: Registry, request: Request) -> Response:
    names = registry.subjects(
        request.flag("deleted"), request.deleted_only(), request.text("subjectPrefix") or ""
    )
    return _ok(_page(names, request))


def _lookup(registry: Registry, request: Request) -> Response:
    body = request.schema_request()
    return _ok(registry.lookup(request.params["subject"], body, request.flag("deleted")))


def _delete_subject(registry: Registry, request: Request) -> Response:
    return _ok(registry.delete_subject(request.params["subject"], request.flag("permanent")))


def _versions(registry: Registry, request: Request) -> Response:
    found = registry.versions(
        request.params["subject"], request.flag("deleted"), request.deleted_only()
    )
    return _ok(_page(found, request))


def _register(registry: Registry, request: Request) -> Response:
    body = request.schema_request()
    return _ok(registry.register(request.params["subject"], body))


def _version(registry: Registry, request: Request) -> Response:
    params = request.params
    return _ok(registry.version(params["subject"], params["version"], request.flag("deleted")))


def _version_schema(registry: Registry, request: Request) -> Response:
    params = request.params
    text = registry.version_schema(params["subject"], params["version"], request.flag("deleted"))
    return Response(200, text, raw=True)


def _referenced_by(registry: Registry, request: Request) -> Response:
    params = request.params
    return _ok(_page(registry.referenced_by(params["subject"], params["version"]), request))


def _delete_version(registry: Registry, request: Request) -> Response:
    params = request.params
    number = registry.delete_version(
        params["subject"], params["version"], request.flag("permanent")
    )
    return _ok(number)


def _schema(registry: Registry, request: Request) -> Response:
    return _ok(registry.schema_by_id(_schema_id(request), request.text("subject")))


def _schema_text(registry: Registry, request: Request) -> Response:
    text = registry.schema_text_by_id(_schema_id(request), request.text("subject"))
    return Response(200, text, raw=True)


def _schema_versions(registry: Registry, request: Request) -> Response:
    found = registry.schema_versions(_schema_id(request), request.flag("deleted"))
    subject = request.text("subject")
    if subject is not None:
        found = [item for item in found if item["subject"] == subject]
    return _ok(_page(found, request))


def _schema_subjects(registry: Registry, request: Request) -> Response:
    found = registry.schema_subjects(_schema_id(request), request.flag("deleted"))
    subject = request.text("subject")
    if subject is not None:
        found = [item for item in found if item == subject]
    return _ok(_page(found, request))


def _schema_types(registry: Registry, request: Request) -> Response:
    return _ok(list(SCHEMA_TYPES))


def _get_config(registry: Registry, request: Request) -> Response:
    subject = request.params.get("subject")
    return _ok(registry.get_config(subject, request.flag("defaultToGlobal")))


def _put_config(registry: Registry, request: Request) -> Response:
    return _ok(registry.set_config(request.params.get("subject"), request.json_object()))


def _delete_config(registry: Registry, request: Request) -> Response:
    return _ok(registry.delete_config(request.params.get("subject")))


def _compatibility(registry: Registry, request: Request) -> Response:
    body = request.schema_request()
    answer = registry.test_compatibility(
        request.params["subject"], request.params.get("version"), body, request.flag("verbose")
    )
    return _ok(answer)


def _get_mode(registry: Registry, request: Request) -> Response:
    return _ok({"mode": _READWRITE})


def _put_mode(registry: Registry, request: Request) -> Response:
    mode = request.json_object().get("mode")
    if not isinstance(mode, str) or mode.upper() != _READWRITE:
        raise errors.invalid_mode(mode)
    return _ok({"mode": _READWRITE})


def _contexts(registry: Registry, request: Request) -> Response:
    return _ok(["."])


_SUBJECT = "subjects/{subject}"
_VERSION = "subjects/{subject}/versions/{version}"
_SCHEMA = "schemas/ids/{id}"

ROUTES: dict[str, dict[str, Handler]] = {
    "": {"GET": _root},
    "subjects": {"GET": _subjects},
    _SUBJECT: {"POST": _lookup, "DELETE": _delete_subject},
    f"{_SUBJECT}/versions": {"GET": _versions, "POST": _register},
    _VERSION: {"GET": _version, "DELETE": _delete_version},
    f"{_VERSION}/schema": {"GET": _version_schema},
    f"{_VERSION}/referencedby": {"GET": _referenced_by},
    _SCHEMA: {"GET": _schema},
    f"{_SCHEMA}/schema": {"GET": _schema_text},
    f"{_SCHEMA}/versions": {"GET": _schema_versions},
    f"{_SCHEMA}/subjects": {"GET": _schema_subjects},
    "schemas/types": {"GET": _schema_types},
    "config": {"GET": _get_config, "PUT": _put_config, "DELETE": _delete_config},
    "config/{subject}": {"GET": _get_config, "PUT": _put_config, "DELETE": _delete_config},
    "compatibility/subjects/{subject}/versions": {"POST": _compatibility},
    "compatibility/subjects/{subject}/versions/{version}": {"POST": _compatibility},
    "mode": {"GET": _get_mode, "PUT": _put_mode},
    "mode/{subject}": {"GET": _get_mode, "PUT": _put_mode},
    "contexts": {"GET": _contexts},
}

_PATTERNS = [(tuple(pattern.split("/")) if pattern else (), pattern) for pattern in ROUTES]


def match_route(segments: tuple[str, ...]) -> tuple[str, dict[str, str]] | None:
    """Find the route pattern for decoded path segments and extract its parameters."""
    for parts, pattern in _PATTERNS:
        if len(parts) != len(segments):
            continue
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{"):
                params[part[1:-1]] = segment
            elif part != segment:
                break
        else:
            return pattern, params
    return None


class RegistryApp:
    """The HTTP-independent application: auth, routing, decoding and error mapping.

    Args:
        registry: The registry core.
        basic_auth: Credentials every request must carry, or ``None`` for no auth.
    """

    def __init__(self, registry: Registry, basic_auth: BasicAuth | None = None) -> None:
        self.registry = registry
        self._basic_auth = basic_auth

    def __repr__(self) -> str:
        return f"RegistryApp(auth={'basic' if self._basic_auth else 'none'})"

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request; never raises.

        Args:
            method: HTTP method.
            target: The request target (path and query, still percent-encoded).
            headers: Request headers, names in lower case.
            body: The request body.

        Returns:
            Status, response headers and body.
        """
        extra_headers: dict[str, str] = {}
        try:
            response = self._dispatch(method, target, headers, body)
        except RegistryHTTPError as exc:
            if exc.status == 401:
                extra_headers["WWW-Authenticate"] = 'Basic realm="flowodm-registry"'
            response = Response(exc.status, exc.body())
        except sqlite3.Error:
            logger.exception("registry store failed on %s %s", method, urlsplit(target).path)
            response = Response(
                500,
                {"error_code": ErrorCode.STORE_ERROR, "message": "Error in the backend data store"},
            )
        except Exception:
            logger.exception("unexpected error on %s %s", method, urlsplit(target).path)
            response = Response(500, {"error_code": 500, "message": "Internal Server Error"})
        payload = response.encode()
        return response.status, {"Content-Type": CONTENT_TYPE, **extra_headers}, payload

    def _dispatch(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        if self._basic_auth is not None and not self._basic_auth.accepts(
            headers.get("authorization")
        ):
            raise RegistryHTTPError(401, ErrorCode.UNAUTHORIZED, "Unauthorized")
        split = urlsplit(target)
        raw_segments = split.path.strip("/").split("/") if split.path.strip("/") else []
        segments = tuple(unquote(segment) for segment in raw_segments)
        found = match_route(segments)
        if found is None:
            raise RegistryHTTPError(404, ErrorCode.NOT_FOUND, "HTTP 404 Not Found")
        pattern, params = found
        handler = ROUTES[pattern].get(method)
        if handler is None:
            raise RegistryHTTPError(
                405, ErrorCode.METHOD_NOT_ALLOWED, "HTTP 405 Method Not Allowed"
            )
        if method in ("POST", "PUT"):
            _check_content_type(headers.get("content-type"))
        query = parse_qs(split.query, keep_blank_values=True)
        accept_unknown = headers.get("confluent-accept-unknown-properties", "").lower() == "true"
        return handler(self.registry, Request(params, query, body, accept_unknown))


def _check_content_type(value: str | None) -> None:
    """Accept Confluent's media types, plain JSON and no content type at all (415 otherwise)."""
    if value is None or not value.strip():
        return
    media_type = value.split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_CONTENT_TYPES:
        raise RegistryHTTPError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"HTTP 415 Unsupported Media Type: {media_type!r}; send {CONTENT_TYPE} or "
            "application/json",
        )
