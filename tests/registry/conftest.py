"""Fixtures for the registry tests: an in-process registry on a free port, and clients for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from flowodm.sandbox.registry import RegistryServer, serve


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryServer]:
    """A registry serving from this test's own temporary data directory."""
    server = serve(port=0, data_dir=tmp_path / "registry")
    yield server
    server.shutdown()


@pytest.fixture
def http(registry: RegistryServer) -> Iterator[httpx.Client]:
    """A raw HTTP client for the registry."""
    with httpx.Client(base_url=registry.url, timeout=5) as client:
        yield client


@pytest.fixture
def sr_client(registry: RegistryServer) -> Iterator[SchemaRegistryClient]:
    """Confluent's own registry client, pointed at the registry."""
    client = SchemaRegistryClient({"url": registry.url, "timeout": 5})
    yield client
    client.close()


@pytest.fixture
def fresh_client(registry: RegistryServer) -> Iterator[Callable[[], SchemaRegistryClient]]:
    """Make clients with empty caches (so calls really go over HTTP); all closed afterwards."""
    made: list[SchemaRegistryClient] = []

    def make() -> SchemaRegistryClient:
        client = SchemaRegistryClient({"url": registry.url, "timeout": 5})
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
