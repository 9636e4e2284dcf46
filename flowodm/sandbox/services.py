"""Launch the sandbox's services together and wait until each one answers.

A service that dies during start is retried: a port that was free a moment ago can be taken
(or not yet released) when the process binds it. A port the caller did not fix is then swapped
for another free one. If a service cannot be started, every process this launch spawned is
stopped before the error is raised, so nothing is left behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flowodm.exceptions import SandboxError
from flowodm.sandbox.ports import (
    accepts_connections,
    free_port,
    listener_owned_by,
    port_is_free,
)
from flowodm.sandbox.process import (
    ProcessRef,
    StopPolicy,
    exit_code,
    is_running,
    spawn,
    stop_each,
    tail,
)
from flowodm.sandbox.state import OWNER_ENV, ServiceRecord

__all__ = ["PortPlan", "ServiceSpec", "launch"]

_MAX_ATTEMPTS = 3
_RETRY_DELAY = 0.3  # a just-released port is usually bindable again after this
_POLL_SECONDS = 0.02
_PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service and how to tell that it answers."""

    name: str
    argv: Callable[[int], list[str]]
    env: Mapping[str, str]
    probe: Callable[[int, float], bool]
    """``probe(port, timeout)``: true once the service answers a real request."""
    stop: StopPolicy
    """How ``stop()`` and a failed launch end the service."""

    def log_path(self, data_dir: Path) -> Path:
        """Return the log file of this service in ``data_dir``."""
        return data_dir / f"{self.name}.log"


@dataclass(frozen=True)
class PortPlan:
    """The port to try first; ``movable`` allows switching to a free port if it fails."""

    port: int
    movable: bool


@dataclass
class _Attempt:
    """One service being started: its current port and process, and every process tried."""

    spec: ServiceSpec
    plan: PortPlan
    port: int
    ref: ProcessRef
    number: int = 1
    spawned: list[ProcessRef] = field(default_factory=list)


def launch(
    jobs: Sequence[tuple[ServiceSpec, PortPlan]],
    data_dir: Path,
    *,
    timeout: float = 30.0,
) -> tuple[dict[str, ServiceRecord], list[str]]:
    """Start every job's service and wait until all answer.

    Returns:
        The running services by name, and human-readable notes (e.g. a port that changed).

    Raises:
        SandboxError: a service exited on every attempt or did not answer within ``timeout``
            seconds; the message includes the last lines of its log.
    """
    notes: list[str] = []
    attempts: dict[str, _Attempt] = {}
    ready: dict[str, ServiceRecord] = {}
    try:
        taken = {plan.port for _, plan in jobs}
        for spec, plan in jobs:
            _rotate_log(spec.log_path(data_dir))
            ref = _spawn(spec, plan.port, data_dir, 1)
            attempts[spec.name] = _Attempt(spec, plan, plan.port, ref, spawned=[ref])
        deadline = time.monotonic() + timeout
        while len(ready) < len(attempts):
            for name, attempt in attempts.items():
                if name in ready:
                    continue
                code = exit_code(attempt.ref)
                if code is not None:
                    _retry(attempt, code, data_dir, taken)
                elif _answers(attempt):
                    ready[name] = ServiceRecord(
                        attempt.ref, attempt.port, attempt.spec.log_path(data_dir)
                    )
                    if attempt.port != attempt.plan.port:
                        notes.append(
                            f"the {name} could not use port {attempt.plan.port} "
                            f"(taken by another program); it uses port {attempt.port} instead"
                        )
            if len(ready) < len(attempts) and time.monotonic() > deadline:
                late = next(a for n, a in attempts.items() if n not in ready)
                raise SandboxError(
                    f"the {late.spec.name} did not answer on port {late.port} within "
                    f"{timeout:.0f} s{_log_excerpt(late.spec.log_path(data_dir))}"
                )
            time.sleep(_POLL_SECONDS)
    except BaseException:
        # Leave nothing behind: stop what this launch started, ready or not.
        stop_each([(ref, a.spec.stop) for a in attempts.values() for ref in a.spawned])
        raise
    return ready, notes


def _answers(attempt: _Attempt) -> bool:
    """Tell whether the service answers, and that it is our process that answers."""
    if not accepts_connections(attempt.port):
        return False
    if listener_owned_by(attempt.ref.pid, attempt.port) is False:
        return False  # another program answers there; ours is about to fail with "in use"
    return attempt.spec.probe(attempt.port, _PROBE_TIMEOUT) and is_running(attempt.ref)


def _retry(attempt: _Attempt, code: int, data_dir: Path, taken: set[int]) -> None:
    """Start a service again after it exited during start, or raise if it keeps failing."""
    log = attempt.spec.log_path(data_dir)
    if attempt.number >= _MAX_ATTEMPTS:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        busy = "" if port_is_free(attempt.port) else f" (port {attempt.port} is in use)"
        raise SandboxError(
            f"the {attempt.spec.name} {how} while starting on port {attempt.port}{busy} "
            f"({attempt.number} attempts){_log_excerpt(log)}"
        )
    if attempt.plan.movable:
        attempt.port = free_port(exclude=taken)
        taken.add(attempt.port)
    else:
        time.sleep(_RETRY_DELAY)
    attempt.number += 1
    attempt.ref = _spawn(attempt.spec, attempt.port, data_dir, attempt.number)
    attempt.spawned.append(attempt.ref)


def _spawn(spec: ServiceSpec, port: int, data_dir: Path, number: int) -> ProcessRef:
    """Start one attempt of a service, marking the log and the process with its sandbox."""
    log = spec.log_path(data_dir)
    argv = spec.argv(port)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"--- flowodm sandbox {stamp}: starting {spec.name} on port {port}")
        handle.write(f" (attempt {number})\n" if number > 1 else "\n")
    return spawn(argv, log_path=log, env={**spec.env, OWNER_ENV: str(data_dir)})


def _rotate_log(log: Path) -> None:
    """Keep the previous log as ``NAME.log.1`` (it may explain why the service died)."""
    if log.exists():
        log.replace(log.with_name(log.name + ".1"))


def _log_excerpt(log: Path) -> str:
    """Return the end of a service's log, to append to an error message."""
    text = tail(log)
    if not text:
        return f"; its log {log} is empty"
    return f"; last lines of {log}:\n{text}"
