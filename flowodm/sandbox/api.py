"""``start``, ``status`` and ``stop`` of the local sandbox, and the ``Sandbox`` they describe.

The broker and the registry run as background processes that outlive the caller. Their pids,
start times and ports are kept in ``data_dir/sandbox.json``; every call re-checks that the
recorded processes are still the same processes and still answer.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowodm.exceptions import SandboxError
from flowodm.sandbox.broker import (
    BROKER_STOP,
    DEFAULT_BROKER_PORT,
    STORAGE,
    bootstrap_servers,
    broker_answers,
    broker_spec,
    resolve_broker_binary,
)
from flowodm.sandbox.ports import free_port, port_is_free
from flowodm.sandbox.process import ProcessRef, StopPolicy, is_running, stop_each
from flowodm.sandbox.registry_service import (
    DEFAULT_REGISTRY_PORT,
    REGISTRY_STOP,
    registry_answers,
    registry_spec,
    registry_url,
)
from flowodm.sandbox.services import PortPlan, ServiceSpec, launch
from flowodm.sandbox.state import (
    SandboxState,
    ServiceRecord,
    clear_state,
    load_state,
    locked,
    prepare_data_dir,
    resolve_data_dir,
    save_state,
)

if TYPE_CHECKING:
    from flowodm.kafka.connection import Connection

__all__ = ["Sandbox", "SandboxHealth", "health", "start", "status", "stop"]

#: Tansu holds a classic group join for about half the session timeout: librdkafka's 45 s made a
#: first ``consume_one(timeout=10)`` on the sandbox return nothing. 6 s keeps joins near 3 s.
SANDBOX_CONSUMER_CONFIG: dict[str, Any] = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 1000,
}

_PROBE_TIMEOUT = 2.0
_STOP_POLICY: dict[str, StopPolicy] = {"broker": BROKER_STOP, "registry": REGISTRY_STOP}
_STORAGE_CAVEAT = {
    "memory": "memory: topics and messages are lost when the broker stops",
    "external": "external cluster (not managed by flowodm sandbox)",
}

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Sandbox:
    """A running local stack: where to connect, which processes, where their logs are.

    ``broker_pid``, ``registry_pid`` and the logs are ``None`` for an external stack (see
    ``Sandbox.external``), which FlowODM does not manage.
    """

    bootstrap_servers: str
    schema_registry_url: str
    data_dir: Path
    broker_pid: int | None
    registry_pid: int | None
    broker_log: Path | None
    registry_log: Path | None
    storage: str = STORAGE
    notes: tuple[str, ...] = field(default=(), compare=False)
    """What ``start()`` had to do differently (a port fallback, a restarted process)."""

    @classmethod
    def external(cls, bootstrap_servers: str, schema_registry_url: str, data_dir: Path) -> Sandbox:
        """Describe a stack started elsewhere (bring your own cluster and registry)."""
        return cls(
            bootstrap_servers, schema_registry_url, data_dir, None, None, None, None, "external"
        )

    def connect(self, **kwargs: Any) -> Connection:
        """Return ``flowodm.connect()`` to this sandbox; ``kwargs`` are passed through.

        Group consumers get ``SANDBOX_CONSUMER_CONFIG`` under any ``consumer_config`` given.
        """
        from flowodm.kafka.connection import connect

        consumer_config = {**SANDBOX_CONSUMER_CONFIG, **(kwargs.pop("consumer_config", None) or {})}
        return connect(
            bootstrap_servers=self.bootstrap_servers,
            schema_registry_url=self.schema_registry_url,
            consumer_config=consumer_config,
            **kwargs,
        )

    def env(self) -> dict[str, str]:
        """Return the environment variables that point clients at this sandbox."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": self.schema_registry_url,
            "FLOWODM_CONSUMER_CONFIG": json.dumps(SANDBOX_CONSUMER_CONFIG),
        }

    def describe(self) -> str:
        """Return a human-readable, multi-line summary (what ``flowodm sandbox status`` shows)."""
        lines = [f"FlowODM sandbox running (data dir {self.data_dir})"]
        broker = _pid_and_log(self.broker_pid, self.broker_log)
        registry = _pid_and_log(self.registry_pid, self.registry_log)
        lines.append(f"  broker    {self.bootstrap_servers:<26}{broker}")
        lines.append(f"  registry  {self.schema_registry_url:<26}{registry}")
        lines.append(f"  storage   {_STORAGE_CAVEAT.get(self.storage, self.storage)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass(frozen=True)
class SandboxHealth:
    """The outcome of checking a data directory: a working ``sandbox`` or the ``problems``."""

    data_dir: Path
    sandbox: Sandbox | None
    problems: tuple[str, ...]


def start(
    broker_port: int | None = None,
    registry_port: int | None = None,
    data_dir: PathLike | None = None,
) -> Sandbox:
    """Start the broker and the registry in the background (or return the running sandbox).

    Args:
        broker_port: Kafka port on 127.0.0.1. ``None``: 9092, or a free port if 9092 is
            taken. ``0``: any free port. Another number: exactly that port, or an error.
        registry_port: Registry port, the same way (default 8081).
        data_dir: Where state, logs and schemas live. Default ``$FLOWODM_SANDBOX_DIR``, else
            ``$XDG_STATE_HOME/flowodm/sandbox`` (``~/.local/state/flowodm/sandbox``).

    Idempotent: a sandbox already running for ``data_dir`` is returned as it is. If one of its
    processes died, it is started again (a restarted broker starts empty: memory storage).

    Raises:
        SandboxError: bad port, port in use, unwritable ``data_dir``, missing broker binary, or
            a process that failed to start (its log's last lines are in the message).
    """
    _check_port("broker_port", broker_port)
    _check_port("registry_port", registry_port)
    if broker_port and broker_port == registry_port:
        raise SandboxError(f"broker_port and registry_port are both {broker_port}; use two ports")
    path = resolve_data_dir(data_dir)
    prepare_data_dir(path)
    with locked(path):
        state = load_state(path)
        notes: list[str] = []
        keep = _still_running(path, state, broker_port, registry_port, notes)
        jobs = _jobs(path, state, keep, broker_port, registry_port, notes)
        if not jobs:
            notes.append("it was already running; nothing was started")
        else:
            try:
                started, launch_notes = launch(jobs, path)
                keep.update(started)
                save_state(path, SandboxState(keep["broker"], keep["registry"], STORAGE))
            except BaseException:
                # Never leave half a sandbox, nor one that is not recorded (stop() could not
                # find it): what was kept or started goes too, with the old state.
                _stop_services(keep)
                clear_state(path)
                raise
            notes.extend(launch_notes)
        return _sandbox(path, SandboxState(keep["broker"], keep["registry"], STORAGE), notes)


def health(data_dir: PathLike | None = None) -> SandboxHealth:
    """Check the sandbox of ``data_dir`` without changing anything."""
    path = resolve_data_dir(data_dir)
    state = load_state(path) if path.is_dir() else None
    if state is None:
        return SandboxHealth(path, None, (f"no sandbox has been started in {path}",))
    problems = []
    for name, record in (("broker", state.broker), ("registry", state.registry)):
        if not is_running(record.process):
            problems.append(f"the {name} (pid {record.process.pid}) is not running")
        elif not _probe(name, record.port):
            problems.append(
                f"the {name} (pid {record.process.pid}) does not answer on port {record.port}"
            )
    if problems:
        return SandboxHealth(path, None, tuple(problems))
    return SandboxHealth(path, _sandbox(path, state, []), ())


def status(data_dir: PathLike | None = None) -> Sandbox | None:
    """Return the running sandbox of ``data_dir``, or ``None`` if it is not (fully) running."""
    return health(data_dir).sandbox


def stop(data_dir: PathLike | None = None) -> bool:
    """Stop the broker and registry that ``start()`` launched for ``data_dir``.

    Only the recorded processes are signalled (pid and start time must match), then SIGKILLed
    after a grace period: the broker gets SIGINT and 1 s (its storage is in memory, so there is
    nothing to shut down gracefully), the registry SIGTERM and 5 s. Returns once they are gone.

    Returns:
        ``True`` if a process was stopped, ``False`` if none was running.
    """
    path = resolve_data_dir(data_dir)
    if not path.is_dir():
        return False
    with locked(path):
        state = load_state(path)
        if state is None:
            return False
        services = {"broker": state.broker, "registry": state.registry}
        was_running = any(is_running(record.process) for record in services.values())
        _stop_services(services)
        clear_state(path)
    return was_running


def _still_running(
    path: Path,
    state: SandboxState | None,
    broker_port: int | None,
    registry_port: int | None,
    notes: list[str],
) -> dict[str, ServiceRecord]:
    """Return the recorded services that still answer; stop the ones that do not."""
    keep: dict[str, ServiceRecord] = {}
    if state is None:
        return keep
    for name, record in (("broker", state.broker), ("registry", state.registry)):
        requested = broker_port if name == "broker" else registry_port
        if _answers(name, record):
            if requested and requested != record.port:
                raise SandboxError(
                    f"a sandbox already runs in {path} with its {name} on port "
                    f"{record.port}, not {requested}; stop it first "
                    f"(flowodm sandbox stop --data-dir {shlex.quote(str(path))}) to change ports"
                )
            keep[name] = record
        else:
            alive = is_running(record.process)
            _stop_services({name: record})  # alive but not answering: replace it
            notes.append(_restart_note(name, record, path, alive))
    return keep


def _jobs(
    path: Path,
    state: SandboxState | None,
    keep: dict[str, ServiceRecord],
    broker_port: int | None,
    registry_port: int | None,
    notes: list[str],
) -> list[tuple[ServiceSpec, PortPlan]]:
    """Plan the services to start: which spec, which port, may the port move."""
    jobs: list[tuple[ServiceSpec, PortPlan]] = []
    taken = {record.port for record in keep.values()}
    if "broker" not in keep:
        spec = broker_spec(resolve_broker_binary())  # fails before anything was spawned
        previous = state.broker.port if state else None
        plan = _plan_port("broker", broker_port, previous, DEFAULT_BROKER_PORT, taken, notes)
        taken.add(plan.port)
        jobs.append((spec, plan))
    if "registry" not in keep:
        previous = state.registry.port if state else None
        plan = _plan_port("registry", registry_port, previous, DEFAULT_REGISTRY_PORT, taken, notes)
        jobs.append((registry_spec(path), plan))
    return jobs


def _plan_port(
    name: str,
    requested: int | None,
    previous: int | None,
    default: int,
    taken: set[int],
    notes: list[str],
) -> PortPlan:
    """Choose a service's port: the requested one, else the previous one, else the default."""
    if requested:
        if requested in taken or not port_is_free(requested):
            raise SandboxError(
                f"{name} port {requested} is in use by another program; choose a free port "
                f"with --{name}-port / {name}_port=, or omit it to let the sandbox pick one"
            )
        return PortPlan(requested, movable=False)
    # A restarted service keeps its port if it can (clients have it configured), even when
    # "any free port" (0) was asked for; otherwise try the default, unless 0 was asked for.
    wanted = previous if previous is not None else (default if requested is None else None)
    if wanted is None:
        return PortPlan(free_port(exclude=taken), movable=True)
    if wanted not in taken and port_is_free(wanted):
        return PortPlan(wanted, movable=True)
    port = free_port(exclude=taken)
    notes.append(f"port {wanted} is taken by another program; the {name} uses port {port} instead")
    return PortPlan(port, movable=True)


def _stop_services(services: dict[str, ServiceRecord]) -> None:
    """Stop recorded services together, each the way it ends best (``_STOP_POLICY``)."""
    targets: list[tuple[ProcessRef, StopPolicy]] = [
        (record.process, _STOP_POLICY[name]) for name, record in services.items()
    ]
    stop_each(targets)


def _answers(name: str, record: ServiceRecord) -> bool:
    """Tell whether a recorded service is still the same process and answers requests."""
    return is_running(record.process) and _probe(name, record.port)


def _probe(name: str, port: int) -> bool:
    """Ask the broker or the registry on ``port`` for a real answer."""
    probe = broker_answers if name == "broker" else registry_answers
    return probe(port, _PROBE_TIMEOUT)


def _restart_note(name: str, record: ServiceRecord, path: Path, was_alive: bool) -> str:
    """Say which service was replaced and what the user lost (broker) or kept (registry)."""
    what = "did not answer" if was_alive else "had stopped"
    if name == "broker":
        return (
            f"the broker (pid {record.process.pid}) {what} and was restarted; its storage "
            "is in memory, so topics and messages from before are gone"
        )
    return (
        f"the registry (pid {record.process.pid}) {what} and was restarted; its schemas "
        f"are kept in {path}"
    )


def _sandbox(path: Path, state: SandboxState, notes: list[str]) -> Sandbox:
    """Build the public ``Sandbox`` from the recorded state."""
    return Sandbox(
        bootstrap_servers=bootstrap_servers(state.broker.port),
        schema_registry_url=registry_url(state.registry.port),
        data_dir=path,
        broker_pid=state.broker.process.pid,
        registry_pid=state.registry.process.pid,
        broker_log=state.broker.log,
        registry_log=state.registry.log,
        storage=state.storage,
        notes=tuple(notes),
    )


def _pid_and_log(pid: int | None, log: Path | None) -> str:
    """Format the pid and log columns of ``describe()`` (empty for an external stack)."""
    if pid is None:
        return ""
    return f"pid {pid:<8} log {log}"


def _check_port(name: str, port: object) -> None:
    """Refuse a port argument that is not ``None`` or an int from 0 to 65535."""
    if port is None:
        return
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise SandboxError(
            f"{name} must be a port number from 1 to 65535 (0: any free port), got {port!r}"
        )
