"""``python -m flowodm produce`` as a real process: exit codes, and no traceback on failures."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all

ROOT = Path(__file__).resolve().parents[2]
# The file-path spelling of --model, resolved from the repository root (the working directory).
MODEL = "tests/cli/cli_models.py:CliOrder"


def _flowodm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowodm", "produce", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _orders(path: Path, amounts: list[str]) -> Path:
    lines = ["order_id,amount,quantity,created_at"]
    lines += [f"O-{i},{a},1,2024-01-01T00:00:00Z" for i, a in enumerate(amounts)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_missing_file_exits_2_without_traceback(tmp_path: Path) -> None:
    result = _flowodm(str(tmp_path / "nope.csv"), "--model", MODEL)
    assert result.returncode == 2
    assert "flowodm produce: error: input file" in result.stderr
    assert "Traceback" not in result.stderr


def test_unimportable_model_exits_2_without_traceback(tmp_path: Path) -> None:
    result = _flowodm(str(_orders(tmp_path / "o.csv", ["1"])), "--model", "no_such_module:Order")
    assert result.returncode == 2
    assert "no module named 'no_such_module'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_broker_configuration_exits_1_without_traceback(tmp_path: Path) -> None:
    result = _flowodm(str(_orders(tmp_path / "o.csv", ["1"])), "--model", MODEL)
    assert result.returncode == 1
    assert "flowodm: error: no Kafka bootstrap servers configured" in result.stderr
    # The fix is named in the command's own terms, not flowodm.connect(...)'s.
    assert "pass --bootstrap-servers HOST:PORT or set KAFKA_BOOTSTRAP_SERVERS" in result.stderr
    assert "flowodm.connect" not in result.stderr
    assert "Traceback" not in result.stderr


def _console_script() -> Path:
    """The installed ``flowodm`` console script (not ``python -m flowodm``)."""
    found = shutil.which("flowodm", path=str(Path(sys.executable).parent))
    assert found is not None, f"no flowodm console script next to {sys.executable}"
    return Path(found)


def test_console_script_imports_the_model_from_the_working_directory(tmp_path: Path) -> None:
    # The README's command: `flowodm produce orders.csv --model shop.events:OrderEvent`, run
    # from the directory holding shop/events.py, with nothing on PYTHONPATH.
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "events.py").write_text(
        "from flowodm import FlowBaseModel\n"
        "class OrderEvent(FlowBaseModel):\n"
        "    class Settings:\n"
        "        topic = 'orders'\n"
        "    order_id: str\n"
        "    amount: float\n"
    )
    (tmp_path / "orders.csv").write_text("order_id,amount\nA,1.5\nB,2\n")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(_console_script()), "produce", "orders.csv", "--model", "shop.events:OrderEvent",
         "--dry-run", "--no-progress"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Read 2 rows from orders.csv" in result.stdout
    assert "result: every row is valid (dry run: nothing was sent)" in result.stdout


@pytest.mark.integration
def test_exit_0_when_delivered_and_1_when_a_row_is_invalid(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = make_topic()
    connection = [
        "--topic", topic, "--bootstrap-servers", sandbox.bootstrap_servers,
        "--schema-registry-url", sandbox.schema_registry_url,
    ]  # fmt: skip
    good = _flowodm(str(_orders(tmp_path / "good.csv", ["1", "2"])), "--model", MODEL, *connection)
    assert good.returncode == 0, good.stderr
    assert "rows delivered" in good.stdout
    bad = _flowodm(str(_orders(tmp_path / "bad.csv", ["3", "x"])), "--model", MODEL, *connection)
    assert bad.returncode == 1
    assert "row 1 amount:" in bad.stdout
    assert "Traceback" not in bad.stderr
    assert len(consume_all(sandbox.bootstrap_servers, topic, 3, linger=0.5)) == 3


@pytest.mark.integration
def test_registry_credentials_never_appear_in_the_output(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path
) -> None:
    # A registry URL with credentials pointing at a port nobody listens on: the run fails,
    # and neither the password nor the user:password pair is printed.
    result = _flowodm(
        str(_orders(tmp_path / "o.csv", ["1"])), "--model", MODEL, "--topic", make_topic(),
        "--bootstrap-servers", sandbox.bootstrap_servers,
        "--schema-registry-url", "http://alice:s3cr3t-pw@127.0.0.1:9",
    )  # fmt: skip
    assert result.returncode == 1
    assert "s3cr3t-pw" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_ctrl_c_prints_the_summary_and_exits_130(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path
) -> None:
    # Enough rows that a loaded machine cannot finish them between the first checkpoint and
    # the signal (30k could, and the run then ended 0 before SIGINT arrived).
    path = _orders(tmp_path / "o.csv", [f"{i}.5" for i in range(300_000)])
    checkpoint = tmp_path / "ck.json"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "flowodm", "produce", str(path), "--model", MODEL,
            "--topic", make_topic(), "--chunk-size", "500", "--checkpoint", str(checkpoint),
            "--report", str(tmp_path / "r.csv"), "--bootstrap-servers", sandbox.bootstrap_servers,
            "--schema-registry-url", sandbox.schema_registry_url,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.002)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert "Stopped early: interrupted" in out
    assert "Traceback" not in err
    done = json.loads(checkpoint.read_text())["rows_done"]
    assert f"rows 0 to {done - 1:,} are done" in out
