"""Detached background processes: spawn, identify, check and stop them by pid, safely.

A sandbox process must outlive the Python process that started it (a notebook kernel restart
must not kill the broker), so it is spawned in a new session with its output in a log file. It
is later identified by its pid *and* its start time, so a pid reused by the system for another
program is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flowodm.exceptions import SandboxError

__all__ = [
    "ProcessRef",
    "StopPolicy",
    "exit_code",
    "is_running",
    "spawn",
    "stop_each",
    "stop_processes",
    "tail",
]

_POLL_SECONDS = 0.02
_KILL_WAIT = 5.0  # SIGKILL cannot be caught; longer means stuck in the kernel

# Exit codes of our children that is_running() reaped, so exit_code() can still report them.
_REAPED: dict[int, int] = {}


@dataclass(frozen=True)
class ProcessRef:
    """A process identified by pid and start time (a reused pid has another start time)."""

    pid: int
    start_time: str


def spawn(argv: Sequence[str], *, log_path: Path, env: Mapping[str, str]) -> ProcessRef:
    """Start ``argv`` in a new session, stdin from /dev/null, stdout and stderr to ``log_path``.

    ``os.posix_spawn`` is used rather than ``subprocess.Popen`` so that no ``Popen`` object
    outlives the call (its finaliser warns about a still-running child), and rather than
    ``fork`` because the caller may run threads (librdkafka, pytest).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    try:
        pid = os.posix_spawn(argv[0], list(argv), dict(env), file_actions=file_actions, setsid=True)
    except OSError as exc:
        raise SandboxError(f"could not start {argv[0]}: {exc.strerror or exc}") from exc
    _REAPED.pop(pid, None)  # a pid reused from an earlier child of ours
    start_time = _start_time(pid)
    if start_time is None:  # gone and reaped by someone else already; record a placeholder
        start_time = "exited"
    return ProcessRef(pid, start_time)


def is_running(ref: ProcessRef) -> bool:
    """Tell whether ``ref`` is still the same, live (not zombie) process."""
    _reap(ref.pid)
    info = _proc_info(ref.pid)
    return info is not None and info[0] == ref.start_time and not info[1]


def exit_code(ref: ProcessRef) -> int | None:
    """Return the exit code of our own child ``ref`` once it ended, else ``None``.

    A negative value is the number of the signal that ended it (as in ``subprocess``).
    """
    try:
        pid, status = os.waitpid(ref.pid, os.WNOHANG)
    except ChildProcessError:  # not our child, or already reaped by is_running()
        return _REAPED.get(ref.pid)
    if pid == 0:
        return None
    code = os.waitstatus_to_exitcode(status)
    _REAPED[ref.pid] = code
    return code


@dataclass(frozen=True)
class StopPolicy:
    """How to ask a process to end: the signal to send, and how long to wait before SIGKILL."""

    signum: signal.Signals = signal.SIGTERM
    grace: float = 5.0


def stop_processes(refs: Sequence[ProcessRef], *, grace: float = 5.0) -> None:
    """Stop the given processes (and their process groups): SIGTERM, then SIGKILL after ``grace``.

    The same as ``stop_each`` with one ``StopPolicy(SIGTERM, grace)`` for all of them.
    """
    policy = StopPolicy(grace=grace)
    stop_each([(ref, policy) for ref in refs])


def stop_each(targets: Sequence[tuple[ProcessRef, StopPolicy]]) -> None:
    """Stop processes (and their process groups) together, each by its own ``StopPolicy``.

    Each gets its policy's signal, then SIGKILL once its grace period has passed. Only
    processes whose identity still matches are signalled. Returns once all are gone.

    Raises:
        SandboxError: a process survived SIGKILL (e.g. stuck in the kernel) or belongs to
            another user.
    """
    alive = [(ref, policy) for ref, policy in targets if is_running(ref)]
    for ref, policy in alive:
        _signal(ref, policy.signum)
        _signal(ref, signal.SIGCONT)  # a stopped (hung) process acts on its signal once resumed
    began = time.monotonic()
    # Wait for each process until its own grace ends: a quick one need not wait for a slow one.
    for ref, policy in sorted(alive, key=lambda target: target[1].grace):
        remaining = began + policy.grace - time.monotonic()
        if _wait_gone([ref], remaining):
            _signal(ref, signal.SIGKILL)
    left = _wait_gone([ref for ref, _ in alive], _KILL_WAIT)
    if left:
        pids = ", ".join(str(ref.pid) for ref in left)
        raise SandboxError(f"process(es) {pids} did not end after SIGKILL; check them with ps")


def tail(path: Path, lines: int = 15) -> str:
    """Return the last ``lines`` lines of a log file ("" if there is none)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            _REAPED[pid] = os.waitstatus_to_exitcode(status)


def _signal(ref: ProcessRef, signum: signal.Signals) -> None:
    """Signal the process group that ``ref`` leads (spawned with setsid), else ``ref`` only."""
    try:
        if os.getpgid(ref.pid) == ref.pid:
            os.killpg(ref.pid, signum)
        else:
            os.kill(ref.pid, signum)
    except ProcessLookupError:
        pass  # ended in the meantime: that is what we want
    except PermissionError as exc:
        raise SandboxError(f"not allowed to stop process {ref.pid}: {exc}") from exc


def _wait_gone(refs: Sequence[ProcessRef], seconds: float) -> list[ProcessRef]:
    """Wait up to ``seconds`` for the processes to end; return those still running."""
    deadline = time.monotonic() + seconds
    alive = [ref for ref in refs if is_running(ref)]
    while alive and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        alive = [ref for ref in alive if is_running(ref)]
    return alive


def _start_time(pid: int) -> str | None:
    """Return the start-time token of ``pid`` (``None`` if there is no such process)."""
    info = _proc_info(pid)
    return None if info is None else info[0]


def _proc_info(pid: int) -> tuple[str, bool] | None:
    """Return (start time token, is zombie) for ``pid``, or ``None`` if there is no such pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        return _ps_info(pid)  # no procfs (macOS): ask ps
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its last ")".
    fields = stat.rsplit(")", 1)[1].split()
    state, start_ticks = fields[0], fields[19]
    return start_ticks, state in ("Z", "X")


def _ps_info(pid: int) -> tuple[str, bool] | None:
    """Ask ``ps`` for (start time, is zombie) where there is no ``/proc``."""
    result = subprocess.run(
        ["ps", "-o", "stat=", "-o", "lstart=", "-p", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    line = result.stdout.strip()
    if result.returncode != 0 or not line:
        return None
    state, _, started = line.partition(" ")
    return started.strip(), state.startswith("Z")
