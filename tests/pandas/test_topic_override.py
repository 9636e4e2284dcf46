"""``topic=``: the rows go to that topic, and the schema is registered under its subject."""

from __future__ import annotations

import pandas as pd
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.pandas.models import reading_model

pytestmark = pytest.mark.integration


def test_topic_override_registers_the_schema_under_the_topic_written_to(
    conn: Connection,
    sandbox: Sandbox,
    registry_client: SchemaRegistryClient,
    make_topic: TopicFactory,
) -> None:
    model_topic, other = make_topic(), make_topic()
    report = pd.DataFrame({"sensor": ["s1"]}).flowodm.produce(
        reading_model(model_topic), connection=conn, topic=other, progress=False
    )
    assert report.delivered == 1
    subjects = registry_client.get_subjects()
    assert f"{other}-value" in subjects  # TopicNameStrategy: <topic written to>-value
    assert f"{model_topic}-value" not in subjects  # nothing was written to the model's topic
    (message,) = consume_all(sandbox.bootstrap_servers, other, 1)
    writer_id = int.from_bytes(message.value()[1:5], "big")  # type: ignore[index]
    assert registry_client.get_latest_version(f"{other}-value").schema_id == writer_id


def test_a_model_without_topic_can_be_produced_to_an_explicit_topic(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    class Untopiced(FlowBaseModel):
        sensor: str

    topic = make_topic()
    report = pd.DataFrame({"sensor": ["s1"]}).flowodm.produce(
        Untopiced, connection=conn, topic=topic, progress=False
    )
    assert report.delivered == 1
    assert len(consume_all(sandbox.bootstrap_servers, topic, 1)) == 1
