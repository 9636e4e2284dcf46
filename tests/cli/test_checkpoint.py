"""Checkpoint files: atomic writes, and refusal to resume on anything but the same file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flowodm.cli import checkpoint as checkpoint_module
from flowodm.cli.checkpoint import (
    Checkpoint,
    Checkpointer,
    FileIdentity,
    load_checkpoint,
    save_checkpoint,
)
from flowodm.cli.usage import UsageError


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("id\n1\n2\n3\n")
    return path


def _checkpointer(tmp_path: Path, data_file: Path, topic: str = "orders") -> Checkpointer:
    return Checkpointer(tmp_path / "ck.json", source=FileIdentity.of(data_file), topic=topic)


def test_new_checkpoint_starts_at_row_zero(tmp_path: Path, data_file: Path) -> None:
    assert _checkpointer(tmp_path, data_file).resume() == 0
    assert not (tmp_path / "ck.json").exists()


def test_progress_is_saved_and_resumed(tmp_path: Path, data_file: Path) -> None:
    first = _checkpointer(tmp_path, data_file)
    first.resume()
    first.advance(2)
    saved = json.loads((tmp_path / "ck.json").read_text())
    assert saved["rows_done"] == 2
    assert saved["topic"] == "orders"
    assert saved["source"]["path"] == str(data_file.resolve())
    assert saved["source"]["size"] == data_file.stat().st_size
    assert _checkpointer(tmp_path, data_file).resume() == 2


def test_advance_never_moves_backwards_or_rewrites(tmp_path: Path, data_file: Path) -> None:
    checkpointer = _checkpointer(tmp_path, data_file)
    checkpointer.advance(3)
    before = (tmp_path / "ck.json").stat().st_mtime_ns
    checkpointer.advance(1)
    checkpointer.advance(3)
    assert load_checkpoint(tmp_path / "ck.json").rows_done == 3  # type: ignore[union-attr]
    assert (tmp_path / "ck.json").stat().st_mtime_ns == before


def test_save_leaves_no_temporary_files(tmp_path: Path, data_file: Path) -> None:
    checkpoint = Checkpoint(source=FileIdentity.of(data_file), topic="t", rows_done=1)
    for _ in range(3):
        save_checkpoint(tmp_path / "ck.json", checkpoint)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.json", "rows.csv"]


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def test_ctrl_c_right_after_the_rename_leaves_the_count_the_file_holds(
    tmp_path: Path, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The summary reports rows_done; it must match the file even when Ctrl-C lands between
    # the rename and the end of advance().
    checkpointer = _checkpointer(tmp_path, data_file)
    checkpointer.advance(1)
    monkeypatch.setattr(checkpoint_module, "_fsync_directory", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        checkpointer.advance(3)
    assert load_checkpoint(tmp_path / "ck.json").rows_done == 3  # type: ignore[union-attr]
    assert checkpointer.rows_done == 3


def test_ctrl_c_before_the_rename_keeps_the_old_count_and_no_temporary_file(
    tmp_path: Path, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpointer = _checkpointer(tmp_path, data_file)
    checkpointer.advance(1)
    monkeypatch.setattr("flowodm.cli.checkpoint.os.replace", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        checkpointer.advance(3)
    assert load_checkpoint(tmp_path / "ck.json").rows_done == 1  # type: ignore[union-attr]
    assert checkpointer.rows_done == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.json", "rows.csv"]


def test_save_into_a_missing_directory_is_a_clear_error(tmp_path: Path, data_file: Path) -> None:
    from flowodm.exceptions import FlowODMError

    checkpoint = Checkpoint(source=FileIdentity.of(data_file), topic="t", rows_done=1)
    with pytest.raises(FlowODMError, match="cannot write checkpoint"):
        save_checkpoint(tmp_path / "missing" / "ck.json", checkpoint)


def test_changed_size_is_refused(tmp_path: Path, data_file: Path) -> None:
    _checkpointer(tmp_path, data_file).advance(1)
    with data_file.open("a") as file:
        file.write("4\n")
    with pytest.raises(UsageError, match=r"size changed from 9 to 11 bytes.*new --checkpoint"):
        _checkpointer(tmp_path, data_file).resume()


def test_modified_file_is_refused(tmp_path: Path, data_file: Path) -> None:
    _checkpointer(tmp_path, data_file).advance(1)
    stat = data_file.stat()
    os.utime(data_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(UsageError, match="modified after the checkpoint was written"):
        _checkpointer(tmp_path, data_file).resume()


def test_same_size_and_time_but_other_content_is_refused(tmp_path: Path, data_file: Path) -> None:
    _checkpointer(tmp_path, data_file).advance(1)
    stat = data_file.stat()
    data_file.write_text("id\n9\n2\n3\n")
    os.utime(data_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(UsageError, match="content changed"):
        _checkpointer(tmp_path, data_file).resume()


def test_other_file_is_refused(tmp_path: Path, data_file: Path) -> None:
    _checkpointer(tmp_path, data_file).advance(1)
    other = tmp_path / "other.csv"
    other.write_bytes(data_file.read_bytes())
    with pytest.raises(UsageError, match=r"written for .*rows\.csv, not .*other\.csv"):
        _checkpointer(tmp_path, other).resume()


def test_other_topic_is_refused(tmp_path: Path, data_file: Path) -> None:
    _checkpointer(tmp_path, data_file, topic="orders").advance(1)
    with pytest.raises(UsageError, match="into topic 'orders', not 'payments'"):
        _checkpointer(tmp_path, data_file, topic="payments").resume()


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps({"rows_done": 3}), json.dumps({"format": "something-else/1"})],
)
def test_foreign_file_is_not_taken_for_a_checkpoint(tmp_path: Path, content: str) -> None:
    path = tmp_path / "ck.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=r"is not a FlowODM checkpoint.*delete the file"):
        load_checkpoint(path)
