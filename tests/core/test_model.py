"""FlowBaseModel at class definition and as a facade (no broker needed except where marked)."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, cast

import fastavro
import pytest
from pydantic import ValidationError

from flowodm.exceptions import (
    ConfigurationError,
    DeserializationError,
    SchemaGenerationError,
    SerializationError,
    SettingsError,
)
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection, disconnect
from flowodm.model import FlowBaseModel
from flowodm.sandbox import Sandbox
from flowodm.settings import ModelSettings


class Color(str, Enum):  # noqa: UP042 - the spelling most users write
    RED = "red"
    BLUE = "blue"


class Event(FlowBaseModel):
    """An event."""

    class Settings:
        topic = "events"
        key_field = "event_id"
        namespace = "com.acme"

    event_id: str
    color: Color
    at: dt.datetime
    note: str | None = None


def make_event() -> Event:
    return Event(
        event_id="e-1", color=Color.RED, at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    )


@pytest.fixture(autouse=True)
def _no_current_connection() -> Iterator[None]:
    yield
    disconnect(1)


def test_settings_are_parsed_when_the_class_is_defined() -> None:
    settings = Event.flow_settings()
    assert isinstance(settings, ModelSettings)
    assert (settings.topic, settings.key_field, settings.namespace) == (
        "events",
        "event_id",
        "com.acme",
    )


def test_subclass_inherits_settings_and_overrides_single_options() -> None:
    class Audited(Event):
        class Settings:
            topic = "audited"

        actor: str

    assert Audited.flow_settings().topic == "audited"
    assert Audited.flow_settings().key_field == "event_id"
    assert Event.flow_settings().topic == "events"
    assert [f["name"] for f in Audited.avro_schema()["fields"]][-1] == "actor"


def test_model_without_topic_can_be_defined_but_not_produced() -> None:
    class Base(FlowBaseModel):
        tenant: str

    assert Base.flow_settings().topic is None
    with pytest.raises(SettingsError, match="has no topic: set `topic` in its inner Settings"):
        Base(tenant="x").produce()
    with pytest.raises(SettingsError, match="topic"):
        Base.produce_many([Base(tenant="x")])


def test_unknown_option_fails_at_definition_naming_it() -> None:
    with pytest.raises(SettingsError, match="topik") as info:

        class Typo(FlowBaseModel):
            class Settings:
                topik = "x"

            a: int

    assert info.value.option == "topik"


def test_key_field_must_name_a_field() -> None:
    with pytest.raises(SettingsError, match="key_field = 'order' is not a field") as info:

        class Keyed(FlowBaseModel):
            class Settings:
                topic = "t"
                key_field = "order"

            order_id: str

    assert info.value.option == "key_field"


def test_unsupported_type_fails_at_definition_naming_the_field() -> None:
    with pytest.raises(SchemaGenerationError, match=r"Bad\.value") as info:

        class Bad(FlowBaseModel):
            class Settings:
                topic = "t"

            ok: int
            value: complex

    assert info.value.field == "value"


def test_forward_references_are_resolved_later() -> None:
    class Tree(FlowBaseModel):
        class Settings:
            topic = "trees"

        label: str
        child: Leaf | None = None

    class Leaf(FlowBaseModel):
        size: int

    Tree.model_rebuild()
    schema = Tree.avro_schema()
    assert schema["fields"][1]["type"][1]["name"] == "Leaf"
    tree = Tree(label="a", child=Leaf(size=2))
    assert Tree.from_avro_dict(tree.to_avro_dict()) == tree


def test_avro_schema_is_generated_and_a_copy() -> None:
    schema = Event.avro_schema()
    assert schema["name"] == "Event"
    assert schema["namespace"] == "com.acme"
    assert schema["doc"] == "An event."
    assert [f["name"] for f in schema["fields"]] == ["event_id", "color", "at", "note"]
    schema["fields"].clear()
    assert len(Event.avro_schema()["fields"]) == 4
    fastavro.parse_schema(Event.avro_schema())


def test_no_internal_fields_are_added() -> None:
    assert list(Event.model_fields) == ["event_id", "color", "at", "note"]
    assert set(make_event().model_dump()) == {"event_id", "color", "at", "note"}


def test_unknown_constructor_arguments_are_rejected() -> None:
    with pytest.raises(ValidationError, match="colour"):
        Event(event_id="e", colour=Color.RED, at=dt.datetime.now(dt.UTC))  # type: ignore[call-arg]


def test_avro_dict_round_trip() -> None:
    event = make_event()
    datum = event.to_avro_dict()
    assert datum["color"] == "red"
    assert datum["at"] == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert Event.from_avro_dict(datum) == event


def test_from_avro_dict_rejects_bad_data() -> None:
    with pytest.raises(DeserializationError, match="Event"):
        Event.from_avro_dict({"event_id": "e", "color": "green", "at": 0, "note": None})


def test_schema_path_model_uses_the_file(tmp_path: Path) -> None:
    schema = {
        "type": "record",
        "name": "FromFile",
        "namespace": "com.files",
        "fields": [{"name": "n", "type": "long"}],
    }
    path = tmp_path / "from_file.avsc"
    path.write_text(json.dumps(schema), encoding="utf-8")

    class FromFile(FlowBaseModel):
        class Settings:
            topic = "files"
            schema_path = path

        n: int

    path.unlink()  # read once, at class definition: nothing opens it again
    assert FromFile.avro_schema() == schema
    assert FromFile.from_avro_dict(FromFile(n=3).to_avro_dict()) == FromFile(n=3)
    for _ in range(2):  # one codec per connection, all from the same read
        with Connection(build_config(bootstrap_servers="127.0.0.1:1")) as connection:
            data = FromFile(n=3).serialize(connection=connection)
            assert FromFile.deserialize(data, connection=connection) == FromFile(n=3)


def test_serialize_without_connection_says_how_to_connect() -> None:
    with pytest.raises(ConfigurationError, match="connect") as info:
        make_event().serialize()

    assert "connect(schema_registry_url=...)" in str(info.value)
    assert "confluent_wire_format = False in Event.Settings" in str(info.value)
    with pytest.raises(ConfigurationError, match="Schema Registry"):
        Event.deserialize(b"\x00\x00\x00\x00\x07")


@pytest.mark.parametrize(
    "options", [{"confluent_wire_format": False}, {"value_serializer": "json"}]
)
def test_models_that_need_no_registry_serialize_with_no_connection_at_all(
    options: dict[str, object],
) -> None:
    class Offline(FlowBaseModel):
        class Settings:
            topic = "offline"
            confluent_wire_format = options.get("confluent_wire_format", True)
            value_serializer = options.get("value_serializer", "avro")

        n: int
        at: dt.datetime

    event = Offline(n=7, at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))

    data = event.serialize()

    assert Offline.deserialize(data) == event
    if options.get("value_serializer") == "json":
        assert json.loads(data)["n"] == 7
    else:
        parsed = fastavro.parse_schema(Offline.avro_schema())
        record = cast(dict[str, Any], fastavro.schemaless_reader(io.BytesIO(data), parsed))
        assert record["n"] == 7


def test_serialize_and_deserialize_without_registry_are_plain_avro() -> None:
    # Serializing needs no broker: this address is never contacted.
    connection = Connection(build_config(bootstrap_servers="127.0.0.1:1"))
    event = make_event()
    data = event.serialize(connection=connection)
    parsed = fastavro.parse_schema(Event.avro_schema())
    record = cast(dict[str, Any], fastavro.schemaless_reader(io.BytesIO(data), parsed))
    assert record["event_id"] == "e-1"
    assert Event.deserialize(data, connection=connection) == event
    connection.close(0)


def test_serialize_names_the_field_that_cannot_be_encoded() -> None:
    class Tiny(FlowBaseModel):
        class Settings:
            topic = "tiny"
            confluent_wire_format = False

        n: int

    connection = Connection(build_config(bootstrap_servers="127.0.0.1:1"))
    with pytest.raises(SerializationError, match="Tiny"):
        Tiny.model_construct(n="not a number").serialize(connection=connection)  # type: ignore[arg-type]
    connection.close(0)


@pytest.mark.integration
def test_register_schema_returns_the_registry_id(sandbox: Sandbox) -> None:
    class Registered(FlowBaseModel):
        class Settings:
            topic = f"registered-{uuid.uuid4().hex}"

        n: int

    connection = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
        )
    )
    try:
        schema_id = Registered.register_schema(connection=connection)
        assert isinstance(schema_id, int)
        assert Registered.register_schema(connection=connection) == schema_id
        framed = Registered(n=5).serialize(connection=connection)
        assert framed[:5] == b"\x00" + schema_id.to_bytes(4, "big")
        assert Registered.deserialize(framed, connection=connection) == Registered(n=5)
    finally:
        connection.close(0)


def test_schema_file_that_does_not_describe_the_model_fails_at_definition(
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.avsc"
    path.write_text(
        json.dumps({"type": "record", "name": "Other", "fields": [{"name": "x", "type": "long"}]}),
        encoding="utf-8",
    )
    with pytest.raises(SchemaGenerationError, match="does not describe Mismatch"):

        class Mismatch(FlowBaseModel):
            class Settings:
                topic = "files"
                schema_path = path

            n: int


def test_produce_argument_names_are_free_as_field_names() -> None:
    class Envelope(FlowBaseModel):
        class Settings:
            topic = "envelopes"
            key_field = "key"

        topic: str
        key: str
        partition: int
        headers: dict[str, str]
        timestamp: dt.datetime
        _private: int = 0

    envelope = Envelope(
        topic="t", key="k", partition=3, headers={"a": "b"}, timestamp=dt.datetime(2026, 1, 1)
    )
    assert Envelope.from_avro_dict(envelope.to_avro_dict()).key == "k"
    assert [f["name"] for f in Envelope.avro_schema()["fields"]] == [
        "topic",
        "key",
        "partition",
        "headers",
        "timestamp",
    ]


def test_generic_models_get_their_schema_when_subclassed() -> None:
    from typing import Generic, TypeVar

    item = TypeVar("item")

    class Page(FlowBaseModel, Generic[item]):
        items: list[item]

    class IntPage(Page[int]):
        class Settings:
            topic = "pages"

    assert Page[int](items=[1]).items == [1]
    assert IntPage.avro_schema()["fields"] == [
        {"name": "items", "type": {"type": "array", "items": "long"}}
    ]
    with pytest.raises(SchemaGenerationError, match="subclass the generic model"):
        Page[int].avro_schema()
