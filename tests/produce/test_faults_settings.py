"""A misspelt inner ``Settings`` class fails at class definition instead of being ignored.

Issue 13: ``class settings:`` (or ``Setting``, ``Setings`` ...) on a ``FlowBaseModel`` used to
leave the model without its topic and key, silently; the first produce then went to the wrong
place or failed far from the cause.
"""

from __future__ import annotations

from enum import StrEnum

import pytest
from pydantic import BaseModel, ConfigDict

from flowodm import FlowBaseModel
from flowodm.exceptions import SettingsError


@pytest.mark.parametrize(
    "name", ["settings", "Setting", "setting", "SETTINGS", "Setings", "Settigns"]
)
def test_misspelt_inner_settings_class_raises_naming_class_and_fix(name: str) -> None:
    body = {
        "__module__": __name__,
        "__qualname__": "OrderEvent",
        "__annotations__": {"order_id": str},
        # A class statement in the body gives the inner class this qualified name.
        name: type(name, (), {"topic": "orders", "__qualname__": f"OrderEvent.{name}"}),
    }

    with pytest.raises(SettingsError) as caught:
        type("OrderEvent", (FlowBaseModel,), body)

    message = str(caught.value)
    assert f"OrderEvent.{name}" in message
    assert "class Settings:" in message
    assert caught.value.model == "OrderEvent"
    assert caught.value.option == name


def test_lower_case_settings_written_as_a_class_statement_raises() -> None:
    with pytest.raises(SettingsError, match=r"OrderEvent\.settings .*class Settings:"):

        class OrderEvent(FlowBaseModel):
            class settings:  # the typo under test
                topic = "orders"

            order_id: str


def test_pydantic_configuration_and_nested_types_are_left_alone() -> None:
    class Event(FlowBaseModel):
        model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

        class Settings:
            topic = "events"

        class Status(StrEnum):  # a nested type named nothing like Settings
            OK = "ok"

        class Setting(BaseModel):  # a nested record type, not a settings block
            name: str

        name: str

    assert Event.flow_settings().topic == "events"
    assert Event(name=" a ", other=1).name == "a"  # model_config still applies
