"""The registry on the stdlib ``ThreadingHTTPServer``: one thread per connection, keep-alive.

:class:`RegistryServer` owns the store, the app and the listening socket; :func:`serve` starts one
in a background thread of this process (tests), the CLI runs one until SIGTERM/SIGINT.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from flowodm.sandbox.registry.app import CONTENT_TYPE, BasicAuth, RegistryApp
from flowodm.sandbox.registry.service import Registry
from flowodm.sandbox.registry.store import RegistryStore

MAX_BODY_BYTES = 16 * 1024 * 1024
# Idle keep-alive connections are closed after this many seconds.
IDLE_TIMEOUT_SECONDS = 30.0

access_logger = logging.getLogger("flowodm.sandbox.registry.access")


class _RequestHandler(BaseHTTPRequestHandler):
    """Adapts one HTTP exchange to :meth:`RegistryApp.handle` and writes the access log."""

    protocol_version = "HTTP/1.1"
    server_version = "flowodm-registry"
    timeout = IDLE_TIMEOUT_SECONDS
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms each.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._exchange()

    def do_POST(self) -> None:
        self._exchange()

    def do_PUT(self) -> None:
        self._exchange()

    def do_DELETE(self) -> None:
        self._exchange()

    def do_PATCH(self) -> None:
        self._exchange()

    def _exchange(self) -> None:
        started = time.perf_counter()
        if self.headers.get("Transfer-Encoding"):
            self._fail(411, "Chunked request bodies are not supported; send Content-Length")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._fail(400, "Content-Length must be an integer")
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self._fail(413, f"The request body must be 0..{MAX_BODY_BYTES} bytes")
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, response_headers, payload = self.server.app.handle(
            self.command, self.path, headers, body
        )
        self._write(status, response_headers, payload)
        access_logger.info(
            '%s "%s %s" %d %d %.1fms',
            self.client_address[0],
            self.command,
            self.path,
            status,
            len(payload),
            (time.perf_counter() - started) * 1000,
        )

    def _write(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _fail(self, status: int, message: str) -> None:
        """Answer a request the HTTP layer refuses, then close (its body was not read)."""
        self.close_connection = True
        payload = json.dumps({"error_code": status, "message": message}).encode()
        self._write(status, {"Content-Type": CONTENT_TYPE}, payload)
        access_logger.info('%s "%s %s" %d', self.client_address[0], self.command, self.path, status)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer protocol errors of ``http.server`` with a Confluent error body, not HTML."""
        self.close_connection = True
        # An unparsable request line leaves the HTTP/0.9 default, which would drop the headers.
        self.request_version = self.protocol_version
        text = message or self.responses.get(code, ("Error",))[0]
        payload = json.dumps({"error_code": code, "message": text}).encode()
        self._write(code, {"Content-Type": CONTENT_TYPE}, payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        access_logger.info("%s %s", self.client_address[0], format % args)


class _HTTPServer(ThreadingHTTPServer):
    """Tracks open connections so shutdown can close idle keep-alive ones and join threads."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], app: RegistryApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's reverse-DNS lookup (getfqdn), slow without a resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection so its handler thread stops waiting for requests."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


class RegistryServer:
    """A listening registry: store in ``data_dir``, HTTP on ``host:port``.

    Args:
        host: Interface to listen on.
        port: Port; 0 picks a free one (read it back from :attr:`port`).
        data_dir: Directory of ``registry.sqlite3``; created if missing. Required.
        basic_auth: ``USER:PASSWORD`` (or :class:`BasicAuth`) every request must carry.

    Raises:
        OSError: The port cannot be bound or the data directory cannot be created.
        sqlite3.Error: The database cannot be opened or written.
        ValueError: ``data_dir`` is missing or ``basic_auth`` is not ``USER:PASSWORD``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
        basic_auth: str | BasicAuth | None = None,
    ) -> None:
        if data_dir is None:
            raise ValueError("data_dir is required: the directory that holds registry.sqlite3")
        auth = BasicAuth.parse(basic_auth) if isinstance(basic_auth, str) else basic_auth
        self.store = RegistryStore(Path(data_dir))
        try:
            self._httpd = _HTTPServer((host, port), RegistryApp(Registry(self.store), auth))
        except BaseException:
            self.store.close()
            raise
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def app(self) -> RegistryApp:
        """The HTTP-independent application this server answers with."""
        return self._httpd.app

    @property
    def url(self) -> str:
        """Base URL of the registry, e.g. ``http://127.0.0.1:8081``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        return f"RegistryServer(url={self.url!r}, data_dir={str(self.store.path.parent)!r})"

    def start(self) -> RegistryServer:
        """Serve in a background thread and return ``self``."""
        if self._thread is not None:
            raise RuntimeError(f"{self!r} is already serving")
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"flowodm-registry:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop serving, close open connections, wait for handler threads, close the store."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            stopper = threading.Thread(target=self._httpd.shutdown, daemon=True)
            stopper.start()
            # serve_forever only notices the request when its select() returns; a throwaway
            # connection wakes it now instead of after the poll interval.
            while stopper.is_alive():
                with contextlib.suppress(OSError):
                    socket.create_connection(self._wake_address(), timeout=1).close()
                stopper.join(0.01)
            self._thread.join()
        self._httpd.close_connections()
        self._httpd.server_close()
        self.store.close()

    def _wake_address(self) -> tuple[str, int]:
        """Return an address that reaches the listening socket (wildcards mean loopback)."""
        if self.host in ("", "0.0.0.0"):
            return ("127.0.0.1", self.port)
        if self.host == "::":
            return ("::1", self.port)
        return (self.host, self.port)

    def __enter__(self) -> RegistryServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    basic_auth: str | BasicAuth | None = None,
) -> RegistryServer:
    """Start a registry in a background thread of this process.

    Args:
        host: Interface to listen on.
        port: Port; 0 picks a free one.
        data_dir: Directory of ``registry.sqlite3`` (required; created if missing).
        basic_auth: Optional ``USER:PASSWORD`` every request must carry.

    Returns:
        The running server; call :meth:`RegistryServer.shutdown` when done.

    Example:
        >>> import tempfile
        >>> server = serve(data_dir=tempfile.mkdtemp())
        >>> server.url.startswith("http://127.0.0.1:")
        True
        >>> server.shutdown()
    """
    return RegistryServer(host, port, data_dir, basic_auth).start()
