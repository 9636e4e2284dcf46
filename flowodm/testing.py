"""Pytest fixtures for FlowODM users and FlowODM's own tests: sandbox, topics, registry client.

Enable with ``pytest_plugins = ["flowodm.testing"]`` in a ``conftest.py``. Fixtures:

* ``sandbox`` (session): a ``Sandbox`` on free ports in a temporary directory, stopped at the
  end of the session. If ``FLOWODM_TEST_BOOTSTRAP_SERVERS`` and
  ``FLOWODM_TEST_SCHEMA_REGISTRY_URL`` are set when pytest starts, that external stack is used
  instead and nothing is started (bring your own cluster). Before the sandbox stops, the
  current connection (``flowodm.connect()``) is closed if it points at it, so no producer is
  left retrying a broker that is gone.
* ``flowodm_connection``: a ``Connection`` of its own to the sandbox (not made current),
  closed when the test ends.
* ``make_topic``: a factory ``make_topic(partitions=1, prefix="t") -> str`` that creates a
  uniquely named topic and waits until metadata shows all its partitions.
* ``registry_client``: a confluent ``SchemaRegistryClient`` for the sandbox, with a timeout.

``consume_all()`` (from ``flowodm.sandbox.topics``, which needs no pytest) reads a whole topic
with ``assign()`` (no consumer group, so no rebalance delay) until an expected number of
messages arrived.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

import pytest

from flowodm.exceptions import InvalidArgumentError
from flowodm.sandbox import Sandbox, start, stop
from flowodm.sandbox.topics import consume_all, create_topic

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from flowodm.kafka.connection import Connection

__all__ = [
    "TopicFactory",
    "consume_all",
    "flowodm_connection",
    "make_topic",
    "registry_client",
    "sandbox",
]

BOOTSTRAP_ENV = "FLOWODM_TEST_BOOTSTRAP_SERVERS"
REGISTRY_ENV = "FLOWODM_TEST_SCHEMA_REGISTRY_URL"
REGISTRY_TIMEOUT = 10.0
# Seconds a fixture's connection may take to flush what a test left queued.
CLOSE_TIMEOUT = 5.0
_TOPIC_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,100}")


class TopicFactory(Protocol):
    """The ``make_topic`` fixture: ``make_topic(partitions=1, prefix="t") -> topic name``."""

    def __call__(self, partitions: int = 1, prefix: str = "t") -> str: ...


# The external stack, read once when pytest starts: tests may clear FLOWODM_* variables
# (monkeypatch) before the session fixture happens to be created.
_EXTERNAL_KEY = pytest.StashKey[tuple[str, str] | None]()


def pytest_configure(config: pytest.Config) -> None:
    """Record ``FLOWODM_TEST_*`` from the environment as it is at session start."""
    bootstrap = os.environ.get(BOOTSTRAP_ENV, "")
    registry = os.environ.get(REGISTRY_ENV, "")
    if bool(bootstrap) != bool(registry):
        missing = REGISTRY_ENV if bootstrap else BOOTSTRAP_ENV
        raise pytest.UsageError(
            f"{BOOTSTRAP_ENV} and {REGISTRY_ENV} go together to test against an external "
            f"stack; {missing} is not set (unset both to use a local sandbox)"
        )
    config.stash[_EXTERNAL_KEY] = (bootstrap, registry) if bootstrap else None


@pytest.fixture(scope="session")
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    """A running sandbox for the whole session (or the external stack named by the env)."""
    data_dir = tmp_path_factory.mktemp("flowodm-sandbox")
    external = request.config.stash.get(_EXTERNAL_KEY, None)
    if external is not None:
        yield Sandbox.external(*external, data_dir=data_dir)
        return
    running = start(broker_port=0, registry_port=0, data_dir=data_dir)
    try:
        yield running
    finally:
        from flowodm.kafka.connection import disconnect

        disconnect(CLOSE_TIMEOUT, bootstrap_servers=running.bootstrap_servers)
        stop(data_dir)


@pytest.fixture
def flowodm_connection(sandbox: Sandbox) -> Iterator[Connection]:
    """A ``Connection`` to the sandbox broker and registry, closed when the test ends.

    It is not the current connection, so a test passes it explicitly (``connection=``). Its
    teardown (flush at most ``CLOSE_TIMEOUT`` s, then close its producers, pooled ones too)
    runs before the session's sandbox stops.
    """
    from flowodm.kafka.config import build_config
    from flowodm.kafka.connection import Connection

    connection = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
        )
    )
    try:
        yield connection
    finally:
        connection.close(CLOSE_TIMEOUT)


@pytest.fixture(scope="session")
def _flowodm_admin(sandbox: Sandbox) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": sandbox.bootstrap_servers})


@pytest.fixture
def make_topic(_flowodm_admin: AdminClient) -> Iterator[TopicFactory]:
    """Factory for fresh topics, unique per call; they live until the sandbox stops.

    Topics are not deleted at teardown: long-lived clients (the session admin client, pooled
    producers) still hold them in their metadata cache, and librdkafka 2.16 can crash in a
    background thread on the metadata answer for a topic deleted under it. The sandbox's broker
    storage goes with the session, so nothing is left behind.
    """

    def factory(partitions: int = 1, prefix: str = "t") -> str:
        if not _TOPIC_PREFIX.fullmatch(prefix):
            raise InvalidArgumentError(
                f"topic prefix {prefix!r} must be 1-100 characters of letters, digits, . _ -",
                argument="prefix",
            )
        if partitions < 1:
            raise InvalidArgumentError(
                f"partitions must be at least 1, got {partitions}", argument="partitions"
            )
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        create_topic(_flowodm_admin, name, partitions)
        return name

    yield factory


@pytest.fixture
def registry_client(sandbox: Sandbox) -> Iterator[SchemaRegistryClient]:
    """A ``SchemaRegistryClient`` for the sandbox registry (fresh per test: no shared cache)."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    client = SchemaRegistryClient({"url": sandbox.schema_registry_url, "timeout": REGISTRY_TIMEOUT})
    try:
        yield client
    finally:
        client.close()
