"""Fixtures shared by the core tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flowodm.config import build_config
from flowodm.connection import Connection
from flowodm.sandbox import Sandbox


@pytest.fixture
def conn(sandbox: Sandbox) -> Iterator[Connection]:
    """A connection to the sandbox broker and registry (not the current one), closed after."""
    connection = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
        )
    )
    yield connection
    connection.close(5)
