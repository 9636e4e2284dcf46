"""The local sandbox: a Tansu Kafka broker and FlowODM's Schema Registry, with no Docker.

    >>> import flowodm.sandbox
    >>> sandbox = flowodm.sandbox.start()      # idempotent; processes outlive this kernel
    >>> conn = sandbox.connect()
    >>> flowodm.sandbox.stop()

Its names load on first use: ``python -m flowodm.sandbox.registry`` imports this package
first, and the registry process loads nothing but its own package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowodm._lazy import attach

if TYPE_CHECKING:
    from flowodm.sandbox.api import Sandbox, SandboxHealth, health, start, status, stop

__all__ = ["Sandbox", "SandboxHealth", "health", "start", "status", "stop"]

if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error
    __getattr__, __dir__ = attach(__name__, dict.fromkeys(__all__, "flowodm.sandbox.api"))
