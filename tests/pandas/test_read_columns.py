"""Which models ``read_topic`` may decode straight into columns (``read_columns.column_plan``)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ConfigDict, field_validator

from flowodm.model import FlowBaseModel
from flowodm.pandas.read_columns import column_plan


class Plain(FlowBaseModel):
    class Settings:
        topic = "plain"

    name: str
    count: int
    ratio: float | None = None


def test_a_model_of_exact_fields_is_read_on_the_columnar_path() -> None:
    plan = column_plan(Plain)
    assert plan.columnar
    assert [(f.name, f.dtype, f.nullable) for f in plan.fields] == [
        ("name", "str", False),
        ("count", "int", False),
        ("ratio", "float", True),
    ]


@pytest.mark.parametrize(
    "config",
    [
        {"str_strip_whitespace": True},
        {"str_to_lower": True},
        {"str_to_upper": True},
        {"str_max_length": 3},
        {"str_min_length": 1},
        {"allow_inf_nan": False},
    ],
)
def test_config_that_changes_or_rejects_values_forces_validation(config: dict[str, Any]) -> None:
    class Configured(Plain):
        model_config = ConfigDict(**config)  # type: ignore[typeddict-item]

    assert not column_plan(Configured).columnar


def test_a_validator_forces_validation() -> None:
    class Validated(Plain):
        @field_validator("name")
        @classmethod
        def shout(cls, value: str) -> str:
            return value.upper()

    assert not column_plan(Validated).columnar
