"""``ModelCodec``: schema, registry id (resolved once), wire format, keys and decoding."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from pydantic import BaseModel

from flowodm.exceptions import (
    ConfigurationError,
    DeserializationError,
    SchemaRegistryError,
    SerializationError,
    SettingsError,
)
from flowodm.kafka.connection import codec_host, connect, disconnect
from flowodm.sandbox import Sandbox
from flowodm.schema.model_schema import model_converter
from flowodm.serde.avro import AvroCodec
from flowodm.serde.model_codec import ModelCodec, get_model_codec
from flowodm.serde.registry import RegistryAdapter
from flowodm.settings import SETTINGS_ATTRIBUTE, ModelSettings
from tests.core.registry_spy import RequestLog
from tests.schema.tz import local_tz  # noqa: F401 - the fixture, used by name


@dataclass(eq=False)  # codecs are cached per connection object (identity)
class Host:
    """The smallest thing ``get_model_codec`` accepts as a connection."""

    registry: RegistryAdapter | None = None


class Status(str, Enum):  # noqa: UP042 - the (str, Enum) idiom users write
    NEW = "new"
    PAID = "paid"


def _topic() -> str:
    return f"codec-{uuid.uuid4().hex[:12]}"


class OrderEventFields(BaseModel):
    """The fields of ``_order_model``'s models, so that they are typed."""

    order_id: str
    amount: float
    status: Status = Status.NEW


def _order_model(topic: str, **options: Any) -> type[OrderEventFields]:
    """A fresh model class whose parsed settings are stored the way FlowBaseModel stores them."""

    class OrderEvent(OrderEventFields):
        pass

    options.setdefault("key_field", "order_id")
    setattr(OrderEvent, SETTINGS_ATTRIBUTE, ModelSettings(topic=topic, **options))
    return OrderEvent


@pytest.fixture
def adapter(sandbox: Sandbox) -> Iterator[RegistryAdapter]:
    registry = RegistryAdapter(sandbox.schema_registry_url, config={}, timeout=5.0)
    yield registry
    registry.close()


# ----------------------------------------------------------------------------- no registry


def test_without_registry_values_are_plain_avro_and_a_warning_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = _order_model(_topic())
    codec = get_model_codec(model, Host())
    order = model(order_id="ORD-1", amount=9.5, status=Status.PAID)

    with caplog.at_level(logging.WARNING, logger="flowodm.serde"):
        data = codec.value_bytes(order)
        codec.value_bytes(order)

    assert codec.schema_id is None
    assert not codec.framed
    assert data == AvroCodec(codec.schema).encode(
        {"order_id": "ORD-1", "amount": 9.5, "status": "paid"}
    )
    assert codec.decode(data) == order
    warnings = [r.getMessage() for r in caplog.records if r.name == "flowodm.serde"]
    assert len(warnings) == 1
    assert "OrderEvent" in warnings[0]
    assert "confluent_wire_format = False" in warnings[0]


def test_wire_format_off_means_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    model = _order_model(_topic(), confluent_wire_format=False)
    codec = get_model_codec(model, Host())

    with caplog.at_level(logging.WARNING, logger="flowodm.serde"):
        codec.value_bytes(model(order_id="a", amount=1.0))

    assert not [r for r in caplog.records if r.name == "flowodm.serde"]


def test_raw_body_starting_with_zero_is_not_mistaken_for_a_header() -> None:
    # Upstream W1: header sniffing ate 5 bytes of raw payloads that began with 0x00.
    class Flag(BaseModel):
        class Settings:
            topic = "flags"
            confluent_wire_format = False

        count: int
        name: str

    codec = get_model_codec(Flag, Host())
    data = codec.value_bytes(Flag(count=0, name="zero-first"))

    assert data[0] == 0
    assert codec.decode(data) == Flag(count=0, name="zero-first")


def test_codec_is_cached_per_connection_and_class() -> None:
    model = _order_model(_topic())
    first, second = Host(), Host()

    assert get_model_codec(model, first) is get_model_codec(model, first)
    assert get_model_codec(model, first) is not get_model_codec(model, second)


