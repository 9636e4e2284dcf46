"""Upstream flowodm's code generation names, with the arguments its docs promised."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from flowodm.exceptions import InvalidArgumentError, SchemaRegistryError
from flowodm.kafka.connection import Connection
from flowodm.tools import generate_model_from_registry, generate_model_from_schema, register
from flowodm.tools.codegen import full_canonical_form

SCHEMAS = Path(__file__).parent / "schemas"
SHOP_ORDER = SCHEMAS / "shop_order.avsc"


def _canonical(schema: object) -> str:
    return full_canonical_form(json.dumps(schema))


@pytest.mark.parametrize("form", ["path", "str path", "dict", "json text"])
def test_a_schema_source_becomes_a_model_with_topic_and_group(form: str) -> None:
    schema = json.loads(SHOP_ORDER.read_text())
    source = {
        "path": SHOP_ORDER,
        "str path": str(SHOP_ORDER),
        "dict": schema,
        "json text": json.dumps(schema),
    }[form]
    model = generate_model_from_schema(source, "orders", consumer_group="billing")
    settings = model.flow_settings()
    assert (settings.topic, settings.consumer_group) == ("orders", "billing")
    assert _canonical(model.avro_schema()) == _canonical(schema)


def test_class_name_renames_the_class_and_keeps_the_record_name() -> None:
    model = generate_model_from_schema(SHOP_ORDER, "orders", class_name="Order")
    assert model.__name__ == "Order"
    assert model.avro_schema()["name"] == json.loads(SHOP_ORDER.read_text())["name"]


def test_a_missing_schema_file_is_named() -> None:
    with pytest.raises(InvalidArgumentError, match=r"nope\.avsc"):
        generate_model_from_schema("nope.avsc", "orders")


@pytest.mark.integration
def test_registry_subjects_become_models(flowodm_connection: Connection) -> None:
    subject = f"upstream-{uuid.uuid4().hex[:12]}-value"
    schema = json.loads(SHOP_ORDER.read_text())
    register(schema, subject, connection=flowodm_connection)
    from_registry = generate_model_from_registry(
        subject, "orders", consumer_group="g", connection=flowodm_connection
    )
    # A string that is no file is a subject, as upstream reads it.
    by_subject = generate_model_from_schema(subject, "orders", connection=flowodm_connection)
    for model in (from_registry, by_subject):
        assert _canonical(model.avro_schema()) == _canonical(schema)
    assert from_registry.flow_settings().consumer_group == "g"
    with pytest.raises(SchemaRegistryError) as caught:
        generate_model_from_registry(f"{subject}-gone", "orders", connection=flowodm_connection)
    assert caught.value.error_code == 40401
