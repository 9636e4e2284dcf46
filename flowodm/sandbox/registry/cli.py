"""Command line: ``python -m flowodm.sandbox.registry --host H --port N --data-dir D``.

Prints exactly one line, ``flowodm-registry listening on http://HOST:PORT``, once the socket
listens (port 0 prints the port picked), logs one access line per request to stderr, and exits 0
on SIGTERM/SIGINT. The basic-auth secret may come from ``FLOWODM_REGISTRY_BASIC_AUTH`` so it need
not appear on the command line (``--basic-auth`` wins when both are given).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from flowodm.sandbox.registry.app import BasicAuth
from flowodm.sandbox.registry.server import RegistryServer

BASIC_AUTH_ENV = "FLOWODM_REGISTRY_BASIC_AUTH"
_PROG = "flowodm-registry"

logger = logging.getLogger("flowodm.sandbox.registry")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the registry's options to ``parser`` (shared with ``flowodm sandbox registry``)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument(
        "--port", type=int, default=8081, help="port to listen on; 0 picks a free one"
    )
    parser.add_argument(
        "--data-dir", required=True, help="directory for registry.sqlite3 (created if missing)"
    )
    parser.add_argument(
        "--basic-auth",
        metavar="USER:PASS",
        default=None,
        help=f"require HTTP basic auth; prefer the {BASIC_AUTH_ENV} environment variable, "
        "which keeps the password off the command line",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level; INFO includes one access line per request",
    )


def main(
    argv: Sequence[str] | None = None, prog: str = "python -m flowodm.sandbox.registry"
) -> int:
    """Run the registry until SIGTERM/SIGINT (call it from the main thread: it sets handlers).

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).
        prog: The command name that usage messages show.

    Returns:
        0 after a clean shutdown, 1 when the server cannot start (port in use, unusable data
        directory, malformed basic-auth value), 2 for bad command-line arguments (0 for --help).
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Local Confluent-compatible Schema Registry (SQLite-backed).",
    )
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2); argparse printed it already
        return exc.code if isinstance(exc.code, int) else 2
    # Configure only this package's logger, so an in-process caller's logging is left alone.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(args.log_level)
    try:
        return _run(args)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def _run(args: argparse.Namespace) -> int:
    """Start the server from parsed arguments and serve until a stop signal."""
    if not 0 <= args.port <= 65535:
        return _fail(f"--port must be between 0 and 65535, got {args.port}")
    secret = args.basic_auth if args.basic_auth is not None else os.environ.get(BASIC_AUTH_ENV)
    try:
        auth = BasicAuth.parse(secret) if secret else None
    except ValueError as exc:
        return _fail(f"invalid --basic-auth / {BASIC_AUTH_ENV}: {exc}")
    server = _start(args.host, args.port, args.data_dir, auth)
    if server is None:
        return 1
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        print(f"{_PROG} listening on {server.url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.shutdown()
    logger.info("%s stopped", _PROG)
    return 0


def _start(host: str, port: int, data_dir: str, auth: BasicAuth | None) -> RegistryServer | None:
    """Create the server, or print why it cannot start and return ``None``."""
    try:
        return RegistryServer(host, port, data_dir, auth)
    except sqlite3.Error as exc:
        _fail(f"cannot use data dir {data_dir!r}: database error: {exc}")
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            _fail(f"cannot listen on {host}:{port}: address already in use; pick another --port")
        elif exc.filename is not None or exc.errno in (errno.EACCES, errno.EROFS, errno.ENOTDIR):
            _fail(f"cannot use data dir {data_dir!r}: {exc.strerror or exc}")
        else:
            _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return None


def _fail(message: str) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr, flush=True)
    return 1
