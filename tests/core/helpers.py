"""Small helpers shared by the core tests: free and dead addresses, waiting, poller threads."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def dead_address() -> str:
    """``127.0.0.1:port`` where nothing listens, so nothing sent there is ever delivered."""
    return f"127.0.0.1:{free_port()}"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def pollers() -> list[threading.Thread]:
    """The threads serving shared producers' delivery callbacks."""
    return [t for t in threading.enumerate() if t.name == "flowodm-poller"]
