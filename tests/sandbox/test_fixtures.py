"""The pytest plugin flowodm.testing: sandbox, make_topic, registry_client and consume_all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from flowodm.exceptions import InvalidArgumentError
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all

pytestmark = pytest.mark.integration

_SCHEMA = {
    "type": "record",
    "name": "Reading",
    "namespace": "flowodm.test",
    "fields": [
        {"name": "sensor", "type": "string"},
        {"name": "value", "type": "double"},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}


def _produce(sandbox: Sandbox, topic: str, count: int, partitions: int = 1) -> None:
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    for i in range(count):
        producer.produce(topic, f"v{i}".encode(), partition=i % partitions)
    assert producer.flush(15) == 0


def test_sandbox_fixture_is_running(sandbox: Sandbox) -> None:
    metadata = AdminClient({"bootstrap.servers": sandbox.bootstrap_servers}).list_topics(timeout=10)
    assert metadata.brokers


def test_make_topic_creates_unique_topics_with_all_partitions(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    first = make_topic(partitions=3, prefix="fixture")
    second = make_topic()
    assert first != second
    assert first.startswith("fixture-") and second.startswith("t-")
    topics = (
        AdminClient({"bootstrap.servers": sandbox.bootstrap_servers}).list_topics(timeout=10).topics
    )
    assert len(topics[first].partitions) == 3
    assert len(topics[second].partitions) == 1


def test_make_topic_rejects_bad_arguments(make_topic: TopicFactory) -> None:
    with pytest.raises(InvalidArgumentError, match="topic prefix 'a b'") as bad_prefix:
        make_topic(prefix="a b")
    with pytest.raises(InvalidArgumentError, match="partitions must be at least 1") as bad_count:
        make_topic(partitions=0)
    assert (bad_prefix.value.argument, bad_count.value.argument) == ("prefix", "partitions")
    assert isinstance(bad_prefix.value, ValueError)


def test_consume_all_reads_every_partition(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    topic = make_topic(partitions=3)
    _produce(sandbox, topic, 9, partitions=3)
    messages = consume_all(sandbox.bootstrap_servers, topic, 9)
    assert sorted(m.value() or b"" for m in messages) == sorted(f"v{i}".encode() for i in range(9))
    assert {m.partition() for m in messages} == {0, 1, 2}


def test_consume_all_with_linger_returns_the_surplus(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    _produce(sandbox, topic, 4)
    assert len(consume_all(sandbox.bootstrap_servers, topic, 3, linger=1.0)) == 4


def test_consume_all_says_how_many_arrived_on_timeout(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    _produce(sandbox, topic, 2, partitions=2)
    with pytest.raises(AssertionError, match=r"consumed 2 of 5 messages .*\{.*1.*1.*\}"):
        consume_all(sandbox.bootstrap_servers, topic, 5, timeout=2)
    with pytest.raises(AssertionError, match="cannot be read"):
        consume_all(sandbox.bootstrap_servers, "no-such-topic-fixture-test", 1, timeout=2)


def test_registry_client_talks_to_the_sandbox_registry(
    sandbox: Sandbox, registry_client: SchemaRegistryClient
) -> None:
    schema_id = registry_client.register_schema(
        "fixture-value", Schema(json.dumps(_SCHEMA), "AVRO")
    )
    assert "fixture-value" in registry_client.get_subjects()
    schema_str = registry_client.get_schema(schema_id).schema_str
    assert schema_str is not None and json.loads(schema_str)["name"] == "Reading"


def test_confluent_avro_round_trip_through_the_sandbox(
    sandbox: Sandbox, make_topic: TopicFactory, registry_client: SchemaRegistryClient
) -> None:
    """Done-when: Confluent AvroSerializer -> Producer -> Consumer -> AvroDeserializer."""
    topic = make_topic(prefix="roundtrip")
    original = {"sensor": "s-1", "value": 21.5, "tags": ["a", "b"], "note": None}
    serializer = AvroSerializer(registry_client, json.dumps(_SCHEMA))
    context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    producer.produce(topic, serializer(original, context), key=b"s-1")
    assert producer.flush(15) == 0

    [message] = consume_all(sandbox.bootstrap_servers, topic, 1)

    value = message.value()
    assert value is not None and value[0] == 0  # Confluent wire format: magic byte 0
    deserializer = AvroDeserializer(registry_client)
    assert deserializer(value, SerializationContext(topic, MessageField.VALUE)) == original
    registered = registry_client.get_latest_version(f"{topic}-value")
    assert int.from_bytes(value[1:5], "big") == registered.schema_id


_EXTERNAL_TEST = """
from flowodm.testing import consume_all

def test_uses_the_external_stack(sandbox, make_topic, registry_client):
    assert sandbox.bootstrap_servers == "{bootstrap}"
    assert sandbox.schema_registry_url == "{registry}"
    assert sandbox.broker_pid is None and sandbox.storage == "external"
    topic = make_topic()
    assert topic.startswith("t-")
    assert isinstance(registry_client.get_subjects(), list)
"""


def _run_pytest(directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (directory / "conftest.py").write_text('pytest_plugins = ["flowodm.testing"]\n')
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWODM_TEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(directory)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        check=False,
    )


def test_external_stack_from_env_is_used_instead_of_a_sandbox(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    source = _EXTERNAL_TEST.format(
        bootstrap=sandbox.bootstrap_servers, registry=sandbox.schema_registry_url
    )
    (tmp_path / "test_external.py").write_text(textwrap.dedent(source))
    result = _run_pytest(
        tmp_path,
        {
            "FLOWODM_TEST_BOOTSTRAP_SERVERS": sandbox.bootstrap_servers,
            "FLOWODM_TEST_SCHEMA_REGISTRY_URL": sandbox.schema_registry_url,
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_half_an_external_stack_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    result = _run_pytest(tmp_path, {"FLOWODM_TEST_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "FLOWODM_TEST_SCHEMA_REGISTRY_URL is not set" in result.stderr
