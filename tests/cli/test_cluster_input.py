"""``match_files``: which files a cluster run's FILE names."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowodm.cli.cluster_input import match_files
from flowodm.cli.usage import UsageError


def _csv(path: Path) -> Path:
    path.write_text("order_id\nA\n")
    return path


def test_a_pattern_matches_its_files_in_order(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", "c.json"):
        _csv(tmp_path / name)
    sources = match_files(str(tmp_path / "*.csv"), None)
    assert [Path(s.path).name for s in sources] == ["a.csv", "b.csv"]


def test_a_file_whose_name_looks_like_a_pattern_is_that_file(tmp_path: Path) -> None:
    literal = _csv(tmp_path / "orders[1].csv")  # as a glob, [1] would match only "orders1.csv"
    (sources,) = match_files(str(literal), None)
    assert Path(sources.path) == literal


def test_a_pattern_that_matches_nothing_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no file matches"):
        match_files(str(tmp_path / "*.parquet"), None)