def test_a_topic_override_gets_its_own_codec_and_subject() -> None:
    topic, staging = _topic(), _topic()
    model = _order_model(topic)
    host = Host()

    override = get_model_codec(model, host, topic=staging)

    assert override is get_model_codec(model, host, topic=staging)
    assert override is not get_model_codec(model, host)
    assert get_model_codec(model, host, topic=topic) is get_model_codec(model, host)
    assert (override.topic, override.subject) == (staging, f"{staging}-value")
    assert get_model_codec(model, host).subject == f"{topic}-value"


@pytest.mark.integration
def test_values_for_a_topic_override_are_registered_under_that_topics_subject(
    adapter: RegistryAdapter, registry_client: SchemaRegistryClient
) -> None:
    topic, staging = _topic(), _topic()
    model = _order_model(topic)

    value = get_model_codec(model, Host(adapter), topic=staging).value_bytes(
        model(order_id="a", amount=1.0)
    )

    latest = registry_client.get_latest_version(f"{staging}-value")
    assert value[:5] == b"\x00" + struct.pack(">I", latest.schema_id)
    assert f"{topic}-value" not in registry_client.get_subjects()


@pytest.mark.integration
def test_current_connection_is_the_default(sandbox: Sandbox) -> None:
    model = _order_model(_topic())
    try:
        connect(sandbox.bootstrap_servers)
        codec = get_model_codec(model, codec_host())
        assert codec is get_model_codec(model, codec_host())
        connect(sandbox.bootstrap_servers)
        assert get_model_codec(model, codec_host()) is not codec
    finally:
        disconnect(timeout=0)


def test_no_connection_at_all_encodes_offline_unless_a_registry_is_needed() -> None:
    disconnect(timeout=0)
    plain = _order_model(_topic(), confluent_wire_format=False)
    framed = _order_model(_topic())

    codec = get_model_codec(plain, codec_host())
    data = codec.value_bytes(plain(order_id="o-1", amount=2.5))
    assert codec.decode(data) == plain(order_id="o-1", amount=2.5)
    assert codec.schema_id is None
    with pytest.raises(ConfigurationError) as info:
        get_model_codec(framed, codec_host()).value_bytes(framed(order_id="o-1", amount=2.5))
    assert "connect(schema_registry_url=" in str(info.value)
    assert "confluent_wire_format = False" in str(info.value)
    with pytest.raises(ConfigurationError, match="schema_registry_url"):
        get_model_codec(framed, codec_host()).decode(b"\x00\x00\x00\x00\x01\x02x")


def test_keys_from_key_field_and_explicit_keys() -> None:
    model = _order_model(_topic())
    codec = get_model_codec(model, Host())

    assert codec.key_of(model(order_id="ORD-7", amount=1.0)) == b"ORD-7"
    assert codec.key_bytes(Status.PAID) == b"paid"
    assert codec.key_bytes(None) is None


def test_no_key_field_means_no_key() -> None:
    class Unkeyed(BaseModel):
        class Settings:
            topic = "unkeyed"

        x: int

    assert get_model_codec(Unkeyed, Host()).key_of(Unkeyed(x=1)) is None


def test_key_errors_name_model_and_field() -> None:
    model = _order_model(_topic(), key_serializer="bytes")
    codec = get_model_codec(model, Host())

    with pytest.raises(SerializationError, match=r"OrderEvent\.order_id: key_serializer 'bytes'"):
        codec.key_of(model(order_id="ORD-7", amount=1.0))


def test_json_keys_and_values() -> None:
    model = _order_model(_topic(), key_serializer="json", value_serializer="json")
    codec = get_model_codec(model, Host())
    order = model(order_id="ORD-1", amount=2.5)

    value = codec.value_bytes(order)

    assert value == b'{"order_id":"ORD-1","amount":2.5,"status":"new"}'
    assert codec.key_of(order) == b'"ORD-1"'
    assert codec.decode(value) == order
    assert codec.datum_bytes({"order_id": "ORD-1", "amount": 2.5, "status": "new"}) == value
    with pytest.raises(DeserializationError, match="does not validate as OrderEvent"):
        codec.decode(b'{"order_id": 1}')


def test_datum_bytes_matches_value_bytes() -> None:
    model = _order_model(_topic())
    codec = get_model_codec(model, Host())
    order = model(order_id="ORD-1", amount=2.5, status=Status.PAID)

    datum = {"order_id": "ORD-1", "amount": 2.5, "status": "paid"}

    assert codec.datum_bytes(datum) == codec.value_bytes(order)


