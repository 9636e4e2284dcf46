"""Parsing of a model's inner ``Settings`` class into ``ModelSettings``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from flowodm.exceptions import ConfigurationError, SettingsError
from flowodm.settings import (
    SETTINGS_ATTRIBUTE,
    ModelSettings,
    check_against_fields,
    parse_model_settings,
    settings_of,
)


def test_options_are_read_and_defaults_apply() -> None:
    class OrderEvent(BaseModel):
        class Settings:
            topic = "orders"
            key_field = "order_id"
            consumer_group = "billing"

        order_id: str

    settings = parse_model_settings(OrderEvent, None)

    assert settings.topic == "orders"
    assert settings.key_field == "order_id"
    assert settings.consumer_group == "billing"
    assert settings.confluent_wire_format is True
    assert settings.auto_register is True
    assert settings.key_serializer == "string"
    assert settings.value_serializer == "avro"
    assert settings.subject_name_strategy == "topic"


def test_model_without_settings_gets_defaults() -> None:
    class Bare(BaseModel):
        x: int

    assert parse_model_settings(Bare, None) == ModelSettings()


def test_typo_names_model_and_option_and_suggests_the_right_name() -> None:
    class OrderEvent:
        class Settings:
            topic = "orders"
            consumer_grop = "billing"

    with pytest.raises(SettingsError) as info:
        parse_model_settings(OrderEvent, None)

    message = str(info.value)
    assert "OrderEvent" in message
    assert "'consumer_grop'" in message
    assert "did you mean 'consumer_group'?" in message
    assert info.value.model == "OrderEvent"
    assert info.value.option == "consumer_grop"
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("topic", 123),
        ("topic", ""),
        ("confluent_wire_format", "yes"),
        ("auto_register", 1),
        ("key_serializer", "avr"),
        ("value_serializer", "protobuf"),
        ("subject_name_strategy", "TopicNameStrategy"),
        ("consumer_group", ["a"]),
    ],
)
def test_wrong_type_or_value_names_model_option_and_value(option: str, value: object) -> None:
    settings_cls = type("Settings", (), {option: value})
    model = type("PaymentEvent", (), {"Settings": settings_cls})

    with pytest.raises(SettingsError) as info:
        parse_model_settings(model, None)

    assert f"PaymentEvent.Settings.{option} = {value!r}" in str(info.value)
    assert info.value.option == option


def test_nothing_is_coerced() -> None:
    # "1" must not silently become True, nor 5 become "5".
    class Coerce:
        class Settings:
            topic = 5

    with pytest.raises(SettingsError, match="valid string"):
        parse_model_settings(Coerce, None)


def test_subject_and_non_default_strategy_contradict() -> None:
    class Both:
        class Settings:
            schema_subject = "orders-value"
            subject_name_strategy = "record"

    with pytest.raises(SettingsError, match="either schema_subject or subject_name_strategy"):
        parse_model_settings(Both, None)


def test_settings_must_be_a_class() -> None:
    model = type("Odd", (), {"Settings": {"topic": "orders"}})

    with pytest.raises(SettingsError, match=r"Odd\.Settings must be a class"):
        parse_model_settings(model, None)


def test_subclass_inherits_and_overrides_single_options() -> None:
    class Base(BaseModel):
        class Settings:
            topic = "orders"
            consumer_group = "billing"
            key_serializer = "json"

        order_id: str

    parent = parse_model_settings(Base, None)

    class Child(Base):
        class Settings:
            topic = "orders-eu"

    child = parse_model_settings(Child, parent)

    assert child.topic == "orders-eu"
    assert child.consumer_group == "billing"
    assert child.key_serializer == "json"
    assert parent.topic == "orders"


def test_subclass_without_own_settings_reuses_the_parent_settings() -> None:
    class Base:
        class Settings:
            topic = "orders"

    parent = parse_model_settings(Base, None)

    class Child(Base):
        pass

    assert parse_model_settings(Child, parent) is parent


def test_upstream_idiom_of_subclassing_the_parent_settings_still_works() -> None:
    class Base:
        class Settings:
            topic = "orders"
            consumer_group = "billing"

    parent = parse_model_settings(Base, None)

    class Child(Base):
        class Settings(Base.Settings):
            key_field = None

    child = parse_model_settings(Child, parent)
    assert (child.topic, child.consumer_group) == ("orders", "billing")


def test_subclass_typo_is_caught_too() -> None:
    parent = ModelSettings(topic="orders")

    class Child:
        class Settings:
            topik = "x"

    with pytest.raises(SettingsError, match="did you mean 'topic'"):
        parse_model_settings(Child, parent)


def test_settings_are_frozen() -> None:
    settings = ModelSettings(topic="orders")

    with pytest.raises(ValidationError, match="frozen"):
        settings.topic = "other"  # type: ignore[misc]


def test_unknown_field_rejected_by_model_settings_itself() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        ModelSettings(topik="orders")  # type: ignore[call-arg]


def test_key_field_must_name_a_model_field() -> None:
    class OrderEvent(BaseModel):
        class Settings:
            topic = "orders"
            key_field = "orderid"

        order_id: str

    with pytest.raises(SettingsError) as info:
        parse_model_settings(OrderEvent, None)

    assert "did you mean 'order_id'?" in str(info.value)
    assert info.value.option == "key_field"


def test_check_against_fields_for_non_pydantic_callers() -> None:
    settings = ModelSettings(key_field="id")

    check_against_fields("Thing", settings, ["id", "name"])
    with pytest.raises(SettingsError, match="not a field of Thing"):
        check_against_fields("Thing", settings, ["name"])


def test_require_topic() -> None:
    assert ModelSettings(topic="orders").require_topic("OrderEvent") == "orders"
    with pytest.raises(SettingsError) as info:
        ModelSettings().require_topic("OrderEvent")
    assert str(info.value) == ("OrderEvent has no topic: set `topic` in its inner Settings class")
    assert info.value.option == "topic"


def test_relative_schema_path_is_resolved_against_the_defining_module(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    avsc = tmp_path / "schemas" / "order.avsc"
    avsc.write_text("{}")
    module = type(sys)("flowodm_test_fake_module")
    module.__file__ = str(tmp_path / "models.py")
    sys.modules[module.__name__] = module
    try:
        model = type(
            "OrderEvent",
            (),
            {
                "__module__": module.__name__,
                "Settings": type("S", (), {"schema_path": "schemas/order.avsc"}),
            },
        )
        settings = parse_model_settings(model, None)
    finally:
        del sys.modules[module.__name__]

    assert settings.schema_path == avsc


def test_relative_schema_path_uses_cwd_for_interactive_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "order.avsc").write_text("{}")
    monkeypatch.chdir(tmp_path)
    # A module without __file__, like __main__ in a notebook.
    module = type(sys)("flowodm_test_interactive")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    model = type(
        "OrderEvent",
        (),
        {"__module__": module.__name__, "Settings": type("S", (), {"schema_path": "order.avsc"})},
    )

    assert parse_model_settings(model, None).schema_path == tmp_path / "order.avsc"


def test_missing_schema_path_fails_at_class_definition(tmp_path: Path) -> None:
    class OrderEvent:
        class Settings:
            schema_path = tmp_path / "missing.avsc"

    with pytest.raises(SettingsError, match="is not a file") as info:
        parse_model_settings(OrderEvent, None)
    assert info.value.option == "schema_path"


def test_settings_of_prefers_stored_settings() -> None:
    stored = ModelSettings(topic="stored")

    class Stored:
        class Settings:
            topic = "inner"

    setattr(Stored, SETTINGS_ATTRIBUTE, stored)

    class Plain:
        class Settings:
            topic = "inner"

    assert settings_of(Stored) is stored
    assert settings_of(Plain).topic == "inner"
