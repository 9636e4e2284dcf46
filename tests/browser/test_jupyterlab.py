"""The notebooks in JupyterLab, in a real browser: the widget views render and respond.

The T1 tests (``tests/notebooks``) read the widget state nbclient saves; they cannot tell
whether JupyterLab's widget manager draws the views, or whether a click reaches the kernel and
comes back. These tests open each notebook in JupyterLab, run all its cells from the *Run* menu
and then look at the DOM as a user would see it: the ipywidgets views (not the ``text/plain``
or ``text/html`` fallback), the SchemaBrowser narrowing its list as one types, the diff of two
picked versions, the check verdicts, the DeliveryMonitor's counts, the TopicViewer's rows, and
notebook 01's progress bars. Each widget is photographed into ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from flowodm import FlowBaseModel
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from tests.browser.conftest import Lab, open_and_run

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

WIDGETS_NOTEBOOK = "02-schemas-and-deliveries.ipynb"
DATAFRAME_NOTEBOOK = "01-dataframe-to-kafka.ipynb"
_WIDGET = ".jupyter-widgets"  # the class every ipywidgets view carries, fallbacks never
_FALLBACK_MIMES = ("text/plain", "text/html")


@dataclass(frozen=True)
class WidgetsPage:
    """Notebook 02 after Run All: the page, its topic and subject, an unrelated subject."""

    page: Page
    topic: str
    subject: str
    other_subject: str

    def browser_view(self, index: int = 0) -> Locator:
        """The ``index``-th view of the SchemaBrowser (the notebook displays it twice)."""
        return self.page.locator(f".flowodm-schema-browser{_WIDGET}").nth(index)


@pytest.fixture(scope="module")
def widgets_page(
    browser: BrowserContext, lab: Lab, sandbox: Sandbox, screenshots: Path
) -> Iterator[WidgetsPage]:
    """Notebook 02 run in JupyterLab, with one more subject in the registry to filter out."""
    # Registered before the notebook runs, so the browser's list holds two subjects at least.
    other = f"browser-other-{uuid.uuid4().hex[:8]}-value"
    schema = {"type": "record", "name": "Other", "fields": [{"name": "x", "type": "int"}]}
    registered = httpx.post(
        f"{sandbox.schema_registry_url}/subjects/{other}/versions",
        json={"schema": json.dumps(schema)},
        timeout=10,
    )
    registered.raise_for_status()
    page = open_and_run(browser, lab, WIDGETS_NOTEBOOK)
    try:
        page.screenshot(path=screenshots / "02-full-page.png")
        shown = page.locator(".jp-OutputArea-output", has_text="'notebook-payments-")
        found = re.search(r"'(notebook-payments-[0-9a-f]{8})'", shown.first.inner_text())
        assert found, "the create-topic cell shows no topic name"
        topic = found.group(1)
        yield WidgetsPage(page, topic, f"{topic}-value", other)
    finally:
        page.close()


@pytest.fixture(scope="module")
def dataframe_page(browser: BrowserContext, lab: Lab, screenshots: Path) -> Iterator[Page]:
    """Notebook 01 run in JupyterLab."""
    page = open_and_run(browser, lab, DATAFRAME_NOTEBOOK)
    try:
        page.screenshot(path=screenshots / "01-full-page.png")
        yield page
    finally:
        page.close()


# ---------------------------------------------------------------------- 02: views, not text


def test_the_widgets_render_as_views_not_text(widgets_page: WidgetsPage, screenshots: Path) -> None:
    page = widgets_page.page
    # The SchemaBrowser is displayed twice (browser and check-good cells), the others once.
    for css_class, count in (
        ("flowodm-schema-browser", 2),
        ("flowodm-delivery-monitor", 1),
        ("flowodm-topic-viewer", 1),
    ):
        views = page.locator(f".{css_class}{_WIDGET}")
        expect(views).to_have_count(count)
        expect(views.first).to_be_visible()
        # A kernel or front end without the widget manager shows the escaped HTML instead.
        fallback = page.locator(f".jp-RenderedHTMLCommon .{css_class}")
        expect(fallback).to_have_count(0)
    shown_text = " ".join(
        text
        for mime in _FALLBACK_MIMES
        for text in page.locator(
            f".jp-OutputArea-output[data-mime-type='{mime}']"
        ).all_inner_texts()
    )
    assert "Schema Registry http" not in shown_text  # SchemaBrowser's text/plain
    assert "payments: delivered" not in shown_text  # DeliveryMonitor's text/plain
    browser = widgets_page.browser_view()
    expect(browser.locator(".widget-select select option")).to_have_text([widgets_page.subject])
    expect(browser.locator(".widget-tab")).to_be_visible()
    expect(browser.locator("table.flowodm-schema")).to_contain_text("paid_at")
    expect(browser.locator("table.flowodm-schema")).to_contain_text("timestamp-millis")
    # The widgets' style sheet (flowodm.widgets._ui.WIDGET_CSS) applies: columns do not touch.
    padding = "e => getComputedStyle(e).paddingRight"
    assert browser.locator("table.flowodm-schema th").first.evaluate(padding) == "14px"
    browser.screenshot(path=screenshots / "02-schema-browser.png")
    page.locator(f".flowodm-delivery-monitor{_WIDGET}").screenshot(
        path=screenshots / "02-delivery-monitor.png"
    )
    page.locator(f".flowodm-topic-viewer{_WIDGET}").screenshot(
        path=screenshots / "02-topic-viewer.png"
    )


# ---------------------------------------------------------------------- 02: SchemaBrowser


def test_typing_in_the_filter_narrows_the_subject_list(
    widgets_page: WidgetsPage, screenshots: Path
) -> None:
    browser, other_view = widgets_page.browser_view(0), widgets_page.browser_view(1)
    box = browser.locator(".widget-text input")
    options = browser.locator(".widget-select select option")
    header = browser.locator(".widget-html", has_text="Schema Registry").first
    try:
        box.fill("")
        expect(options).to_contain_text([widgets_page.other_subject, widgets_page.subject])
        assert options.count() >= 2
        total = options.count()
        expect(header).to_contain_text(f"{total} of {total} subject(s)")

        box.fill("notebook-payments-")  # every payments subject, the other one gone
        expect(options).not_to_contain_text([widgets_page.other_subject])
        for text in options.all_inner_texts():
            assert "notebook-payments-" in text, text
        assert options.count() < total

        box.fill(widgets_page.topic)
        expect(options).to_have_text([widgets_page.subject])
        expect(header).to_contain_text(f"1 of {total} subject(s)")
        # Both views show one model: the second view followed the first one's filter.
        expect(other_view.locator(".widget-text input")).to_have_value(widgets_page.topic)
        expect(other_view.locator(".widget-select select option")).to_have_text(
            [widgets_page.subject]
        )
        browser.screenshot(path=screenshots / "02-schema-browser-filtered.png")
    finally:
        _select_subject(widgets_page)


def test_picking_two_versions_shows_their_diff(
    widgets_page: WidgetsPage, screenshots: Path
) -> None:
    _select_subject(widgets_page)
    browser = widgets_page.browser_view()
    browser.locator(".lm-TabBar-tab", has_text="Diff").click()
    diff = browser.locator(".flowodm-schema-diff")
    old, new = _dropdown(browser, "from"), _dropdown(browser, "to")
    subject = widgets_page.subject

    old.select_option(label="v2")
    new.select_option(label="v1")  # newest to oldest: the field was removed
    expect(diff).to_contain_text(f"{subject} v2 -> {subject} v1: 1 change(s)")
    expect(diff.locator("tbody tr")).to_have_text([re.compile(r"removed\s*note")])

    old.select_option(label="v1")
    expect(diff).to_contain_text(f"{subject} v1 -> {subject} v1: no differences")
    new.select_option(label="v2")
    expect(diff).to_contain_text(f"{subject} v1 -> {subject} v2: 1 change(s)")
    expect(diff.locator("tbody tr")).to_have_text([re.compile(r"added\s*note")])
    browser.screenshot(path=screenshots / "02-schema-browser-diff.png")


def test_checking_a_model_shows_the_registrys_verdict(
    widgets_page: WidgetsPage, screenshots: Path
) -> None:
    _select_subject(widgets_page)
    browser = widgets_page.browser_view()
    browser.locator(".lm-TabBar-tab", has_text="Check a model").click()
    model = _dropdown(browser, "model")
    check = browser.locator("button", has_text="Check")
    verdict = browser.locator(".widget-tab .widget-html", has_text="compatible").last

    model.select_option(label="PaymentWithCurrency")
    check.click()
    expect(verdict).to_contain_text("✘ PaymentWithCurrency")
    expect(verdict).to_contain_text("field(s) currency")
    browser.screenshot(path=screenshots / "02-schema-browser-check-bad.png")

    model.select_option(label="PaymentWithDefaultCurrency")
    check.click()
    expect(verdict).to_contain_text("✔ PaymentWithDefaultCurrency: compatible with subject")
    browser.screenshot(path=screenshots / "02-schema-browser-check-good.png")


# ---------------------------------------------------------------------- 02: monitor, viewer


def test_the_monitor_shows_the_counts_of_the_frame_it_watched(widgets_page: WidgetsPage) -> None:
    monitor = widgets_page.page.locator(f".flowodm-delivery-monitor{_WIDGET}")
    counts = _th_td(monitor.locator("table").first)
    assert (counts["delivered"], counts["failed"], counts["in flight"], counts["invalid"]) == (
        "4,998",
        "0",
        "0",
        "2",
    )
    assert re.fullmatch(r"[\d,]+ msg/s", counts["average"]), counts
    expect(monitor.locator("svg.flowodm-sparkline polyline")).to_have_count(1)
    expect(monitor).to_contain_text("no errors")


def test_the_viewer_shows_the_newest_messages_and_refreshes(
    widgets_page: WidgetsPage, flowodm_connection: Connection, screenshots: Path
) -> None:
    viewer = widgets_page.page.locator(f".flowodm-topic-viewer{_WIDGET}")
    rows = viewer.locator("table.flowodm-topic-viewer tbody tr")
    expect(rows).to_have_count(5)
    keys = [row.locator("td").nth(3).inner_text() for row in rows.all()]
    assert len(set(keys)) == 5 and all(re.fullmatch(r"PAY-\d{5}", k) for k in keys), keys
    status = viewer.locator(".widget-hbox .widget-html").first
    expect(status).to_contain_text("last 5 of up to 5 message(s)")

    # A message produced now is the newest: Refresh (in the browser) must bring it to the top.
    payment = _payment_model(widgets_page.topic)
    payment(
        payment_id="PAY-BROWSER", amount=1.5, paid_at=dt.datetime.now(dt.UTC), note="from the test"
    ).produce(connection=flowodm_connection)
    viewer.locator("button", has_text="Refresh").click()
    expect(rows.first.locator("td").nth(3)).to_have_text("PAY-BROWSER")
    expect(rows.first).to_contain_text("from the test")
    expect(rows).to_have_count(5)
    assert [row.locator("td").nth(3).inner_text() for row in rows.all()] == [
        "PAY-BROWSER",
        *keys[:4],
    ]
    viewer.screenshot(path=screenshots / "02-topic-viewer-refreshed.png")


# ---------------------------------------------------------------------- 01: DataFrame to Kafka


def test_dataframe_notebook_shows_finished_progress_bars_and_reports(
    dataframe_page: Page, screenshots: Path
) -> None:
    page = dataframe_page
    bars = page.locator(f".widget-hprogress{_WIDGET}")
    expect(bars).to_have_count(2)  # the messy frame, the retry
    expect(page.locator(".widget-hprogress .progress-bar-success")).to_have_count(2)
    tqdm_rows = page.locator(f".widget-hbox{_WIDGET}", has=page.locator(".widget-hprogress"))
    expect(tqdm_rows).to_have_count(2)
    expect(tqdm_rows.nth(0)).to_contain_text("3/3")
    expect(tqdm_rows.nth(0)).to_contain_text("invalid=3")
    expect(tqdm_rows.nth(1)).to_contain_text("3/3")
    tqdm_rows.nth(0).screenshot(path=screenshots / "01-progress-bar.png")

    reports = page.locator(".jp-RenderedHTMLCommon", has_text="Produce OrderEvent")
    expect(reports).to_have_count(2)  # the messy frame's report, the retry's
    messy, retried = (_th_td(reports.nth(i).locator("table").first) for i in (0, 1))
    assert (messy["rows"], messy["delivered"], messy["invalid"]) == ("6", "3", "3"), messy
    assert (retried["rows"], retried["delivered"], retried["invalid"]) == ("3", "3", "0")
    read_back = page.locator(".jp-RenderedHTMLCommon table.dataframe", has_text="unknown")
    expect(read_back.locator("tbody tr")).to_have_count(7)
    read_back.screenshot(path=screenshots / "01-read-back.png")


# ---------------------------------------------------------------------- helpers


class PaymentFields(FlowBaseModel):
    """The fields of the notebook's second ``Payment`` (with ``note``); no topic of its own."""

    payment_id: str
    amount: float
    paid_at: dt.datetime
    note: str | None = None


