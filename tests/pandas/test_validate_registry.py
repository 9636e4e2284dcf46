"""``df.flowodm.validate`` asks the registry what ``produce`` would get, registering nothing.

Issue 13, defect 7: a dry run passed and the real run then failed with 409 at its first row.
"""

from __future__ import annotations

import pandas as pd
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.exceptions import ConfigurationError, SchemaRegistryError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.sandbox.ports import free_port
from flowodm.testing import TopicFactory

pytestmark = pytest.mark.integration


def _models(topic: str) -> tuple[type[FlowBaseModel], type[FlowBaseModel], type[FlowBaseModel]]:
    """v1, a compatible v2 (a field with a default) and an incompatible v2 (a changed type)."""
    name = topic

    class Meter(FlowBaseModel):
        meter: str
        watts: int

        class Settings:
            topic = name
            record_name = "Meter"

    class MeterCompatible(FlowBaseModel):
        meter: str
        watts: int
        phase: int = 1

        class Settings:
            topic = name
            record_name = "Meter"

    class MeterIncompatible(FlowBaseModel):
        meter: str
        watts: str

        class Settings:
            topic = name
            record_name = "Meter"

    return Meter, MeterCompatible, MeterIncompatible


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"meter": ["m1", "m2"], "watts": [5, 7]})


def test_an_incompatible_schema_fails_validation_before_the_run_would(
    conn: Connection, registry_client: SchemaRegistryClient, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    meter, compatible, incompatible = _models(topic)
    assert _frame().flowodm.produce(meter, connection=conn, progress=False).ok
    subject = f"{topic}-value"

    report = _frame().astype({"watts": str}).flowodm.validate(incompatible, connection=conn)

    assert report.errors == ()  # every row is a valid MeterIncompatible ...
    assert report.registry is not None and not report.registry.ok  # ... the registry says no
    assert not report.ok
    assert report.registry.subject == subject
    assert "watts" in report.registry.message and "409" in report.registry.message
    assert "watts" in report.summary()
    assert registry_client.get_versions(subject) == [1]  # the check registered nothing
    with pytest.raises(SchemaRegistryError, match="409"):  # and the real run indeed fails
        _frame().astype({"watts": str}).flowodm.produce(incompatible, connection=conn)

    ok = _frame().flowodm.validate(compatible, connection=conn)
    assert ok.ok and ok.registry is not None and ok.registry.ok
    assert "compatible" in ok.registry.message
    assert registry_client.get_versions(subject) == [1]


def test_the_subject_follows_the_topic_the_run_would_write_to(
    conn: Connection, registry_client: SchemaRegistryClient, make_topic: TopicFactory
) -> None:
    topic, staging = make_topic(), make_topic()
    meter, _, incompatible = _models(topic)
    assert _frame().flowodm.produce(meter, connection=conn, progress=False).ok
    frame = _frame().astype({"watts": str})

    on_staging = frame.flowodm.validate(incompatible, connection=conn, topic=staging)
    on_topic = frame.flowodm.validate(incompatible, connection=conn)

    assert on_staging.registry is not None and on_staging.registry.ok  # a new subject
    assert on_staging.registry.subject == f"{staging}-value"
    assert on_topic.registry is not None and not on_topic.registry.ok
    assert f"{staging}-value" not in registry_client.get_subjects()


def test_without_auto_register_the_schema_must_already_be_registered(
    conn: Connection, make_topic: TopicFactory
) -> None:
    name = make_topic()

    class Manual(FlowBaseModel):
        meter: str

        class Settings:
            topic = name
            auto_register = False

    frame = pd.DataFrame({"meter": ["m1"]})
    missing = frame.flowodm.validate(Manual, connection=conn)
    assert missing.registry is not None and not missing.registry.ok and not missing.ok
    assert "not registered" in missing.registry.message
    assert "auto_register" in missing.registry.message

    Manual.register_schema(connection=conn)
    registered = frame.flowodm.validate(Manual, connection=conn)
    assert registered.ok and registered.registry is not None
    assert registered.registry.message.startswith("registered (id ")


@pytest.mark.usefixtures("no_current_connection")
def test_registry_false_skips_the_check_and_true_requires_a_registry(
    conn: Connection, make_topic: TopicFactory
) -> None:
    meter, _, incompatible = _models(make_topic())
    assert _frame().flowodm.produce(meter, connection=conn, progress=False).ok
    frame = _frame().astype({"watts": str})
    skipped = frame.flowodm.validate(incompatible, connection=conn, registry=False)
    assert skipped.registry is None and skipped.ok

    # No connection made and none in the environment: nothing to ask, nothing asked.
    offline = frame.flowodm.validate(incompatible)
    assert offline.registry is None and offline.ok
    with pytest.raises(ConfigurationError, match="schema_registry_url"):
        frame.flowodm.validate(incompatible, registry=True)


def test_an_unreachable_registry_is_an_error_not_a_verdict(make_topic: TopicFactory) -> None:
    meter, _, _ = _models(make_topic())
    dead = Connection(
        build_config(
            bootstrap_servers="127.0.0.1:1",
            schema_registry_url=f"http://127.0.0.1:{free_port()}",
            registry_timeout=1.0,
        )
    )
    try:
        with pytest.raises(SchemaRegistryError, match="could not"):
            _frame().flowodm.validate(meter, connection=dead)
    finally:
        dead.close(0)
