"""Count the HTTP requests a ``RegistryAdapter`` really sends (its caches must avoid them)."""

from __future__ import annotations

from typing import Any

from flowodm.serde.registry import RegistryAdapter


class RequestLog:
    """Records ``"METHOD /path"`` for every request the adapter's HTTP session sends."""

    def __init__(self, adapter: RegistryAdapter) -> None:
        self.requests: list[str] = []
        # The session is private to confluent's client, but it is the one place every HTTP
        # request passes through, so hooking it counts real traffic, not method calls.
        session = adapter.client._rest_client.session
        hooks = session.event_hooks
        hooks["request"] = [*hooks["request"], self._record]
        session.event_hooks = hooks

    def _record(self, request: Any) -> None:
        self.requests.append(f"{request.method} {request.url.path}")

    def matching(self, method: str, path_part: str) -> list[str]:
        """The recorded requests with ``method`` whose path contains ``path_part``."""
        return [r for r in self.requests if r.startswith(method + " ") and path_part in r]
