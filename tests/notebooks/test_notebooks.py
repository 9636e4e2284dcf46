"""Every notebook in notebooks/ runs top to bottom in a real kernel against the test sandbox.

Each notebook is executed once per module with nbclient, in a kernel of this interpreter (a
kernel spec written into a temporary directory), with ``KAFKA_BOOTSTRAP_SERVERS`` and
``SCHEMA_REGISTRY_URL`` naming the session ``sandbox``. A cell error fails the run. The tests then
read what the executed notebook shows: counts in its reports, the widget state nbclient stores
for the progress bars, and the messages actually on the topic it wrote.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
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
DATAFRAME_NOTEBOOK = NOTEBOOKS_DIR / "01-dataframe-to-kafka.ipynb"
WIDGETS_NOTEBOOK = NOTEBOOKS_DIR / "02-schemas-and-deliveries.ipynb"

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
    assert DATAFRAME_NOTEBOOK in NOTEBOOKS
    assert WIDGETS_NOTEBOOK in NOTEBOOKS


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


def _topic_of(notebook: NotebookNode) -> str:
    """The topic the notebook created (its ``create-topic`` cell shows the name)."""
    shown = _text(notebook, "create-topic").strip()
    assert shown.startswith("'") and shown.endswith("'"), shown
    return shown[1:-1]
