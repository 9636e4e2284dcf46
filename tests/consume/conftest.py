"""Fixtures of the consume tests: a connection whose group consumers join Tansu quickly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import CLOSE_TIMEOUT

#: Tansu holds a classic group join for about the session timeout's half; 6 s keeps joins ~3 s.
FAST_GROUPS = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000}


@pytest.fixture
def conn(sandbox: Sandbox) -> Iterator[Connection]:
    """A connection to the sandbox (not the current one) with short group session timeouts."""
    connection = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
            consumer_config=FAST_GROUPS,
        )
    )
    try:
        yield connection
    finally:
        connection.close(CLOSE_TIMEOUT)
