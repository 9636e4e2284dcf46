"""``flowodm sandbox …`` as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from flowodm.sandbox.ports import free_port
from tests.sandbox.conftest import pid_alive, sandbox_processes

pytestmark = pytest.mark.integration


def flowodm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowodm", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _run_hint(hint: str) -> subprocess.CompletedProcess[str]:
    """Run a command line the CLI suggested, with this interpreter standing in for ``flowodm``."""
    assert hint.startswith("flowodm "), hint
    return flowodm(*shlex.split(hint)[1:])


def _hint(output: str, pattern: str) -> str:
    found = re.search(pattern, output)
    assert found is not None, f"no hint matching {pattern!r} in:\n{output}"
    return found.group(1)


def test_start_status_env_stop(data_dir: Path) -> None:
    where = ("--data-dir", str(data_dir))
    started = flowodm("sandbox", "start", "--broker-port", "0", "--registry-port", "0", *where)
    assert started.returncode == 0, started.stderr
    assert "FlowODM sandbox running" in started.stdout
    assert "memory: topics and messages are lost when the broker stops" in started.stdout
    assert re.search(r"ready in \d+\.\d s", started.stdout)
    # The hints name this (non-default) data dir, so they work when pasted.
    env_hint = _hint(started.stdout, r'point clients at it with: eval "\$\((.*)\)"')
    assert env_hint == f"flowodm sandbox env --data-dir {data_dir}"
    stop_hint = _hint(started.stdout, r"stop it with: (.*)")
    assert stop_hint == f"flowodm sandbox stop --data-dir {data_dir}"

    status = flowodm("sandbox", "status", *where)
    assert status.returncode == 0
    pids = [int(p) for p in re.findall(r"pid (\d+)", status.stdout)]
    assert sorted(sandbox_processes(data_dir)) == sorted(pids)  # outlived the start command
    assert _hint(status.stdout, r'eval "\$\((.*)\)"') == env_hint

    env = _run_hint(env_hint)
    assert env.returncode == 0, env.stderr
    shown = subprocess.run(
        [
            "bash",
            "-c",
            f'eval "{env.stdout}"; echo "$KAFKA_BOOTSTRAP_SERVERS $SCHEMA_REGISTRY_URL"',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown[0].startswith("127.0.0.1:") and shown[1].startswith("http://127.0.0.1:")
    assert httpx.get(shown[1] + "/", timeout=5, trust_env=False).json() == {}

    again = flowodm("sandbox", "start", *where)
    assert again.returncode == 0
    assert "already running" in again.stdout
    assert [int(p) for p in re.findall(r"pid (\d+)", again.stdout)] == pids

    stopped = _run_hint(stop_hint)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert sandbox_processes(data_dir) == []
    for pid in pids:
        assert not pid_alive(pid), f"process {pid} still runs after stop"


def test_status_and_env_fail_when_not_running(data_dir: Path) -> None:
    status = flowodm("sandbox", "status", "--data-dir", str(data_dir))
    assert status.returncode == 1
    assert "not running" in status.stdout
    start_hint = f"flowodm sandbox start --data-dir {data_dir}"
    assert f"start it with: {start_hint}\n" in status.stdout
    env = flowodm("sandbox", "env", "--data-dir", str(data_dir))
    assert env.returncode == 1
    assert env.stdout == ""
    assert env.stderr.startswith("flowodm: error: no FlowODM sandbox is running")
    assert f"start it with: {start_hint}" in env.stderr
    stop = flowodm("sandbox", "stop", "--data-dir", str(data_dir))
    assert stop.returncode == 0 and "no FlowODM sandbox was running" in stop.stdout


def test_hints_leave_out_the_default_data_dir(data_dir: Path) -> None:
    # $FLOWODM_SANDBOX_DIR makes data_dir the default: a hint without --data-dir finds it.
    status = flowodm("sandbox", "status", env={"FLOWODM_SANDBOX_DIR": str(data_dir)})
    assert status.returncode == 1
    assert f"(data dir {data_dir})" in status.stdout
    assert "start it with: flowodm sandbox start\n" in status.stdout


def test_hints_quote_a_data_dir_with_spaces(tmp_path: Path) -> None:
    spaced = tmp_path / "my sandbox"
    status = flowodm("sandbox", "status", "--data-dir", str(spaced))
    assert status.returncode == 1
    hint = _hint(status.stdout, r"start it with: (.*)")
    assert shlex.split(hint) == ["flowodm", "sandbox", "start", "--data-dir", str(spaced)]


def test_a_failed_start_exits_1_without_traceback(data_dir: Path) -> None:
    failed = flowodm(
        "sandbox", "start", "--data-dir", str(data_dir), env={"FLOWODM_BROKER_BIN": "/nonexistent"}
    )
    assert failed.returncode == 1
    assert "pip install 'flowodm[sandbox]'" in failed.stderr
    assert "Traceback" not in failed.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("sandbox", "start", "--broker-port", "notaport"),
        ("sandbox", "start", "--registry-port", "70000"),
        ("sandbox", "bogus"),
        ("sandbox",),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = flowodm(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_registry_usage_errors_name_the_flowodm_command(tmp_path: Path) -> None:
    result = flowodm("sandbox", "registry", "--port", "abc", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "usage: flowodm sandbox registry" in result.stderr
    assert "invalid int value: 'abc'" in result.stderr


def test_registry_subcommand_runs_the_registry_in_the_foreground(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flowodm",
            "sandbox",
            "registry",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == (
            f"flowodm-registry listening on http://127.0.0.1:{port}"
        )
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5, trust_env=False).json() == {}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.communicate()
    assert (tmp_path / "registry.sqlite3").exists()
