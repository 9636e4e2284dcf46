"""Keeping secrets out of everything shown: reprs, logs, error messages and widgets.

``redact`` masks a librdkafka or registry config dict, ``safe_url``/``safe_servers`` strip
``user:password@`` parts, ``scrub`` removes known secret values from a foreign message (an
exception from librdkafka or httpx), and ``secrets_in_*`` collect those values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import SecretStr

from flowodm.exceptions import ConfigurationError

__all__ = [
    "MASK",
    "is_secret_key",
    "redact",
    "safe_servers",
    "safe_url",
    "scrub",
    "secrets_in_config",
    "secrets_in_url",
    "split_url_credentials",
]

MASK = "**********"

_SECRET_KEY_PARTS = ("password", "secret", "user.info", "token", "credentials", ".pem", "jaas")


def redact(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a librdkafka or registry config dict that is safe to show.

    Values of secret keys (``sasl.password``, ``ssl.key.password``, ``basic.auth.user.info``,
    anything with password/secret/token/credentials in its name …) and ``SecretStr`` values become
    ``**********``; URLs lose embedded credentials.
    """
    shown: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, SecretStr) or is_secret_key(str(key)):
            shown[key] = MASK
        elif isinstance(value, str) and "@" in value and "://" in value:
            shown[key] = safe_url(value)
        else:
            shown[key] = value
    return shown


def safe_url(url: str) -> str:
    """Return ``url`` (or a comma-separated list of URLs) without embedded ``user:password@``."""
    return ",".join(_strip_userinfo(part.strip()) for part in url.split(","))


def safe_servers(servers: str) -> str:
    """Return a ``bootstrap_servers`` list with any ``user:password@`` part removed."""
    return ",".join(_strip_servers_userinfo(part.strip()) for part in servers.split(","))


def _strip_servers_userinfo(server: str) -> str:
    scheme, separator, rest = server.rpartition("://")
    if "@" not in rest:
        return server
    return f"{scheme}{separator}{rest.rsplit('@', 1)[1]}"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``**********``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def split_url_credentials(url: str) -> tuple[str, str | None]:
    """Split ``user:password@`` out of a (comma-separated) URL list.

    Returns:
        The URLs without credentials, and the decoded ``user:password`` (``None`` if none).

    Raises:
        ConfigurationError: the URLs carry different credentials.
    """
    found: set[str] = set()
    for part in url.split(","):
        parts = urlsplit(part.strip())
        if parts.username is not None or parts.password is not None:
            found.add(f"{unquote(parts.username or '')}:{unquote(parts.password or '')}")
    if len(found) > 1:
        raise ConfigurationError(
            "the URLs in schema_registry_url carry different credentials; give them once, "
            "as schema_registry_basic_auth_user_info"
        )
    return safe_url(url), (found.pop() if found else None)


def secrets_in_url(url: str | None) -> list[str]:
    """Return the ``user:password`` and password embedded in ``url``, if any."""
    if not url:
        return []
    found = []
    for part in url.split(","):
        netloc = urlsplit(part.strip()).netloc
        if "@" in netloc:
            userinfo = netloc.rsplit("@", 1)[0]
            password = userinfo.partition(":")[2]
            found.extend([userinfo, password, unquote(userinfo), unquote(password)])
    return [value for value in found if value]


def is_secret_key(key: str) -> bool:
    """Return whether a librdkafka or registry-client property holds a secret value."""
    lowered = key.lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def secrets_in_config(mapping: Mapping[str, Any]) -> list[str]:
    """Return the secret values of a librdkafka or registry config dict."""
    found = []
    for key, value in mapping.items():
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif is_secret_key(str(key)) and isinstance(value, str):
            found.append(value)
            if "user.info" in key.lower():
                found.append(value.partition(":")[2])
    return found