def _payment_model(topic_name: str) -> type[PaymentFields]:
    """The notebook's second ``Payment``, writing to ``topic_name`` (its own schema, v2)."""

    class Payment(PaymentFields):
        class Settings:
            topic = topic_name
            key_field = "payment_id"
            namespace = "billing"

    return Payment


def _th_td(table: Locator) -> dict[str, str]:
    """A table of header/value cells (``<th>name</th><td>value</td>``) as a dict."""
    names, values = table.locator("th").all_inner_texts(), table.locator("td").all_inner_texts()
    return dict(zip((n.strip() for n in names), (v.strip() for v in values), strict=True))


def _dropdown(view: Locator, label: str) -> Locator:
    """The ``<select>`` of the ipywidgets Dropdown described as ``label``."""
    return view.locator(".widget-dropdown", has=view.page.locator("label", has_text=label)).locator(
        "select"
    )


def _select_subject(widgets_page: WidgetsPage) -> None:
    """Filter to the notebook's subject and select it (what the notebook's own cell did)."""
    browser = widgets_page.browser_view()
    browser.locator(".widget-text input").fill(widgets_page.topic)
    subjects = browser.locator(".widget-select select")
    expect(subjects.locator("option")).to_have_text([widgets_page.subject])
    subjects.select_option(label=widgets_page.subject)
    expect(browser.locator(".widget-html", has_text="compatibility").first).to_contain_text(
        "BACKWARD"
    )
