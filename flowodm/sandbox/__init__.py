"""The local sandbox: a Tansu Kafka broker and FlowODM's Schema Registry, with no Docker.

    >>> import flowodm.sandbox
    >>> sandbox = flowodm.sandbox.start()      # idempotent; processes outlive this kernel
    >>> conn = sandbox.connect()
    >>> flowodm.sandbox.stop()

This package's own import is light (no Kafka client), because ``python -m
flowodm.sandbox.registry`` imports it first.
"""

from __future__ import annotations

from flowodm.sandbox.api import Sandbox, SandboxHealth, health, start, status, stop

__all__ = ["Sandbox", "SandboxHealth", "health", "start", "status", "stop"]