def test_values_bytes_is_value_bytes_for_many() -> None:
    model = _order_model(_topic())
    codec = get_model_codec(model, Host())
    orders = [model(order_id=f"ORD-{i}", amount=float(i), status=Status.PAID) for i in range(5)]

    assert codec.values_bytes(orders) == [codec.value_bytes(o) for o in orders]
    assert codec.values_bytes([]) == []


def test_values_bytes_names_the_index_of_a_bad_item() -> None:
    model = _order_model(_topic())
    codec = get_model_codec(model, Host())
    orders = [model(order_id="a", amount=1.0), model.model_construct(order_id="b", amount="x")]  # type: ignore[arg-type]

    with pytest.raises(SerializationError, match=r"^models\[1\] cannot be serialized: ") as info:
        codec.values_bytes(orders, label="models")
    assert info.value.model is not None and "OrderEvent" in info.value.model

    class Other(BaseModel):
        x: int

    with pytest.raises(SerializationError, match=r"objs\[0\].*cannot serialize a Other"):
        codec.values_bytes([Other(x=1)])  # type: ignore[list-item]


class Tier(StrEnum):
    GOLD = "gold"  # a str Enum member hashes and compares as its value: the encoder takes it


@pytest.mark.usefixtures("local_tz")
def test_direct_encoding_writes_the_bytes_of_the_datum_path() -> None:
    class Stamp(BaseModel):
        n: int
        at: dt.datetime
        tier: Tier
        when: dt.datetime | None = None

    setattr(Stamp, SETTINGS_ATTRIBUTE, ModelSettings(topic=_topic()))
    codec = get_model_codec(Stamp, Host())
    reference = AvroCodec(codec.schema, specialise=False)  # fastavro, from the datum
    berlin = dt.timezone(dt.timedelta(hours=2))
    stamps = [
        Stamp(n=1, at=dt.datetime(2026, 5, 1, 12, 0, 0, 250000, tzinfo=berlin), tier=Tier.GOLD),
        Stamp(n=-2, at=dt.datetime(1969, 12, 31, 23, 59, 59), tier=Tier.GOLD),  # naive = UTC
        Stamp(n=3, at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tier=Tier.GOLD, when=None),
    ]

    values = codec.values_bytes(stamps)

    assert codec.direct  # every one went the direct way
    expected = [reference.encode(model_converter(Stamp).to_datum(s)) for s in stamps]
    assert values == expected
    assert [codec.decode(v).at for v in values] == [
        dt.datetime(2026, 5, 1, 10, 0, 0, 250000, tzinfo=dt.UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    ]


class Mood(Enum):
    HAPPY = "happy"  # a plain Enum member is not its value: the encoder refuses it as it is


def test_a_value_the_encoder_refuses_takes_the_datum_path() -> None:
    class Diary(BaseModel):
        mood: Mood
        day: int

    setattr(Diary, SETTINGS_ATTRIBUTE, ModelSettings(topic=_topic()))
    codec = get_model_codec(Diary, Host())
    entries = [Diary(mood=Mood.HAPPY, day=i) for i in range(3)]
    assert codec.direct

    values = codec.values_bytes(entries)

    assert not codec.direct  # dropped after the first refusal
    reference = AvroCodec(codec.schema, specialise=False)
    assert values == [reference.encode({"mood": "happy", "day": i}) for i in range(3)]
    assert [codec.decode(v) for v in values] == entries


def test_values_bytes_of_json_values() -> None:
    model = _order_model(_topic(), value_serializer="json")
    codec = get_model_codec(model, Host())
    orders = [model(order_id="a", amount=1.0), model(order_id="b", amount=2.0)]

    assert codec.values_bytes(orders) == [o.model_dump_json().encode() for o in orders]


def test_value_bytes_refuses_another_class() -> None:
    model = _order_model(_topic())

    class Other(BaseModel):
        x: int

    with pytest.raises(SerializationError, match="OrderEvent codec cannot serialize a Other"):
        get_model_codec(model, Host()).value_bytes(Other(x=1))  # type: ignore[arg-type]


def test_garbage_is_a_deserialization_error() -> None:
    codec = get_model_codec(_order_model(_topic()), Host())

    with pytest.raises(DeserializationError):
        codec.decode(b"\xff\xff\xff")


def test_subjects_per_strategy() -> None:
    topic = _topic()

    def subject(**options: Any) -> str:
        return get_model_codec(_order_model(topic, **options), Host()).subject

    assert subject() == f"{topic}-value"
    assert subject(namespace="shop", subject_name_strategy="record") == "shop.OrderEvent"
    assert subject(namespace="shop", subject_name_strategy="topic_record") == (
        f"{topic}-shop.OrderEvent"
    )
    assert subject(record_name="Order", subject_name_strategy="record") == "Order"
    assert subject(schema_subject="explicit") == "explicit"


def test_missing_topic_is_a_settings_error_on_use() -> None:
    class NoTopic(BaseModel):
        x: int

    codec = get_model_codec(NoTopic, Host())

    with pytest.raises(SettingsError, match="NoTopic has no topic"):
        _ = codec.topic
    with pytest.raises(SettingsError, match="NoTopic has no topic"):
        _ = codec.subject


def test_schema_path_is_used_and_read_once(tmp_path: Path) -> None:
    avsc = tmp_path / "order.avsc"
    avsc.write_text(
        '{"type": "record", "name": "Order", "namespace": "legacy", "doc": "from file",'
        ' "fields": [{"name": "order_id", "type": "string"}, {"name": "amount", "type": "double"},'
        ' {"name": "status", "type": {"type": "enum", "name": "Status",'
        ' "symbols": ["new", "paid"]}, "default": "new"}]}'
    )
    model = _order_model(_topic(), schema_path=avsc)
    codec = get_model_codec(model, Host())
    avsc.unlink()  # read once per class: no codec opens it again, whatever its connection

    order = model(order_id="ORD-1", amount=1.0)
    other = get_model_codec(model, Host())

    assert codec.schema["doc"] == "from file"
    assert codec.decode(codec.value_bytes(order)) == order
    assert other is not codec and other.schema is codec.schema
    assert other.decode(other.value_bytes(order)) == order


def test_unreadable_schema_path_is_a_settings_error(tmp_path: Path) -> None:
    avsc = tmp_path / "broken.avsc"
    avsc.write_text("{not json")

    with pytest.raises(SettingsError, match="cannot read an Avro schema") as info:
        get_model_codec(_order_model(_topic(), schema_path=avsc), Host())
    assert info.value.option == "schema_path"


def test_register_without_registry_says_how_to_configure_one() -> None:
    codec = get_model_codec(_order_model(_topic()), Host())

    with pytest.raises(ConfigurationError, match="schema_registry_url"):
        codec.register()


@pytest.mark.timeout(20)
def test_unreachable_registry_surfaces_as_our_error_on_first_value() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    model = _order_model(_topic())
    codec = get_model_codec(model, Host(RegistryAdapter(url, timeout=1.0)))

    with pytest.raises(SchemaRegistryError) as info:
        codec.value_bytes(model(order_id="a", amount=1.0))

    assert info.value.subject == codec.subject
    assert info.value.url == url


# ------------------------------------------------------------------------ with a registry


@pytest.mark.integration
def test_wire_format_and_one_registration_for_many_values(adapter: RegistryAdapter) -> None:
    model = _order_model(_topic())
    log = RequestLog(adapter)
    codec = get_model_codec(model, Host(adapter))
    orders = [model(order_id=f"ORD-{i}", amount=float(i)) for i in range(50)]

    values = [codec.value_bytes(order) for order in orders]

    assert log.requests == [f"POST /subjects/{codec.subject}/versions"]
    schema_id = codec.schema_id
    assert isinstance(schema_id, int)
    body = AvroCodec(codec.schema).encode({"order_id": "ORD-3", "amount": 3.0, "status": "new"})
    assert values[3] == b"\x00" + struct.pack(">I", schema_id) + body
    assert [codec.decode(v) for v in values] == orders
    assert log.requests == [f"POST /subjects/{codec.subject}/versions"]


@pytest.mark.integration
def test_confluent_avro_deserializer_reads_our_values_and_keys(
    adapter: RegistryAdapter, registry_client: SchemaRegistryClient
) -> None:
    topic = _topic()
    model = _order_model(topic, key_serializer="avro")
    codec = get_model_codec(model, Host(adapter))
    order = model(order_id="ORD-42", amount=12.25, status=Status.PAID)

    value = codec.value_bytes(order)
    key = codec.key_of(order)

    value_reader = AvroDeserializer(registry_client)
    key_reader = AvroDeserializer(registry_client)
    decoded = value_reader(value, SerializationContext(topic, MessageField.VALUE))
    decoded_key = key_reader(key, SerializationContext(topic, MessageField.KEY))
    assert decoded == {"order_id": "ORD-42", "amount": 12.25, "status": "paid"}
    assert decoded_key == "ORD-42"
    assert registry_client.get_latest_version(f"{topic}-key").schema.schema_str == '"string"'


@pytest.mark.integration
@pytest.mark.parametrize("strategy", ["record", "topic_record"])
def test_values_are_registered_under_the_strategys_subject(
    adapter: RegistryAdapter, registry_client: SchemaRegistryClient, strategy: str
) -> None:
    topic, namespace = _topic(), f"shop.n{uuid.uuid4().hex[:8]}"
    model = _order_model(topic, namespace=namespace, subject_name_strategy=strategy)
    codec = get_model_codec(model, Host(adapter))

    value = codec.value_bytes(model(order_id="a", amount=1.0))

    expected = {
        "record": f"{namespace}.OrderEvent",
        "topic_record": f"{topic}-{namespace}.OrderEvent",
    }[strategy]
    assert codec.subject == expected
    latest = registry_client.get_latest_version(expected)
    assert value[:5] == b"\x00" + struct.pack(">I", latest.schema_id)


@pytest.mark.integration
def test_wire_format_off_with_registry_writes_plain_body_without_requests(
    adapter: RegistryAdapter,
) -> None:
    model = _order_model(_topic(), confluent_wire_format=False)
    log = RequestLog(adapter)
    codec = get_model_codec(model, Host(adapter))
    order = model(order_id="a", amount=1.0)

    value = codec.value_bytes(order)

    assert codec.schema_id is None
    assert value == AvroCodec(codec.schema).encode(
        {"order_id": "a", "amount": 1.0, "status": "new"}
    )
    assert log.requests == []
    assert codec.decode(value) == order


@pytest.mark.integration
def test_auto_register_off_looks_up_and_explains_a_missing_schema(
    adapter: RegistryAdapter,
) -> None:
    topic = _topic()
    lookup_only = get_model_codec(_order_model(topic, auto_register=False), Host(adapter))

    with pytest.raises(SchemaRegistryError, match="auto_register = True") as info:
        _ = lookup_only.schema_id
    assert info.value.subject == f"{topic}-value"

    registered_id = lookup_only.register()
    other = get_model_codec(_order_model(topic, auto_register=False), Host(adapter))
    log = RequestLog(adapter)
    assert other.schema_id == registered_id
    assert not log.matching("POST", "/versions")


@pytest.mark.integration
def test_decode_resolves_the_writer_schema_both_ways(adapter: RegistryAdapter) -> None:
    topic = _topic()

    class V1(BaseModel):
        order_id: str
        amount: float

    class V2(BaseModel):
        order_id: str
        amount: float
        currency: str = "EUR"

    for model in (V1, V2):
        setattr(model, SETTINGS_ATTRIBUTE, ModelSettings(topic=topic, record_name="Order"))
    v1 = get_model_codec(V1, Host(adapter))
    v2 = get_model_codec(V2, Host(adapter))

    old_bytes = v1.value_bytes(V1(order_id="a", amount=1.0))
    new_bytes = v2.value_bytes(V2(order_id="b", amount=2.0, currency="USD"))

    assert v1.schema_id != v2.schema_id
    assert v2.decode(old_bytes) == V2(order_id="a", amount=1.0, currency="EUR")
    assert v1.decode(new_bytes) == V1(order_id="b", amount=2.0)


@pytest.mark.integration
def test_framed_decode_of_unframed_bytes_is_a_clear_error(adapter: RegistryAdapter) -> None:
    codec: ModelCodec[BaseModel] = get_model_codec(_order_model(_topic()), Host(adapter))

    with pytest.raises(DeserializationError, match="Confluent magic byte"):
        codec.decode(b"\x02abcdef")
