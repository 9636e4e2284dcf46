"""The sandbox's place on disk: default directory, state file, writability checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowodm.exceptions import SandboxError
from flowodm.sandbox.process import ProcessRef
from flowodm.sandbox.state import (
    SandboxState,
    ServiceRecord,
    clear_state,
    default_data_dir,
    load_state,
    locked,
    prepare_data_dir,
    resolve_data_dir,
    save_state,
)


def test_default_data_dir_follows_env_then_xdg_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home/.local/state/flowodm/sandbox"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg/flowodm/sandbox"
    monkeypatch.setenv("FLOWODM_SANDBOX_DIR", str(tmp_path / "explicit"))
    assert default_data_dir() == tmp_path / "explicit"
    assert resolve_data_dir(None) == tmp_path / "explicit"
    assert resolve_data_dir("rel").is_absolute()


def test_state_round_trips_and_is_cleared(tmp_path: Path) -> None:
    state = SandboxState(
        broker=ServiceRecord(ProcessRef(11, "100"), 9092, tmp_path / "broker.log"),
        registry=ServiceRecord(ProcessRef(12, "101"), 8081, tmp_path / "registry.log"),
    )
    assert load_state(tmp_path) is None
    save_state(tmp_path, state)
    assert load_state(tmp_path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.json"]  # no temp file left
    clear_state(tmp_path)
    assert load_state(tmp_path) is None


def test_a_damaged_state_file_is_reported_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "sandbox.json").write_text('{"broker": {"pid": "x"}}')
    with pytest.raises(SandboxError, match=r"sandbox\.json is damaged"):
        load_state(tmp_path)


def test_an_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SandboxError, match=r"is not writable.*--data-dir"):
        prepare_data_dir(blocker / "sandbox")
    with (
        pytest.raises(SandboxError, match="cannot use sandbox data directory"),
        locked(blocker / "sandbox"),
    ):
        pass


def test_the_lock_is_exclusive_across_holders(tmp_path: Path) -> None:
    # A second open file description conflicts, as another process's would.
    with (
        locked(tmp_path),
        pytest.raises(SandboxError, match="another flowodm sandbox command"),
        locked(tmp_path, timeout=0.1),
    ):
        pass
    with locked(tmp_path, timeout=0.1):
        pass


def test_an_unwritable_state_file_is_a_sandbox_error(tmp_path: Path) -> None:
    state = SandboxState(
        broker=ServiceRecord(ProcessRef(11, "100"), 9092, tmp_path / "broker.log"),
        registry=ServiceRecord(ProcessRef(12, "101"), 8081, tmp_path / "registry.log"),
    )
    (tmp_path / "sandbox.json").mkdir()  # the final rename cannot replace a directory
    with pytest.raises(SandboxError, match=r"cannot write sandbox state .*sandbox\.json"):
        save_state(tmp_path, state)
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.json"]  # no temp file left
