"""Rich display: models, results and reports as escaped HTML; light imports."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from enum import StrEnum

import pytest
from IPython.core.formatters import HTMLFormatter
from pydantic import Field

from flowodm import FlowBaseModel
from flowodm.kafka.connection import Connection
from flowodm.produce.results import DeliveryResult
from flowodm.testing import TopicFactory
from flowodm.widgets import schema_text
from tests.widgets.models import note_model


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Line(FlowBaseModel):
    sku: str
    qty: int


class Basket(FlowBaseModel):
    class Settings:
        topic = "baskets"
        key_field = "basket_id"

    basket_id: str = Field(description="the <b>basket</b>")
    color: Color
    lines: list[Line]
    tags: dict[str, int] = {}
    at: dt.datetime | None = None


def _html(obj: object) -> str:
    """What Jupyter shows as HTML for ``obj`` (IPython's own formatter)."""
    shown = HTMLFormatter()(obj)
    assert isinstance(shown, str), f"no HTML display for {obj!r}"
    return shown


def test_a_model_class_displays_its_schema_as_a_field_table() -> None:
    shown = _html(Basket)

    assert (
        "Basket: Avro record Basket, topic &#x27;baskets&#x27;, key &#x27;basket_id&#x27;" in shown
    )
    assert "<code>array&lt;record Line&gt;</code>" in shown
    assert "↳ sku</code>" in shown and "↳ qty</code>" in shown
    assert "<code>enum Color</code>" in shown and "symbols: red, blue" in shown
    assert "<code>map&lt;long&gt;</code>" in shown
    assert "timestamp-millis" in shown
    assert "the &lt;b&gt;basket&lt;/b&gt;" in shown and "<b>basket</b>" not in shown


def test_a_model_instance_adds_its_values_escaped() -> None:
    basket = Basket(basket_id="<script>x</script>", color=Color.RED, lines=[Line(sku="a", qty=1)])
    shown = _html(basket)

    assert "<th style='text-align:left'>value</th>" in shown
    assert "&lt;script&gt;x&lt;/script&gt;" in shown and "<script>" not in shown
    assert "<td>red</td>" in shown


def test_schema_text_indents_nested_fields() -> None:
    lines = schema_text(Basket.avro_schema()).splitlines()
    assert lines[0].split()[:2] == ["field", "type"]
    assert any(line.startswith("  sku") for line in lines)
    assert any(line.startswith("lines ") and "array<record Line>" in line for line in lines)


def test_delivery_results_display_as_tables(
    flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    note_cls = note_model(make_topic())
    result = note_cls(note_id="<k>", text="hi").produce(connection=flowodm_connection)
    assert isinstance(result, DeliveryResult)
    shown = _html(result)
    assert "<strong>Delivered</strong>" in shown
    assert f"<th style='text-align:left'>topic</th><td>{result.topic}</td>" in shown
    assert "<th style='text-align:left'>offset</th><td>0</td>" in shown
    assert "b&#x27;&lt;k&gt;&#x27;" in shown

    many = note_cls.produce_many(
        [note_cls(note_id=f"n-{i}", text="") for i in range(3)], connection=flowodm_connection
    )
    shown = _html(many)
    assert "<th style='text-align:left'>delivered</th><td>3</td>" in shown
    assert "<th style='text-align:left'>failed</th><td>0</td>" in shown


def test_importing_flowodm_and_its_widgets_loads_no_ipywidgets() -> None:
    code = (
        "import sys, flowodm, flowodm.widgets\n"
        "from flowodm.widgets import DeliveryMonitor, SchemaBrowser, TopicViewer\n"
        "m = DeliveryMonitor(); m(total=3, desc='x').update(3); text = repr(m)\n"
        "print('ipywidgets' in sys.modules, 'delivered 3' in text)\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert found.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("name", ["DeliveryMonitor", "SchemaBrowser", "TopicViewer"])
def test_the_widgets_are_exported_lazily(name: str) -> None:
    import flowodm.widgets

    assert name in flowodm.widgets.__all__
    assert getattr(flowodm.widgets, name).__name__ == name
