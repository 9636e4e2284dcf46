"""docs/reliability.md's table has the shape of the fault suite: every scenario, these columns.

The table is generated from a run (scripts/reliability_table.py); this test makes sure the
committed page was regenerated when a scenario, an entry point or a column was added, renamed
or removed, and that what it shows keeps the suite's promise (no silent loss in any row).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.faults.test_fault_suite import ROOT, scenario_pairs

sys.path.insert(0, str(ROOT / "scripts"))

import reliability_table

PAGE = ROOT / "docs" / "reliability.md"


def _column(name: str) -> int:
    return reliability_table.HEADER.index(name)


def test_the_committed_table_has_one_row_per_scenario_and_the_columns() -> None:
    rows = reliability_table.parse_table(PAGE.read_text())
    header, body = rows[0], rows[1:]
    assert tuple(header) == reliability_table.HEADER
    assert all(len(row) == len(header) for row in body)
    shown = [(row[0], row[1].strip("`")) for row in body]
    assert shown == scenario_pairs()


def test_the_committed_table_shows_no_silent_loss() -> None:
    body = reliability_table.parse_table(PAGE.read_text())[1:]
    assert body
    assert {row[_column("silent losses")] for row in body} == {"0"}
    for row in body:
        numbers = [int(row[_column(name)]) for name in ("rows", "delivered", "on topic")]
        assert all(n >= 0 for n in numbers), row


def test_render_and_parse_round_trip(tmp_path: Path) -> None:
    outcome = {
        "scenario": "cut",
        "entry": "produce",
        "rows": 10,
        "delivered": 8,
        "failed_not_written": 1,
        "failed_maybe_written": 1,
        "on_topic": 9,
        "failed_on_topic": 1,
        "silent_losses": 0,
        "wrongly_not_written": 0,
        "duplicates": 0,
        "first_error_s": 3.014,
        "bound_s": 3.0,
        "recovered_s": None,
    }
    source = tmp_path / "outcomes.json"
    source.write_text(json.dumps({"outcomes": [outcome]}))
    page = tmp_path / "page.md"
    page.write_text(f"# t\n\n{reliability_table.START}\nold\n{reliability_table.END}\n\nafter\n")
    assert reliability_table.main([str(source), "--write", str(page)]) == 0
    text = page.read_text()
    assert "old" not in text and text.endswith("after\n")
    rows = reliability_table.parse_table(text)
    assert rows[1] == ["cut", "`produce`", "10", "8", "1", "1", "9", "1", "0", "0",
                       "3.01 s", "3.00 s", reliability_table.NONE]  # fmt: skip


def test_a_page_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        reliability_table.replace_table("no table here", "| a |\n")


def test_several_files_make_one_table_in_order(tmp_path: Path) -> None:
    """The suite's and the broker restart module's files render as one table, in file order."""
    row = {"rows": 1, "delivered": 1, "failed_not_written": 0, "failed_maybe_written": 0,
           "on_topic": 1, "failed_on_topic": 0, "silent_losses": 0, "wrongly_not_written": 0,
           "duplicates": 0, "first_error_s": None, "bound_s": 3.0, "recovered_s": 0.5}  # fmt: skip
    paths = []
    for scenario in ("pass", "broker restart"):
        path = tmp_path / f"{scenario}.json"
        path.write_text(json.dumps({"outcomes": [{**row, "scenario": scenario, "entry": "cli"}]}))
        paths.append(str(path))
    page = tmp_path / "page.md"
    page.write_text(f"{reliability_table.START}\n{reliability_table.END}\n")
    assert reliability_table.main([*paths, "--write", str(page)]) == 0
    shown = [cells[0] for cells in reliability_table.parse_table(page.read_text())[1:]]
    assert shown == ["pass", "broker restart"]
    consumers = tmp_path / "consumers.json"
    consumers.write_text(json.dumps({"kind": "consumers", "outcomes": []}))
    with pytest.raises(ValueError, match="mix"):
        reliability_table.main([paths[0], str(consumers)])
