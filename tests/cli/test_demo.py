"""``flowodm demo``, the README's main command, runs end to end on its own sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowodm import sandbox
from flowodm.cli.demo_data import DemoOrder, build_orders
from flowodm.cli.main import main

pytestmark = pytest.mark.integration


def test_demo_produces_reports_reads_back_and_stops_its_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "demo-sandbox"

    exit_code = main(["demo", "--rows", "500", "--data-dir", str(data_dir)])

    out = capsys.readouterr().out
    assert exit_code == 0
    assert "500 row(s), 497 delivered, 3 invalid, 0 failed" in out
    assert "row 3 quantity" in out
    assert "row 5 status" in out
    assert "row 8 customer_id" in out
    assert "read back with Confluent's AvroDeserializer" in out
    assert "'order_id': '" in out
    assert sandbox.status(data_dir) is None


def test_demo_frame_breaks_exactly_three_rows() -> None:
    frame = build_orders(50)
    report = frame.flowodm.validate(DemoOrder)
    assert report.invalid_index == [3, 5, 8]
