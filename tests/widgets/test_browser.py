"""SchemaBrowser against the sandbox registry: filter, versions, field table, diff, check."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from flowodm import FlowBaseModel, tools
from flowodm.exceptions import MissingExtraError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.sandbox.ports import free_port
from flowodm.widgets import SchemaBrowser
from flowodm.widgets._browser_view import BrowserView

pytestmark = pytest.mark.integration

V1 = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "order_id", "type": "string"},
        {"name": "amount", "type": "double"},
    ],
}
V2 = {
    **V1,
    "fields": [*V1["fields"], {"name": "coupon", "type": ["null", "string"], "default": None}],
}
NESTED = {
    "type": "record",
    "name": "Shipment",
    "fields": [
        {"name": "id", "type": "string", "doc": "the <shipment> id"},
        {
            "name": "address",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": "int"}],
            },
        },
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "fields": [{"name": "sku", "type": "string"}],
                },
            },
        },
        {"name": "attrs", "type": {"type": "map", "values": "long"}, "default": {}},
        {
            "name": "state",
            "type": {"type": "enum", "name": "State", "symbols": ["NEW", "SENT"]},
        },
        {
            "name": "sent_at",
            "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
            "default": None,
        },
        {"name": "back", "type": ["null", "Address"], "default": None},
    ],
}


@pytest.fixture
def orders(flowodm_connection: Connection) -> str:
    """A fresh subject with two versions: v2 adds ``coupon`` (with a default)."""
    subject = f"orders-{uuid.uuid4().hex[:10]}-value"
    tools.register(V1, subject, connection=flowodm_connection)
    tools.register(V2, subject, connection=flowodm_connection)
    return subject


def _order_model(topic_name: str, **extra: Any) -> type[FlowBaseModel]:
    """``shop.Order`` as a model on ``topic_name``; ``currency`` is added without a default."""

    class Order(FlowBaseModel):
        class Settings:
            topic = topic_name
            namespace = "shop"

        order_id: str
        amount: float
        coupon: str | None = None

    if not extra:
        return Order

    class Order2(Order):
        class Settings:
            record_name = "Order"

        currency: str

    return Order2


def test_the_filter_narrows_the_subject_list(orders: str, flowodm_connection: Connection) -> None:
    other = f"{orders[:-6]}-audit-value"
    tools.register(V1, other, connection=flowodm_connection)
    browser = SchemaBrowser(flowodm_connection)
    assert not browser.has_widget  # nothing is built until the widget is asked for
    view = _view_of(browser)

    view.filter.value = orders[:17]  # typing in the filter box
    assert view.subjects.options == (other, orders)
    view.filter.value = "audit"
    assert orders not in view.subjects.options and other in view.subjects.options
    view.filter.value = "no-such-subject-at-all"
    assert view.subjects.options == ()
    assert "0 of" in view.header.value


def test_two_versions_are_diffed_with_the_added_field_named(
    orders: str, flowodm_connection: Connection
) -> None:
    browser = SchemaBrowser(flowodm_connection)
    view = _view_of(browser)
    view.filter.value = orders
    view.subjects.value = orders  # picking the subject diffs its last two versions

    assert [label for label, _ in view.version.options] == ["v1", "v2"]
    assert view.version.value == 2
    assert "<code style='padding-left:0.3em'>coupon</code>" in view.schema.value
    view.version.value = 1
    assert browser.version is not None and browser.version.version == 1
    assert "coupon" not in view.schema.value and "amount" in view.schema.value
    assert "compatibility <b>BACKWARD</b>" in view.info.value
    assert "<code>coupon</code>" in view.diff.value and ">added<" in view.diff.value
    view.diff_old.value, view.diff_new.value = 2, 1  # the other way round: a removal
    assert browser.diff_result is not None
    assert [c.path for c in browser.diff_result.removed] == ["coupon"]
    assert ">removed<" in view.diff.value
    assert f"{orders} v2 -&gt; {orders} v1" in view.diff.value  # escaped by tools' HTML


def test_the_schema_is_a_field_table_with_nested_types_or_raw_json(
    flowodm_connection: Connection,
) -> None:
    subject = f"shipments-{uuid.uuid4().hex[:10]}-value"
    tools.register(NESTED, subject, connection=flowodm_connection)
    browser = SchemaBrowser(flowodm_connection, subject=subject)
    view = _view_of(browser)

    table = view.schema.value
    assert "padding-left:1.5em'>↳ city</code>" in table  # nested, one level in
    assert "↳ sku</code>" in table  # inside the array's records
    assert "<code>array&lt;record Line&gt;</code>" in table
    assert "<code>map&lt;long&gt;</code>" in table
    assert "symbols: NEW, SENT" in table
    assert "<td>timestamp-millis</td>" in table
    assert "the &lt;shipment&gt; id" in table  # docs are escaped
    assert "<code>null | record Address</code>" in table
    view.raw.value = True
    assert view.schema.value.startswith("<pre")
    assert json.loads(_unescape(view.schema.value)) == NESTED
    assert "lines[].sku" in [row.path for row in tools_rows(NESTED)]


def test_checking_a_model_shows_the_verdict_and_names_the_field(
    orders: str, flowodm_connection: Connection
) -> None:
    topic = orders.removesuffix("-value")
    good, bad = _order_model(topic), _order_model(topic, currency=True)
    browser = SchemaBrowser(flowodm_connection, models=[good])
    view = _view_of(browser)

    view.model.value = good
    view.check.click()  # no subject picked yet: the model's own subject is selected
    assert browser.subject == orders
    assert browser.check_result is not None and browser.check_result.compatible
    assert "✔ Order: compatible with subject" in view.check_result.value

    result = browser.check(bad)
    assert result is not None and not result.compatible
    assert result.fields == ("currency",)
    assert "field(s) currency" in view.check_result.value
    assert "field &#x27;currency&#x27; has no default" in view.check_result.value
    assert [label for label, _ in view.model.options] == ["Order", "Order2"]


def test_the_subject_level_and_refresh_follow_the_registry(
    orders: str, flowodm_connection: Connection
) -> None:
    browser = SchemaBrowser(flowodm_connection, subject=orders)
    view = _view_of(browser)
    later = f"{orders[:-6]}-later-value"
    tools.register(V1, later, level="FORWARD", connection=flowodm_connection)
    assert later not in browser.all_subjects

    v3 = {**V2, "fields": [*V2["fields"], {"name": "memo", "type": "string", "default": ""}]}
    tools.register(v3, orders, connection=flowodm_connection)
    assert [label for label, _ in view.version.options] == ["v1", "v2"]

    view.refresh.click()
    assert later in browser.all_subjects
    assert [label for label, _ in view.version.options] == ["v1", "v2", "v3"]
    assert view.version.value == 2  # the version being looked at stays selected
    view.subjects.value = later
    assert "compatibility <b>FORWARD</b>" in view.info.value
    assert browser.level == "FORWARD"


def test_a_registry_error_is_shown_in_the_widget_without_credentials() -> None:
    url = f"http://admin:s3cr3t-pw@127.0.0.1:{free_port()}"  # nothing listens there
    with Connection(build_config(schema_registry_url=url, registry_timeout=1.0)) as connection:
        browser = SchemaBrowser(connection)  # no exception: the error is state
        view = _view_of(browser)
        shown = [view.header.value, view.error.value, browser.to_text(), browser.to_html()]

    assert browser.error
    assert "⚠" in view.error.value and "Schema Registry" in view.error.value
    assert f"<code>http://127.0.0.1:{url.rsplit(':', 1)[1]}</code>" in view.header.value
    assert not any("s3cr3t" in text or "admin:" in text for text in shown)


def test_without_ipywidgets_the_browser_works_as_text(
    orders: str, flowodm_connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    browser = SchemaBrowser(flowodm_connection).filter(orders).select(orders)

    text = repr(browser)
    assert f"subjects (1 of {len(browser.all_subjects)}, filter {orders!r}): {orders}" in text
    assert "+ added  coupon: null | string (default null)" in text
    assert "coupon    null | string                null" in text
    with pytest.raises(MissingExtraError, match="flowodm\\[notebook\\]"):
        _ = browser.widget
    assert "text/html" in browser._repr_mimebundle_()


def _view_of(browser: SchemaBrowser) -> BrowserView:
    """Build the browser's widgets and return their view (to drive them as a user would)."""
    _ = browser.widget
    view = browser._view
    assert view is not None
    return view


def tools_rows(schema: Any) -> list[Any]:
    from flowodm.widgets import schema_rows

    return schema_rows(schema)


def _unescape(value: str) -> str:
    import html

    return html.unescape(value.split(">", 1)[1].rsplit("</pre>", 1)[0])
