"""Every notebook in notebooks/ runs top to bottom in a real kernel against the test sandbox.

Each notebook is executed once per module with nbclient, in a kernel of this interpreter (a
kernel spec written into a temporary directory), with ``KAFKA_BOOTSTRAP_SERVERS`` and
``SCHEMA_REGISTRY_URL`` naming the session ``sandbox``. A cell error fails the run. The tests then
read what the executed notebook shows: counts in its reports, the widget state nbclient stores
for the progress bars, and the messages actually on the topic it wrote.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

from flowodm import sandbox as sandbox_api
from flowodm.sandbox import Sandbox
from flowodm.testing import consume_all

pytestmark = pytest.mark.integration

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
QUICKSTART_NOTEBOOK = NOTEBOOKS_DIR / "00-quickstart.ipynb"
DATAFRAME_NOTEBOOK = NOTEBOOKS_DIR / "01-dataframe-to-kafka.ipynb"
WIDGETS_NOTEBOOK = NOTEBOOKS_DIR / "02-schemas-and-deliveries.ipynb"
BACKFILL_NOTEBOOK = NOTEBOOKS_DIR / "03-messy-csv-backfill.ipynb"
READING_NOTEBOOK = NOTEBOOKS_DIR / "04-reading-a-topic.ipynb"

KERNEL_NAME = "flowodm-test"
CELL_TIMEOUT = 60  # seconds per cell: generous, a hung broker must still fail the test
_CLEARED_PREFIXES = ("KAFKA_", "SCHEMA_REGISTRY_", "FLOWODM_")
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

Execute = Callable[[Path], NotebookNode]


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """Kernel specs holding only one kernel: ipykernel on this interpreter (``sys.executable``)."""
    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(kernels / KERNEL_NAME)
    return KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)


@pytest.fixture(scope="module")
def guard_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sandbox data dir for the kernels: a notebook ignoring the env would start one here."""
    return tmp_path_factory.mktemp("kernel-sandbox")


@pytest.fixture(scope="module")
def execute(
    sandbox: Sandbox, kernel_specs: KernelSpecManager, guard_dir: Path
) -> Iterator[Execute]:
    """Run a notebook (once per module) and return the executed copy; raise on a cell error."""
    # The kernel gets an explicit environment: the developer's connection variables are
    # dropped (as tests/conftest.py does for the test process) and the sandbox's are added.
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED_PREFIXES)}
    env.update(sandbox.env())
    env["FLOWODM_SANDBOX_DIR"] = str(guard_dir)
    env["JUPYTER_PLATFORM_DIRS"] = "1"  # silences jupyter_core's platformdirs migration notice
    executed: dict[Path, NotebookNode] = {}

    def run(path: Path) -> NotebookNode:
        if path not in executed:
            notebook = nbformat.read(path, as_version=4)
            manager = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=kernel_specs)
            client = NotebookClient(
                notebook,
                km=manager,
                timeout=CELL_TIMEOUT,
                resources={"metadata": {"path": str(path.parent)}},
            )
            # cleanup_kc: shut the kernel down and close its sockets (a client given a kernel
            # manager otherwise leaves both to the caller).
            client.execute(env=env, cleanup_kc=True)
            executed[path] = notebook
        return executed[path]

    # Topics stay until the sandbox stops: deleting them under live clients can crash
    # librdkafka (see flowodm.testing.make_topic).
    yield run


