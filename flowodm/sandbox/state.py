"""Where a sandbox lives on disk: its data directory, its state file and its lock.

``data_dir/sandbox.json`` records the pid, start time, port and log of the broker and the
registry, so ``status()`` and ``stop()`` (from any process, e.g. after a notebook kernel
restart) find exactly the processes ``start()`` launched.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowodm.exceptions import SandboxError
from flowodm.sandbox.process import ProcessRef

__all__ = [
    "DATA_DIR_ENV",
    "OWNER_ENV",
    "STATE_FILE",
    "SandboxState",
    "ServiceRecord",
    "clear_state",
    "default_data_dir",
    "load_state",
    "locked",
    "prepare_data_dir",
    "resolve_data_dir",
    "save_state",
]

DATA_DIR_ENV = "FLOWODM_SANDBOX_DIR"
# Every sandbox process carries its data directory in this environment variable, so whatever
# a sandbox left behind can be found (over ``/proc/*/environ``) even without its state file.
OWNER_ENV = "FLOWODM_SANDBOX_OWNER"
STATE_FILE = "sandbox.json"
_LOCK_FILE = "sandbox.lock"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ServiceRecord:
    """One running sandbox process: which process, on which port, logging where."""

    process: ProcessRef
    port: int
    log: Path

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form stored in the state file."""
        return {
            "pid": self.process.pid,
            "start_time": self.process.start_time,
            "port": self.port,
            "log": str(self.log),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServiceRecord:
        """Parse the JSON form; raises ``KeyError``/``TypeError``/``ValueError`` if malformed."""
        return cls(
            ProcessRef(int(data["pid"]), str(data["start_time"])),
            int(data["port"]),
            Path(str(data["log"])),
        )


@dataclass(frozen=True)
class SandboxState:
    """What ``start()`` launched for one data directory."""

    broker: ServiceRecord
    registry: ServiceRecord
    storage: str = "memory"


def default_data_dir() -> Path:
    """Return ``$FLOWODM_SANDBOX_DIR``, else ``$XDG_STATE_HOME/flowodm/sandbox``.

    ``XDG_STATE_HOME`` defaults to ``~/.local/state`` (the XDG base directory specification).
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home).expanduser() / "flowodm" / "sandbox"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """Return ``data_dir`` as an absolute path, or the default data directory."""
    path = default_data_dir() if data_dir is None else Path(data_dir).expanduser()
    return path.absolute()


def prepare_data_dir(path: Path) -> None:
    """Create ``path`` if needed and prove it is writable.

    Raises:
        SandboxError: it cannot be created or written; says how to choose another one.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise SandboxError(
            f"sandbox data directory {path} is not writable ({exc.strerror or exc}); "
            f"choose another with --data-dir / data_dir= or ${DATA_DIR_ENV}"
        ) from exc


def load_state(path: Path) -> SandboxState | None:
    """Read ``path/sandbox.json``; ``None`` if there is none.

    Raises:
        SandboxError: the file exists but cannot be read or parsed.
    """
    state_file = path / STATE_FILE
    try:
        raw = state_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SandboxError(f"cannot read sandbox state {state_file}: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
        return SandboxState(
            broker=ServiceRecord.from_json(data["broker"]),
            registry=ServiceRecord.from_json(data["registry"]),
            storage=str(data.get("storage", "memory")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SandboxError(
            f"sandbox state {state_file} is damaged ({exc!r}); stop the broker and registry "
            f"it started by hand (list them with: grep -lzx '{OWNER_ENV}={path}' "
            "/proc/*/environ), then delete the file"
        ) from exc


def save_state(path: Path, state: SandboxState) -> None:
    """Write ``path/sandbox.json`` atomically (a reader never sees half a file).

    Raises:
        SandboxError: the file cannot be written (e.g. the disk is full).
    """
    data = {
        "format": _FORMAT_VERSION,
        "storage": state.storage,
        "broker": state.broker.to_json(),
        "registry": state.registry.to_json(),
    }
    tmp = path / f".{STATE_FILE}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path / STATE_FILE)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise SandboxError(
            f"cannot write sandbox state {path / STATE_FILE} ({exc.strerror or exc}); "
            f"free some space or choose another data directory with --data-dir / data_dir="
        ) from exc


def clear_state(path: Path) -> None:
    """Remove the state file, if any."""
    (path / STATE_FILE).unlink(missing_ok=True)


@contextlib.contextmanager
def locked(path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold the data directory's lock, so two ``start``/``stop`` calls never interleave.

    Raises:
        SandboxError: another process held the lock for ``timeout`` seconds.
    """
    try:
        handle = (path / _LOCK_FILE).open("a")
    except OSError as exc:
        raise SandboxError(
            f"cannot use sandbox data directory {path} ({exc.strerror or exc}); "
            f"choose another with --data-dir / data_dir= or ${DATA_DIR_ENV}"
        ) from exc
    with handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SandboxError(
                        f"another flowodm sandbox command has held {path / _LOCK_FILE} "
                        f"for {timeout:.0f} s; wait for it or check for a hung process"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
