"""A local, standalone, Confluent-compatible Schema Registry backed by SQLite.

It speaks the Confluent Schema Registry REST API (see ``docs/registry.md``) so that
``confluent_kafka``'s ``SchemaRegistryClient`` and Avro serializers work against it unchanged.
Nothing here imports the rest of ``flowodm``: the package stands alone.

Example:
    >>> import tempfile
    >>> from flowodm.sandbox.registry import serve
    >>> server = serve(port=0, data_dir=tempfile.mkdtemp())
    >>> server.port > 0
    True
    >>> server.shutdown()
"""

from __future__ import annotations

from flowodm.sandbox.registry.app import BasicAuth
from flowodm.sandbox.registry.cli import add_arguments, main
from flowodm.sandbox.registry.server import RegistryServer, serve

__all__ = ["BasicAuth", "RegistryServer", "add_arguments", "main", "serve"]
