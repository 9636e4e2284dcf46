"""Helpers for the sandbox tests: private sandboxes that are always stopped, process lookup."""

from __future__ import annotations

import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowodm.sandbox import Sandbox, start, stop
from flowodm.sandbox.state import OWNER_ENV


def sandbox_processes(data_dir: Path) -> list[int]:
    """Pids of live (non-zombie) processes that a sandbox in ``data_dir`` started.

    Every sandbox process (broker and registry, every attempt) carries ``data_dir`` in its
    environment, so this finds them whatever their command line says.
    """
    marker = f"{OWNER_ENV}={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def pid_alive(pid: int) -> bool:
    """Tell whether ``pid`` is a live process (a zombie awaiting its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def failing_program(directory: Path, message: str, code: int = 1) -> Path:
    """Write an executable that prints ``message`` to stderr and exits with ``code``."""
    script = directory / "fake-broker"
    script.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A sandbox data directory whose sandbox (if any) is stopped after the test."""
    path = tmp_path / "sandbox"
    yield path
    stop(path)
    assert sandbox_processes(path) == [], "a sandbox process outlived its test"


@pytest.fixture
def private_sandbox(data_dir: Path) -> Callable[..., Sandbox]:
    """Start a sandbox of this test's own, on free ports unless told (stopped by ``data_dir``)."""

    def factory(broker_port: int | None = 0, registry_port: int | None = 0) -> Sandbox:
        return start(broker_port=broker_port, registry_port=registry_port, data_dir=data_dir)

    return factory


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A port held by a listening socket of this test (i.e. "another program")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]
