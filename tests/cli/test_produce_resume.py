"""``--checkpoint``: resuming, failed deliveries, and the Done-when: a SIGKILLed run resumed."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Set
from pathlib import Path

import pytest
from confluent_kafka import Message

from flowodm.cli.main import main
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODEL = "tests.cli.cli_models:CliOrder"
HEADER = "order_id,amount,quantity,created_at,note"


def _write_orders(
    path: Path, rows: int, *, bad: Set[int] = frozenset(), big: Set[int] = frozenset()
) -> Path:
    with path.open("w") as file:
        file.write(HEADER + "\n")
        for i in range(rows):
            amount = "bad" if i in bad else f"{i}.25"
            note = "x" * 2_000_000 if i in big else ""
            file.write(f"ORD-{i:06d},{amount},{i % 9 + 1},2024-05-01T00:00:00Z,{note}\n")
    return path


def _argv(sandbox: Sandbox, path: Path, topic: str, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "produce", str(path), "--model", MODEL, "--topic", topic,
        "--bootstrap-servers", sandbox.bootstrap_servers,
        "--schema-registry-url", sandbox.schema_registry_url,
        "--checkpoint", str(tmp_path / "ck.json"), "--report", str(tmp_path / "report.csv"),
        "--no-progress", *extra,
    ]  # fmt: skip


def _rows_done(tmp_path: Path) -> int:
    rows: int = json.loads((tmp_path / "ck.json").read_text())["rows_done"]
    return rows


def _report_rows(tmp_path: Path) -> list[tuple[str, str]]:
    with (tmp_path / "report.csv").open(newline="") as file:
        return [(r["row"], r["status"]) for r in csv.DictReader(file)]


def _keys(messages: list[Message]) -> Counter[str]:
    return Counter(m.key().decode() for m in messages)  # type: ignore[union-attr]


def test_a_limited_run_is_continued_by_the_next(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = make_topic()
    path = _write_orders(tmp_path / "orders.csv", 12, bad={3, 9})
    argv = _argv(sandbox, path, topic, tmp_path, "--chunk-size", "2")
    assert main([*argv, "--limit", "5"]) == 1  # row 3 is invalid
    assert _rows_done(tmp_path) == 5
    assert main(argv) == 1  # row 9 is invalid
    assert _rows_done(tmp_path) == 12
    messages = consume_all(sandbox.bootstrap_servers, topic, 10, linger=0.5)
    keys = _keys(messages)
    assert len(messages) == 10  # no row sent twice: both runs ended cleanly
    assert set(keys) == {f"ORD-{i:06d}" for i in range(12)} - {"ORD-000003", "ORD-000009"}
    # The report is one ledger over both runs: one header, each invalid row once.
    assert _report_rows(tmp_path) == [("3", "invalid"), ("9", "invalid")]
    out = capsys.readouterr().out
    assert "rows 5 to 11 (resumed from the checkpoint)" in out
    # Exit code 1 for invalid rows only: the last line says so.
    assert out.splitlines()[-1] == (
        f"result: 1 invalid row(s) not sent (recorded in '{tmp_path / 'report.csv'}'); "
        "every valid row delivered"
    )
    # A finished checkpoint: a third run reads nothing and succeeds.
    assert main(argv) == 0
    assert "Read no rows from" in capsys.readouterr().out
    assert len(consume_all(sandbox.bootstrap_servers, topic, 10, linger=0.5)) == 10


def test_a_failed_delivery_stops_the_run_and_keeps_the_checkpoint_before_it(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = make_topic()
    # Row 3 is larger than a Kafka message may be, so its delivery fails (not written).
    path = _write_orders(tmp_path / "orders.csv", 8, big={3})
    assert main(_argv(sandbox, path, topic, tmp_path, "--chunk-size", "2")) == 1
    assert _rows_done(tmp_path) == 2  # chunk [2, 3] holds the failed row
    out = capsys.readouterr().out
    assert "a delivery failed; the checkpoint stays before this chunk" in out
    assert "row 3: MSG_SIZE_TOO_LARGE" in out
    assert out.splitlines()[-1] == (
        "result: stopped early: no row after row 3 was sent; 1 row(s) failed to deliver"
    )
    assert _report_rows(tmp_path) == [("3", "failed")]
    # Rows 0-2 arrived (row 2 shares the failed chunk); nothing after the stop was sent.
    messages = consume_all(sandbox.bootstrap_servers, topic, 3, linger=0.5)
    assert sorted(_keys(messages)) == ["ORD-000000", "ORD-000001", "ORD-000002"]


def test_a_malformed_row_stops_the_run_after_the_rows_before_it_are_checkpointed(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = make_topic()
    path = _write_orders(tmp_path / "orders.csv", 4_000)
    lines = path.read_text().splitlines()
    lines[1 + 2_500] = "ORD-002500,1.25"  # two fields where the header has five
    path.write_text("\n".join(lines) + "\n")
    assert main(_argv(sandbox, path, topic, tmp_path, "--chunk-size", "1000")) == 1
    # Rows 0-2,499 share the parser's block with the bad row; all of them were finished.
    assert _rows_done(tmp_path) == 2_500
    messages = consume_all(sandbox.bootstrap_servers, topic, 2_500, linger=0.5)
    assert _keys(messages) == Counter(f"ORD-{i:06d}" for i in range(2_500))
    out = capsys.readouterr().out
    assert "Read 2,500 rows from" in out
    assert "checkpoint" in out and "rows 0 to 2,499 are done" in out
    assert "row 2500 has 2 fields but the header has 5" in out
    assert out.splitlines()[-1] == "result: stopped early: no row after row 2,499 was sent"


def test_without_checkpoint_a_failed_delivery_does_not_stop_the_run(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = make_topic()
    path = _write_orders(tmp_path / "orders.csv", 6, big={1})
    argv = [
        "produce", str(path), "--model", MODEL, "--topic", topic, "--chunk-size", "2",
        "--bootstrap-servers", sandbox.bootstrap_servers,
        "--schema-registry-url", sandbox.schema_registry_url, "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 1
    messages = consume_all(sandbox.bootstrap_servers, topic, 5, linger=0.5)
    assert len(messages) == 5
    assert "ORD-000001" not in _keys(messages)
    assert "Stopped early" not in capsys.readouterr().out


def test_sigkilled_run_resumed_from_its_checkpoint_delivers_every_row(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path
) -> None:
    rows, chunk = 30_000, 500
    invalid = set(range(777, rows, 2_999))
    topic = make_topic(partitions=3)
    path = _write_orders(tmp_path / "orders.csv", rows, bad=invalid)
    argv = _argv(sandbox, path, topic, tmp_path, "--chunk-size", str(chunk))
    process = subprocess.Popen(
        [sys.executable, "-m", "flowodm", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if (tmp_path / "ck.json").exists() and _rows_done(tmp_path) >= 2 * chunk:
                break
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the first run ended before it was killed"
    killed_at = _rows_done(tmp_path)
    assert 2 * chunk <= killed_at < rows

    assert main(argv) == 1  # the resumed run: exit 1 only because of the invalid rows
    assert _rows_done(tmp_path) == rows

    valid = rows - len(invalid)
    messages = consume_all(sandbox.bootstrap_servers, topic, valid, timeout=60, linger=1.0)
    keys = _keys(messages)
    assert set(keys) == {f"ORD-{i:06d}" for i in range(rows) if i not in invalid}
    # Only rows in flight at the kill (at most the chunk after the checkpoint) came twice.
    twice = sorted(int(key[4:]) for key, n in keys.items() if n > 1)
    assert max(keys.values()) <= 2
    assert all(killed_at <= row < killed_at + chunk for row in twice)
    # Every invalid row is in the report, though the first run never finished.
    reported = {int(row) for row, status in _report_rows(tmp_path) if status == "invalid"}
    assert reported == invalid
