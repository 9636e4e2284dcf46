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

``consume_all()`` is a plain function: read a whole topic with ``assign()`` (no consumer
group, so no rebalance delay) until an expected number of messages arrived.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

import pytest

from flowodm.sandbox import Sandbox, start, stop

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from flowodm.connection import Connection

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
_TOPIC_TIMEOUT = 15.0
_POLL_SECONDS = 0.2
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
        from flowodm.connection import disconnect

        disconnect(CLOSE_TIMEOUT, bootstrap_servers=running.bootstrap_servers)
        stop(data_dir)


@pytest.fixture
def flowodm_connection(sandbox: Sandbox) -> Iterator[Connection]:
    """A ``Connection`` to the sandbox broker and registry, closed when the test ends.

    It is not the current connection, so a test passes it explicitly (``connection=``). Its
    teardown (flush at most ``CLOSE_TIMEOUT`` s, then close its producers, pooled ones too)
    runs before the session's sandbox stops.
    """
    from flowodm.config import build_config
    from flowodm.connection import Connection

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
    """Factory for fresh topics; they are deleted again when the test ends."""
    created: list[str] = []

    def factory(partitions: int = 1, prefix: str = "t") -> str:
        if not _TOPIC_PREFIX.fullmatch(prefix):
            raise ValueError(
                f"topic prefix {prefix!r} must be 1-100 characters of letters, digits, . _ -"
            )
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, got {partitions}")
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        _create_topic(_flowodm_admin, name, partitions)
        created.append(name)
        return name

    yield factory
    if created:
        # Cleanup only: a topic that cannot be deleted does not make the test wrong.
        for future in _flowodm_admin.delete_topics(created, operation_timeout=5).values():
            with contextlib.suppress(TimeoutError):
                future.exception(timeout=10)


@pytest.fixture
def registry_client(sandbox: Sandbox) -> Iterator[SchemaRegistryClient]:
    """A ``SchemaRegistryClient`` for the sandbox registry (fresh per test: no shared cache)."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    client = SchemaRegistryClient({"url": sandbox.schema_registry_url, "timeout": REGISTRY_TIMEOUT})
    try:
        yield client
    finally:
        client.close()


def consume_all(
    bootstrap_servers: str,
    topic: str,
    expected: int,
    timeout: float = 15.0,
    *,
    linger: float = 0.0,
) -> list[Message]:
    """Read ``topic`` from the start of every partition until ``expected`` messages arrived.

    Messages are counted by consuming them: Tansu's watermarks under-report. With ``linger``,
    reading goes on that many seconds after ``expected`` arrived and any surplus is returned
    too, so a caller can assert that there are no duplicates.

    Raises:
        AssertionError: fewer than ``expected`` arrived within ``timeout`` seconds (says how
            many did, per partition), or the consumer reported an error.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    if expected < 0:
        raise ValueError(f"expected must be 0 or more messages, got {expected}")

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"flowodm-consume-all-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        topic_meta = metadata.topics.get(topic)
        if topic_meta is None or topic_meta.error is not None or not topic_meta.partitions:
            problem = "missing" if topic_meta is None else (topic_meta.error or "no partitions")
            raise AssertionError(f"topic {topic!r} cannot be read: {problem}")
        consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(topic_meta.partitions)]
        )
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            _poll_into(consumer, messages, expected - len(messages))
        if len(messages) < expected:
            per_partition: dict[int, int] = {}
            for message in messages:
                partition = message.partition()
                assert partition is not None
                per_partition[partition] = per_partition.get(partition, 0) + 1
            raise AssertionError(
                f"consumed {len(messages)} of {expected} messages from {topic!r} within "
                f"{timeout} s (per partition: {per_partition or 'none'})"
            )
        linger_until = time.monotonic() + linger
        while time.monotonic() < linger_until:
            _poll_into(consumer, messages, 1000)
        return messages
    finally:
        consumer.close()


def _poll_into(consumer: Consumer, messages: list[Message], at_most: int) -> None:
    """Append up to ``at_most`` messages that arrive within a short poll."""
    # consume() waits for all num_messages or its timeout: keep both small so a caller's
    # count and deadline are checked often.
    for message in consumer.consume(num_messages=min(at_most, 1000), timeout=_POLL_SECONDS):
        error = message.error()
        if error is not None:
            raise AssertionError(f"consumer error while reading: {error}")
        messages.append(message)


def _create_topic(admin: AdminClient, name: str, partitions: int) -> None:
    """Create ``name`` and wait until metadata shows it with every partition led."""
    from confluent_kafka.cimpl import NewTopic

    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1)],
        operation_timeout=10,
        request_timeout=15,
    )
    futures[name].result(timeout=_TOPIC_TIMEOUT)
    deadline = time.monotonic() + _TOPIC_TIMEOUT
    seen = 0
    while time.monotonic() < deadline:
        topic = admin.list_topics(name, timeout=5).topics.get(name)
        if topic is not None and topic.error is None:
            seen = sum(1 for p in topic.partitions.values() if p.leader >= 0)
            if seen == partitions:
                return
        time.sleep(0.05)
    raise AssertionError(
        f"topic {name!r} shows {seen} of {partitions} partitions in metadata "
        f"after {_TOPIC_TIMEOUT} s"
    )
