"""Detached processes: spawned in their own session, identified by start time, stopped for sure."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from flowodm.exceptions import SandboxError
from flowodm.sandbox.process import (
    ProcessRef,
    StopPolicy,
    exit_code,
    is_running,
    spawn,
    stop_each,
    stop_processes,
    tail,
)
from tests.sandbox.conftest import wait_until


def test_spawned_process_runs_in_its_own_session_and_logs_to_file(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    code = "import os, sys, time; print('sid', os.getsid(0), flush=True); time.sleep(30)"
    ref = spawn([sys.executable, "-c", code], log_path=log, env=dict(os.environ))
    try:
        assert is_running(ref)
        wait_until(lambda: "sid" in log.read_text())
        assert log.read_text().split() == ["sid", str(ref.pid)]  # session leader: sid == pid
        assert os.getsid(ref.pid) != os.getsid(0)
    finally:
        stop_processes([ref])
    assert not is_running(ref)


def test_exit_code_and_tail_report_a_process_that_failed(tmp_path: Path) -> None:
    log = tmp_path / "fail.log"
    code = "import sys; [print('line', i) for i in range(30)]; sys.exit(3)"
    ref = spawn([sys.executable, "-c", code], log_path=log, env=dict(os.environ))
    wait_until(lambda: exit_code(ref) is not None)
    assert exit_code(ref) == 3
    assert not is_running(ref)
    assert tail(log, lines=2) == "line 28\nline 29"
    assert tail(tmp_path / "missing.log") == ""


def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    ref = spawn(["/bin/sleep", "30"], log_path=tmp_path / "s.log", env=dict(os.environ))
    impostor = ProcessRef(ref.pid, start_time="not-its-start-time")
    try:
        assert not is_running(impostor)
        stop_processes([impostor], grace=0.1)
        assert is_running(ref), "a process with another start time was signalled"
    finally:
        stop_processes([ref])
    assert not is_running(ref)


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    script = "trap '' TERM; echo trapped; while :; do sleep 0.1; done"
    ref = spawn(["/bin/sh", "-c", script], log_path=log, env=dict(os.environ))
    wait_until(lambda: "trapped" in log.read_text())
    stop_processes([ref], grace=0.3)
    assert not is_running(ref)
    assert exit_code(ref) == -9


def test_spawning_a_missing_program_is_a_sandbox_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="could not start /nonexistent/program"):
        spawn(["/nonexistent/program"], log_path=tmp_path / "x.log", env={})


def test_a_stopped_process_is_resumed_so_that_its_sigterm_handler_runs(tmp_path: Path) -> None:
    log = tmp_path / "handler.log"
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    ref = spawn([sys.executable, "-c", code], log_path=log, env=dict(os.environ))
    wait_until(lambda: "ready" in log.read_text())
    os.kill(ref.pid, signal.SIGSTOP)  # hung, e.g. a broker stuck under a debugger
    stop_processes([ref], grace=10)
    assert exit_code(ref) == 3  # its handler ran: not SIGKILLed after the grace period


def test_each_process_is_stopped_with_its_own_signal_and_grace(tmp_path: Path) -> None:
    log = tmp_path / "sigint.log"
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGINT, lambda *_: sys.exit(4))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    on_sigint = spawn([sys.executable, "-c", code], log_path=log, env=dict(os.environ))
    stubborn_log = tmp_path / "stubborn.log"
    script = "trap '' TERM INT; echo trapped; while :; do sleep 0.1; done"
    stubborn = spawn(["/bin/sh", "-c", script], log_path=stubborn_log, env=dict(os.environ))
    wait_until(lambda: "ready" in log.read_text() and "trapped" in stubborn_log.read_text())

    stop_each(
        [
            (on_sigint, StopPolicy(signal.SIGINT, grace=10)),
            (stubborn, StopPolicy(signal.SIGTERM, grace=0.3)),
        ]
    )

    assert exit_code(on_sigint) == 4  # its SIGINT handler ran; SIGTERM alone would not end it
    assert exit_code(stubborn) == -9  # killed once its own short grace ran out
