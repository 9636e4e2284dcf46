"""Local TCP ports: is one free, pick a free one, does something answer on one."""

from __future__ import annotations

import os
import socket
from collections.abc import Collection
from pathlib import Path

__all__ = ["HOST", "accepts_connections", "free_port", "listener_owned_by", "port_is_free"]

HOST = "127.0.0.1"


def port_is_free(port: int, host: str = HOST) -> bool:
    """Tell whether ``host:port`` can be bound now.

    ``SO_REUSEADDR`` is set as the broker (tokio) and the registry (asyncio) set it, so a port
    held only by connections in TIME_WAIT counts as free, exactly as it does for them.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST, *, exclude: Collection[int] = ()) -> int:
    """Return a port the system reports free now (not in ``exclude``)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in exclude:
            return port


def accepts_connections(port: int, host: str = HOST, timeout: float = 0.2) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def listener_owned_by(pid: int, port: int) -> bool | None:
    """Tell whether process ``pid`` holds the socket listening on TCP ``port``.

    This tells our freshly started service apart from another program that answers on the
    same port (the new process then dies with "address in use" a moment later). Linux only:
    returns ``None`` where ``/proc`` cannot tell.
    """
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # fields: sl, local "ADDR:PORT" (hex), remote, state (0A = LISTEN), ..., inode
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None if not Path("/proc/net/tcp").exists() else False
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
        except OSError:
            continue
    return False