# ---------------------------------------------------------------------- every notebook


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS == [
        QUICKSTART_NOTEBOOK,
        DATAFRAME_NOTEBOOK,
        WIDGETS_NOTEBOOK,
        BACKFILL_NOTEBOOK,
        READING_NOTEBOOK,
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    dirty = [
        cell.id
        for cell in code
        if cell.outputs or cell.execution_count is not None or "execution" in cell.metadata
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"
    assert "widgets" not in notebook.metadata, f"{path.name}: saved widget state; clear it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path, execute: Execute) -> None:
    notebook = execute(path)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert not errors


# ---------------------------------------------------------------------- 01: DataFrame to Kafka


def test_connects_to_the_cluster_in_the_environment(
    execute: Execute, sandbox: Sandbox, guard_dir: Path
) -> None:
    notebook = execute(DATAFRAME_NOTEBOOK)
    shown = _text(notebook, "connect")
    assert f"bootstrap_servers={sandbox.bootstrap_servers!r}" in shown
    assert "FlowODM sandbox running" not in shown
    assert sandbox_api.status(guard_dir) is None  # it started no sandbox of its own


def test_shows_the_schema_and_one_delivery(execute: Execute) -> None:
    notebook = execute(DATAFRAME_NOTEBOOK)
    assert "'logicalType': 'timestamp-millis'" in _text(notebook, "schema")
    assert "'symbols': ['new', 'paid', 'shipped']" in _text(notebook, "schema")
    delivery = _text(notebook, "produce-one")
    assert delivery.startswith(f"DeliveryResult(topic={_topic_of(notebook)!r}, partition=0")
    assert "offset=0" in delivery
    assert "key=b'ORD-0001'" in delivery


def test_reports_every_row_of_the_messy_frame(execute: Execute) -> None:
    notebook = execute(DATAFRAME_NOTEBOOK)
    assert "6 row(s) checked, 3 valid, 3 invalid, 3 error(s)" in _text(notebook, "validate")
    assert _text(notebook, "invalid-rows").count("ORD-100") == 3

    produced = _text(notebook, "produce-frame")
    assert "6 row(s), 3 delivered, 3 invalid, 0 failed" in produced
    html = _text(notebook, "produce-frame", "text/html")
    assert "<th style='text-align:left'>delivered</th><td>3</td>" in html
    assert "<th style='text-align:left'>invalid</th><td>3</td>" in html

    problems = _text(notebook, "report-frame")
    for field, kind in (("amount", "missing"), ("customer", "missing"), ("status", "enum")):
        assert re.search(rf"invalid\s+{field}\s+{kind}", problems), problems
    assert "3 row(s), 3 delivered, 0 invalid, 0 failed" in _text(notebook, "retry")


def test_progress_bars_count_acknowledged_rows(execute: Execute) -> None:
    notebook = execute(DATAFRAME_NOTEBOOK)
    state = notebook.metadata["widgets"][_WIDGET_STATE]["state"]
    bars = sorted(
        (m["state"]["value"], m["state"]["max"], m["state"]["bar_style"])
        for m in state.values()
        if m["model_name"] == "FloatProgressModel"
    )
    # The messy frame: its 3 valid rows acknowledged, the 3 invalid ones (never sent) taken off
    # the total so a run that delivered every valid row ends full and green; the retry: all 3.
    assert [bar[:2] for bar in bars] == [(3, 3), (3, 3)]
    assert [bar[2] for bar in bars] == ["success", "success"]
    labels = [m["state"]["value"] for m in state.values() if m["model_name"] == "HTMLModel"]
    assert any("invalid=3" in label and "failed=0" in label for label in labels), labels


def test_confluent_consumer_reads_back_every_delivered_row(
    execute: Execute, sandbox: Sandbox
) -> None:
    notebook = execute(DATAFRAME_NOTEBOOK)
    topic = _topic_of(notebook)
    assert re.fullmatch(r"notebook-orders-[0-9a-f]{8}", topic)
    messages = consume_all(sandbox.bootstrap_servers, topic, 7, linger=0.5)
    keys = sorted(m.key() or b"" for m in messages)
    expected = [b"ORD-0001", *(f"ORD-100{i}".encode() for i in range(1, 7))]
    assert keys == expected

    table = _text(notebook, "read-back")
    assert len(re.findall(r"^\d+\s+\d+\s+ORD-\d{4}", table, flags=re.MULTILINE)) == 7
    assert "unknown" in table  # the fixed customer of the retried row, decoded by Confluent
    assert "customer='barbara'" in _text(notebook, "model-decode")


# ---------------------------------------------------------------------- 02: schemas, deliveries


def test_models_display_as_schema_tables(execute: Execute) -> None:
    notebook = execute(WIDGETS_NOTEBOOK)
    table = _text(notebook, "model-v1", "text/html")
    assert "Payment: Avro record Payment, topic &#x27;notebook-payments-" in table
    paid_at = "paid_at</code></td><td><code>long</code></td><td>timestamp-millis</td>"
    assert f"<td><code style='padding-left:0.3em'>{paid_at}" in table
    assert _text(notebook, "model-v2").strip() == "[1, 2]"  # the compatible change: version 2


def test_the_browser_diffs_the_versions_and_checks_both_models(
    execute: Execute, sandbox: Sandbox
) -> None:
    notebook = execute(WIDGETS_NOTEBOOK)
    subject = f"{_topic_of(notebook)}-value"
    [browser] = _views(notebook, "browser")
    assert _views(notebook, "check-good") == [browser]  # the same widget, shown again
    models = _widget_models(notebook)
    html = [m["state"]["value"] for m in models if m["model_name"] == "HTMLModel"]

    header = f"<b>Schema Registry</b> <code>{sandbox.schema_registry_url}</code> · 1 of "
    assert any(h.startswith(header) for h in html)  # filtered to this run's subject
    [diff] = [h for h in html if "flowodm-schema-diff" in h]
    assert f"{subject} v1 -&gt; {subject} v2: 1 change(s)" in diff
    assert "<td>added</td><td><code>note</code></td>" in diff
    assert any(
        re.fullmatch(r"schema id <b>\d+</b> · compatibility <b>BACKWARD</b>", h) for h in html
    )
    assert any("✔ PaymentWithDefaultCurrency: compatible with subject" in h for h in html)
    selects = [m["state"] for m in models if m["model_name"] == "SelectModel"]
    assert [s["_options_labels"] for s in selects] == [[subject]]
    pickers = [
        m["state"]["_options_labels"]
        for m in models
        if m["model_name"] == "DropdownModel" and m["state"].get("description") == "model"
    ]
    assert pickers == [["PaymentWithCurrency", "PaymentWithDefaultCurrency"]]
    verdict = _text(notebook, "check-bad")
    assert f"INCOMPATIBLE with subject {subject!r} under BACKWARD: field(s) currency" in verdict
    assert "field 'currency' has no default" in verdict
    assert f"compatible with subject {subject!r} under BACKWARD" in _text(notebook, "check-good")


def test_the_monitor_counts_the_frame_it_watched(execute: Execute, sandbox: Sandbox) -> None:
    notebook = execute(WIDGETS_NOTEBOOK)
    assert len(_views(notebook, "monitor")) == 1
    html = [m["state"]["value"] for m in _widget_models(notebook) if m["model_name"] == "HTMLModel"]
    [counts] = [h for h in html if h.startswith("<b>payments</b>")]
    cells = dict(re.findall(r">([a-z ]+)</th><td style='padding-right:14px'>([^<]*)<", counts))
    assert (cells["delivered"], cells["failed"], cells["in flight"], cells["invalid"]) == (
        "4,998",
        "0",
        "0",
        "2",
    )
    assert "5000 row(s), 4998 delivered, 2 invalid, 0 failed" in _text(notebook, "produce-frame")
    messages = consume_all(sandbox.bootstrap_servers, _topic_of(notebook), 4998, linger=0.5)
    assert len(messages) == 4998


def test_the_viewer_shows_the_five_newest_messages(execute: Execute) -> None:
    notebook = execute(WIDGETS_NOTEBOOK)
    assert len(_views(notebook, "viewer")) == 1
    html = [m["state"]["value"] for m in _widget_models(notebook) if m["model_name"] == "HTMLModel"]
    [table] = [h for h in html if h.startswith("<table class='flowodm-topic-viewer'")]
    keys = re.findall(r"<tr><td>\d</td><td>\d+</td><td>[^<]+</td><td>(PAY-\d{5})</td>", table)
    assert len(keys) == len(set(keys)) == 5
    assert "last 5 of up to 5 message(s)" in table
    assert "last 5 of up to 5 message(s)" in _text(notebook, "viewer")


# ---------------------------------------------------------------------- 00: quickstart


def test_quickstart_shows_the_model_and_its_deliveries(execute: Execute) -> None:
    notebook = execute(QUICKSTART_NOTEBOOK)
    topic = _topic_of(notebook)
    assert re.fullmatch(r"notebook-quickstart-[0-9a-f]{8}", topic)
    table = _text(notebook, "model", "text/html")
    assert f"Order: Avro record Order, topic &#x27;{topic}&#x27;, key &#x27;order_id&#x27;" in table
    assert "<code>double</code></td><td></td><td></td><td>total, in euros</td>" in table
    assert "placed_at</code></td><td><code>long</code></td><td>timestamp-millis</td>" in table

    delivery = _text(notebook, "produce-one")
    assert delivery.startswith(f"DeliveryResult(topic={topic!r}, partition=0, offset=0,")
    assert delivery.rstrip().endswith("key=b'ORD-0001')")
    assert _text(notebook, "produce-many").strip() == (
        f"ProduceManyResult(topic={topic!r}, delivered=3, failed=[])"
    )


def test_quickstart_reads_back_and_consumes_what_it_produced(
    execute: Execute, sandbox: Sandbox
) -> None:
    notebook = execute(QUICKSTART_NOTEBOOK)
    # index, order_id, customer, amount, placed_at, _partition, _offset
    rows = [(r[0], *r[1:4], *r[5:]) for r in _rows(notebook, "read")]
    assert rows == [
        ("0", "ORD-0001", "ada", "42.50", "0", "0"),
        ("1", "ORD-0002", "grace", "19.99", "0", "1"),
        ("2", "ORD-0003", "linus", "5.00", "0", "2"),
        ("3", "ORD-0004", "barbara", "120.00", "0", "3"),
    ]
    consumed = _text(notebook, "consume-one")
    assert consumed.startswith("Order(order_id='ORD-0001', customer='ada', amount=42.5,")
    messages = consume_all(sandbox.bootstrap_servers, _topic_of(notebook), 4, linger=0.5)
    assert [m.key() for m in messages] == [f"ORD-000{i}".encode() for i in range(1, 5)]


# ---------------------------------------------------------------------- 03: messy CSV backfill

_BAD_CELLS = [
    ("2", "amount"),
    ("3", "amount"),
    ("4", "quantity"),
    ("5", "created_at"),
    ("7", "customer"),
    ("7", "status"),
    ("9", "status"),
]
_BACKFILLED = ["ORD-2001", "ORD-2002", "ORD-2003", "ORD-2007", "ORD-2008", "ORD-2009", "ORD-2010"]


def test_backfill_validation_names_each_bad_row_and_field(execute: Execute) -> None:
    notebook = execute(BACKFILL_NOTEBOOK)
    report = _text(notebook, "validate")
    assert "ValidationReport(Order: 11 row(s) checked, 5 valid, 6 invalid, 7 error(s); " in report
    assert re.search(r"registry subject 'notebook-backfill-[\w-]+': compatible", report), report
    assert re.findall(r"^  row (\d+) (\w+): ", report, flags=re.MULTILINE) == _BAD_CELLS
    assert "row 2 amount: Input should be a valid number" in report
    assert "row 5 created_at: Input should be a valid datetime or date" in report
    assert "row 9 status: Input should be 'new', 'paid' or 'shipped'" in report

    problems = [row[1:5] + row[6:] for row in _rows(notebook, "validate-frame")]
    assert problems == [  # index, status, field, type, input (the message column left out)
        ["2", "invalid", "amount", "float_parsing", "12,50"],
        ["3", "invalid", "amount", "missing", "NaN"],
        ["4", "invalid", "quantity", "int_parsing", "two"],
        ["5", "invalid", "created_at", "datetime_from_date_parsing", "02/03/2026 10:55"],
        ["7", "invalid", "customer", "missing", "NaN"],
        ["7", "invalid", "status", "enum", "Paid"],
        ["9", "invalid", "status", "enum", "SHIPPED"],
    ]


def test_backfill_fixes_what_it_can_and_quarantines_the_rest(execute: Execute) -> None:
    notebook = execute(BACKFILL_NOTEBOOK)
    assert _text(notebook, "fix").startswith("1 duplicate row(s): [6]\n")
    recheck = _text(notebook, "recheck")
    assert "ValidationReport(Order: 10 row(s) checked, 7 valid, 3 invalid, 3 error(s); " in recheck
    # index, order_id, ..., problem: the rows no rule could fix, each with its field
    quarantined = [(row[0], row[1], row[-1]) for row in _rows(notebook, "recheck")]
    assert quarantined == [
        ("3", "ORD-2004", "amount"),
        ("4", "ORD-2005", "quantity"),
        ("5", "ORD-2006", "created_at"),
    ]


def test_backfill_delivers_every_fixed_row_and_accounts_for_the_file(
    execute: Execute, sandbox: Sandbox
) -> None:
    notebook = execute(BACKFILL_NOTEBOOK)
    assert "7 row(s), 7 delivered, 0 invalid, 0 failed" in _text(notebook, "produce")
    assert _bar(notebook, "produce") == (7, 7, "success")

    counts = dict(re.findall(r"^([a-z ]+?)\s+(\d+)$", _result(notebook, "read-back"), re.M))
    assert counts == {
        "rows in the file": "11",
        "delivered": "7",
        "quarantined": "3",
        "duplicates dropped": "1",
        "messages on the topic": "7",
    }
    messages = consume_all(sandbox.bootstrap_servers, _topic_of(notebook), 7, linger=0.5)
    assert sorted(m.key() or b"" for m in messages) == [key.encode() for key in _BACKFILLED]


def test_backfill_cli_dry_run_finds_the_same_rows(execute: Execute) -> None:
    notebook = execute(BACKFILL_NOTEBOOK)
    # `!` runs the command in a terminal, hence \r\n; a lone \r would be a bar's redraw.
    shown = _text(notebook, "cli")
    assert re.search("\r(?!\n)", shown) is None  # --no-progress: a clean summary
    shown = shown.replace("\r\n", "\n")
    assert re.search(r"Read 11 rows from \S+orders\.csv: rows 0 to 10\.", shown)
    assert re.search(r"rows valid \(dry run: nothing was sent\)\s+5\n", shown)
    assert re.search(r"rows invalid \(not sent\)\s+6\n", shown)
    assert re.findall(r"^  row (\d+) (\w+): ", shown, flags=re.MULTILINE) == _BAD_CELLS
    assert "(input: 02/03/2026 10:55)" in shown
    assert shown.rstrip().splitlines()[-1].startswith("result: 6 invalid row(s) (recorded in '")


# ---------------------------------------------------------------------- 04: reading a topic

_NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_reading_produces_a_day_of_orders_with_their_own_timestamps(
    execute: Execute, sandbox: Sandbox
) -> None:
    notebook = execute(READING_NOTEBOOK)
    assert "a day of orders: delivered 3,000, failed 0, in flight 0" in _text(notebook, "produce")
    messages = consume_all(sandbox.bootstrap_servers, _topic_of(notebook), 3000, linger=0.5)
    assert len(messages) == 3000
    assert {m.partition() for m in messages} == {0, 1, 2}
    stamps = [datetime.fromtimestamp(m.timestamp()[1] / 1000, UTC) for m in messages]
    assert min(stamps) >= _NOON.replace(hour=0)
    assert max(stamps) < _NOON.replace(hour=0) + timedelta(days=1)


def test_reading_the_topic_gives_typed_columns(execute: Execute) -> None:
    notebook = execute(READING_NOTEBOOK)
    read = _text(notebook, "read")
    assert "3000 message(s) read to the end offsets, 3000 returned, 0 failed to decode" in read
    dtypes = dict(re.findall(r"^(\w+)\s+(\S+(?: UTC\])?)$", _result(notebook, "dtypes"), re.M))
    assert {name: dtypes[name] for name in ("quantity", "status", "created_at")} == {
        "quantity": "Int64",
        "status": "category",
        "created_at": "datetime64[us, UTC]",
    }
    assert (dtypes["order_id"], dtypes["_partition"], dtypes["_offset"]) == (
        "string",
        "int64",
        "int64",
    )
    assert dtypes["_timestamp"].endswith(", UTC]")
    shown = _text(notebook, "dtypes")
    assert "status categories: ['new', 'paid', 'shipped', 'cancelled']" in shown
    missing = re.search(r"orders without quantity: (\d+)", shown)
    assert missing is not None and 0 < int(missing[1]) < 3000
    per_partition = re.search(r"orders per partition: \{0: (\d+), 1: (\d+), 2: (\d+)\}", shown)
    assert per_partition is not None
    assert sum(int(n) for n in per_partition.groups()) == 3000

    by_status = _rows(notebook, "by-status")  # status, orders, revenue, average
    assert [row[0] for row in by_status] == ["new", "paid", "shipped", "cancelled"]
    assert sum(int(row[1]) for row in by_status) == 3000


@pytest.mark.parametrize(("cell_id", "axes"), [("plot-hourly", 2), ("plot-status", 1)])
def test_reading_plots_render_as_images(execute: Execute, cell_id: str, axes: int) -> None:
    notebook = execute(READING_NOTEBOOK)
    [cell] = [cell for cell in notebook.cells if cell.get("id") == cell_id]
    images = [
        base64.b64decode(output.data["image/png"])
        for output in cell.outputs
        if output.output_type == "display_data" and "image/png" in output.data
    ]
    assert len(images) == 1
    assert images[0].startswith(b"\x89PNG\r\n\x1a\n")
    assert len(images[0]) > 5_000  # a chart, not an empty canvas
    assert f"with {axes} Axes>" in _text(notebook, cell_id)


def test_reading_from_noon_returns_only_the_afternoon(execute: Execute, sandbox: Sandbox) -> None:
    notebook = execute(READING_NOTEBOOK)
    shown = _text(notebook, "afternoon")
    found = re.search(
        r"([\d,]+) orders read from 12:00; the earliest at (\d\d):(\d\d):(\d\d)", shown
    )
    assert found is not None, shown
    read = int(found[1].replace(",", ""))
    assert int(found[2]) == 12  # on or after noon, and the first afternoon order is just after it
    assert f"the full read has {found[1]} orders at or after 12:00" in shown
    assert f"{read} message(s) read to the end offsets, {read} returned" in shown

    messages = consume_all(sandbox.bootstrap_servers, _topic_of(notebook), 3000, linger=0.5)
    afternoon = [m for m in messages if m.timestamp()[1] >= _NOON.timestamp() * 1000]
    assert 0 < read == len(afternoon) < len(messages)
    crosstab = _rows(notebook, "afternoon")  # hour, then the orders of each status
    assert [row[0] for row in crosstab] == [str(hour) for hour in range(12, 24)]
    assert sum(int(n) for row in crosstab for n in row[1:]) == read


def test_reading_viewer_shows_the_ten_newest_orders(execute: Execute) -> None:
    notebook = execute(READING_NOTEBOOK)
    assert len(_views(notebook, "viewer")) == 1
    html = [m["state"]["value"] for m in _widget_models(notebook) if m["model_name"] == "HTMLModel"]
    [table] = [h for h in html if h.startswith("<table class='flowodm-topic-viewer'")]
    keys = re.findall(r"<tr><td>\d</td><td>\d+</td><td>[^<]+</td><td>(ORD-\d{5})</td>", table)
    # The orders are numbered in time order and each carries its own time: the newest ten.
    assert keys == [f"ORD-{i:05d}" for i in range(2999, 2989, -1)]
    assert "last 10 of up to 10 message(s)" in _text(notebook, "viewer")


# ---------------------------------------------------------------------- helpers


def _text(notebook: NotebookNode, cell_id: str, mime: str = "text/plain") -> str:
    """Everything a cell displayed as ``mime`` (results, displays and printed streams)."""
    [cell] = [cell for cell in notebook.cells if cell.get("id") == cell_id]
    parts: list[str] = []
    for output in cell.outputs:
        if output.output_type == "stream" and mime == "text/plain":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            data: Any = output.data.get(mime)
            if isinstance(data, str):
                parts.append(data)
    return "".join(parts)


def _widget_models(notebook: NotebookNode) -> list[dict[str, Any]]:
    """The widget models nbclient saved in the executed notebook's metadata."""
    state: dict[str, dict[str, Any]] = notebook.metadata["widgets"][_WIDGET_STATE]["state"]
    return list(state.values())


def _views(notebook: NotebookNode, cell_id: str) -> list[str]:
    """The model ids of the widget views a cell displayed (the live-widget outputs)."""
    [cell] = [cell for cell in notebook.cells if cell.get("id") == cell_id]
    return [
        output.data["application/vnd.jupyter.widget-view+json"]["model_id"]
        for output in cell.outputs
        if output.output_type in ("execute_result", "display_data")
        and "application/vnd.jupyter.widget-view+json" in output.data
    ]


def _result(notebook: NotebookNode, cell_id: str) -> str:
    """The ``text/plain`` of a cell's result (its last expression), without its other output."""
    [cell] = [cell for cell in notebook.cells if cell.get("id") == cell_id]
    [result] = [output for output in cell.outputs if output.output_type == "execute_result"]
    text: str = result.data["text/plain"]
    return text


def _rows(notebook: NotebookNode, cell_id: str) -> list[list[str]]:
    """The body rows (index first) of the one HTML table a cell displayed, as cell texts."""
    [table] = re.findall(r"<tbody>(.*?)</tbody>", _text(notebook, cell_id, "text/html"), re.S)
    return [
        [unescape(cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    ]


def _bar(notebook: NotebookNode, cell_id: str) -> tuple[float, float, str]:
    """The (value, max, bar_style) of the one progress bar widget a cell displayed."""
    state: dict[str, dict[str, Any]] = notebook.metadata["widgets"][_WIDGET_STATE]["state"]
    bars = [
        state[child.removeprefix("IPY_MODEL_")]["state"]
        for view in _views(notebook, cell_id)
        for child in state[view]["state"].get("children", [])
        if state[child.removeprefix("IPY_MODEL_")]["model_name"] == "FloatProgressModel"
    ]
    [bar] = bars
    return (bar["value"], bar["max"], bar["bar_style"])


def _topic_of(notebook: NotebookNode) -> str:
    """The topic the notebook created (its ``create-topic`` cell shows the name)."""
    shown = _text(notebook, "create-topic").strip()
    assert shown.startswith("'") and shown.endswith("'"), shown
    return shown[1:-1]
