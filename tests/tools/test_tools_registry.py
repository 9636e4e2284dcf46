"""The registry functions of ``flowodm.tools`` against the sandbox registry, over HTTP."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from flowodm.exceptions import ConfigurationError, InvalidArgumentError, SchemaRegistryError
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.tools import (
    check_compatibility,
    check_model_compatibility,
    delete_subject,
    export_schema,
    get_schema,
    get_schema_versions,
    get_subject_version,
    list_subjects,
    load_schema_from_registry,
    register,
    upload_schema,
    validate_against_registry,
)
from tests.tools.avro_builders import field, one, record

pytestmark = pytest.mark.integration


def _subject() -> str:
    return f"tools-{uuid.uuid4().hex[:12]}-value"


def _models(name: str) -> tuple[type[FlowBaseModel], type[FlowBaseModel]]:
    """Two versions of one record on the topic ``name`` (a fresh subject per test)."""

    class Order(FlowBaseModel):
        class Settings:
            topic = name
            record_name = "Order"

        order_id: str

    class OrderV2(FlowBaseModel):
        class Settings:
            topic = name
            record_name = "Order"

        order_id: str
        quantity: int

    return Order, OrderV2


def test_register_list_versions_show_delete(flowodm_connection: Connection) -> None:
    subject = _subject()
    first = register(one("int"), subject, connection=flowodm_connection)
    second = register(one("long"), subject, connection=flowodm_connection)
    assert first != second
    assert subject in list_subjects(connection=flowodm_connection)
    assert list_subjects(prefix=subject, connection=flowodm_connection) == [subject]
    assert get_schema_versions(subject, connection=flowodm_connection) == [1, 2]
    assert get_schema(subject, connection=flowodm_connection) == one("long")
    assert load_schema_from_registry(subject, 1, connection=flowodm_connection) == one("int")
    found = get_subject_version(subject, "1", connection=flowodm_connection)
    assert (found.version, found.schema_id) == (1, first)
    assert delete_subject(subject, connection=flowodm_connection) == [1, 2]
    assert subject not in list_subjects(connection=flowodm_connection)
    assert subject in list_subjects(deleted=True, connection=flowodm_connection)
    assert delete_subject(subject, permanent=True, connection=flowodm_connection) == [1, 2]
    assert subject not in list_subjects(deleted=True, connection=flowodm_connection)
    with pytest.raises(SchemaRegistryError) as caught:
        get_schema_versions(subject, connection=flowodm_connection)
    assert caught.value.error_code == 40401 and subject in str(caught.value)


def test_upload_schema_sets_the_level_it_is_given(
    tmp_path: Path, flowodm_connection: Connection, registry_client: SchemaRegistryClient
) -> None:
    subject = _subject()
    path = tmp_path / "v1.avsc"
    path.write_text(json.dumps(one("int")))
    upload_schema(path, subject, compatibility_level="forward", connection=flowodm_connection)
    assert registry_client.get_compatibility(subject) == "FORWARD"
    # FORWARD: the old schema must read the new one; int cannot read long.
    with pytest.raises(SchemaRegistryError) as caught:
        register(one("long"), subject, connection=flowodm_connection)
    assert caught.value.http_status == 409
    with pytest.raises(InvalidArgumentError, match="must be one of BACKWARD"):
        upload_schema(path, subject, compatibility_level="SIDEWAYS", connection=flowodm_connection)


def test_model_checks_against_its_subject(flowodm_connection: Connection) -> None:
    topic = f"tools-{uuid.uuid4().hex[:12]}"
    order, order_v2 = _models(topic)
    fresh = check_model_compatibility(order, connection=flowodm_connection)
    assert fresh.compatible and fresh.subject == f"{topic}-value"
    assert "no versions yet" in fresh.note
    register(order, connection=flowodm_connection)
    same = check_compatibility(order, connection=flowodm_connection)
    assert same.compatible and same.level == "BACKWARD" and same.source == "registry"
    broken = check_model_compatibility(order_v2, connection=flowodm_connection)
    assert not broken.compatible
    assert broken.fields == ("quantity",)
    assert "quantity" in str(broken) and broken.messages
    forward = check_model_compatibility(order_v2, level="FORWARD", connection=flowodm_connection)
    assert forward.compatible and forward.source == "offline"
    data = broken.to_dict()
    assert data["compatible"] is False and data["fields"] == ["quantity"]


def test_the_model_method_checks_its_own_subject_or_the_one_given(
    flowodm_connection: Connection,
) -> None:
    topic = f"tools-{uuid.uuid4().hex[:12]}"
    order, order_v2 = _models(topic)
    order.register_schema(connection=flowodm_connection)
    broken = order_v2.check_compatibility(connection=flowodm_connection)
    assert not broken.compatible and broken.fields == ("quantity",)
    assert broken.subject == f"{topic}-value"
    assert order_v2.check_compatibility(level="FORWARD", connection=flowodm_connection).compatible
    elsewhere = order_v2.check_compatibility(_subject(), connection=flowodm_connection)
    assert elsewhere.compatible and "no versions yet" in elsewhere.note
    # Checking registers nothing.
    assert get_schema_versions(f"{topic}-value", connection=flowodm_connection) == [1]


def test_validate_and_export(tmp_path: Path, flowodm_connection: Connection) -> None:
    topic = f"tools-{uuid.uuid4().hex[:12]}"
    order, order_v2 = _models(topic)
    register(order, connection=flowodm_connection)
    assert validate_against_registry(order, connection=flowodm_connection).is_valid
    invalid = validate_against_registry(order_v2, connection=flowodm_connection)
    assert not invalid.is_valid and "quantity" in invalid.errors[0]
    text = export_schema(subject=f"{topic}-value", connection=flowodm_connection)
    assert json.loads(text) == order.avro_schema()
    out = tmp_path / "order.avsc"
    assert export_schema(order, out) == out.read_text()
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        export_schema()


@pytest.mark.usefixtures("no_current_connection")
def test_schema_needs_a_subject_and_a_registry() -> None:
    with pytest.raises(InvalidArgumentError, match="subject= is needed"):
        check_compatibility(record(field("a", "int")))
    with pytest.raises(InvalidArgumentError, match="subject= is needed"):
        register(one("int"))
    with pytest.raises(ConfigurationError, match="SCHEMA_REGISTRY_URL"):
        list_subjects()
    with pytest.raises(InvalidArgumentError, match="version must be"):
        get_schema("x", version=0)
