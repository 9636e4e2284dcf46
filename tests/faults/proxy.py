"""A TCP fault proxy for the reliability suite: a broker (or a registry) behind a switchable fault.

The proxy listens on a free port of its own and forwards every connection to ``upstream_port``.
It runs an asyncio loop on a daemon thread it owns; its control methods are synchronous and
thread-safe (each waits until the loop has applied the change), so a test calls them directly
while a client is sending. Modes, switchable at any time:

- ``pass_through()``: forward both ways (the default). Connections that lost bytes in an earlier
  mode (blackhole, dropped replies, canned answers) are reset first: their streams are corrupt.
- ``cut()``: reset (RST) every live connection now; the mode stays as it was.
- ``refuse()``: reset every live connection and every new one as soon as it is accepted.
- ``blackhole()``: accept connections but never connect upstream; read and discard both ways.
- ``stall(seconds)``: hold every byte (both ways) for ``seconds``, then flush them in order and
  go on forwarding; streams stay intact, which models a partition that heals.
- ``drop_replies()``: forward client to upstream, discard upstream to client ("written but the
  acknowledgement was lost").
- ``latency(ms)``: delay each chunk by ``ms`` milliseconds in each direction, keeping order and
  without limiting bandwidth (each direction has its own writer task).
- ``answer(response)``: never connect upstream; answer every chunk a client sends with the
  canned ``response`` bytes (an HTTP 500 for the registry), then close that connection.

Why a proxy of our own: no fault tool is available here (see the fault-injection reference), and
a Kafka client learns broker addresses from metadata, so the broker behind this proxy must
advertise the proxy's address (``tests.faults.broker``) for every connection to pass through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from flowodm.sandbox.ports import HOST, free_port

__all__ = ["FaultProxy", "Mode"]

Mode = Literal["pass", "refuse", "blackhole", "stall", "drop_replies", "latency", "answer"]

T = TypeVar("T")

_CHUNK = 65536
_CONNECT_TIMEOUT = 5.0
_CONTROL_TIMEOUT = 10.0


def _reset(writer: asyncio.StreamWriter | None) -> None:
    """Close a connection with an RST (``SO_LINGER`` 0), as a crashed peer or a firewall does."""
    if writer is None or writer.transport.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client side, the upstream side and their pump tasks."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Bytes were discarded on this link (blackhole, dropped replies): its stream is corrupt.
    tainted: bool = False

    def reset(self) -> None:
        """Reset both sides and cancel the pumps."""
        _reset(self.client)
        _reset(self.upstream)
        for task in self.tasks:
            task.cancel()


class FaultProxy:
    """Forward ``HOST:port`` to ``HOST:upstream_port`` under a fault mode switchable at runtime.

    Args:
        upstream_port: The port of the real service (a broker, a registry).
        port: The port to listen on; a free one by default (read it from ``.port`` before
            ``start()`` to advertise it, e.g. as a broker's advertised listener).

    Use it as a context manager, or call ``start()`` and ``close()`` (in a ``finally``); ``close``
    resets every connection, stops listening and joins the loop thread.
    """

    def __init__(self, upstream_port: int, port: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.port = free_port() if port is None else port
        self.address = f"{HOST}:{self.port}"
        self.mode: Mode = "pass"
        self.connections_accepted = 0
        self._latency = 0.0
        self._answer = b""
        self._links: set[_Link] = set()
        self._flowing: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._resume_handle: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FaultProxy:
        """Start the loop thread and listen; return ``self``."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        ready.wait(_CONTROL_TIMEOUT)
        self._call(self._listen())
        return self

    def close(self) -> None:
        """Reset every connection, stop listening, stop the loop and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_CONTROL_TIMEOUT)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ modes

    def pass_through(self) -> None:
        """Forward both ways; reset connections whose streams lost bytes (they are corrupt)."""
        self._switch("pass", reset_tainted=True)

    def cut(self) -> None:
        """Reset every live connection now (new ones are handled by the current mode)."""
        self._switch(self.mode, reset_all=True)

    def refuse(self) -> None:
        """Reset every live connection, and every new one as soon as it is accepted."""
        self._switch("refuse", reset_all=True)

    def blackhole(self) -> None:
        """Accept but never forward: bytes are read and discarded both ways."""
        self._switch("blackhole")

    def stall(self, seconds: float) -> None:
        """Hold every byte for ``seconds``, then flush them in order and forward again."""
        self._switch("stall", stall_for=seconds)

    def drop_replies(self) -> None:
        """Forward client→upstream, discard upstream→client (requests land, answers vanish)."""
        self._switch("drop_replies")

    def latency(self, ms: float) -> None:
        """Delay each chunk by ``ms`` milliseconds each way (order kept, bandwidth not capped)."""
        self._latency = ms / 1000
        self._switch("latency")

    def answer(self, response: bytes) -> None:
        """Answer whatever a client sends with ``response`` and close; never connect upstream."""
        self._answer = response
        self._switch("answer", reset_all=True)

    @property
    def open_connections(self) -> int:
        """Connections currently proxied (for leak checks in teardown)."""
        return self._call(self._count())

    # ------------------------------------------------------------------ internals

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("the fault proxy is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(_CONTROL_TIMEOUT)

    def _switch(
        self,
        mode: Mode,
        *,
        reset_all: bool = False,
        reset_tainted: bool = False,
        stall_for: float | None = None,
    ) -> None:
        async def apply() -> None:
            flowing = self._flowing
            assert flowing is not None
            if self._resume_handle is not None:
                self._resume_handle.cancel()
                self._resume_handle = None
            self.mode = mode
            for link in list(self._links):
                if reset_all or (reset_tainted and link.tainted):
                    link.reset()
                    self._links.discard(link)
            if stall_for is None:
                flowing.set()
            else:
                flowing.clear()
                loop = asyncio.get_running_loop()
                self._resume_handle = loop.call_later(stall_for, self._resume)

        self._call(apply())

    def _resume(self) -> None:
        """End a stall: release the held bytes and forward from now on."""
        self._resume_handle = None
        self.mode = "pass"
        if self._flowing is not None:
            self._flowing.set()

    async def _count(self) -> int:
        return len(self._links)

    async def _listen(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, HOST, self.port, reuse_address=True)

    async def _shutdown(self) -> None:
        if self._resume_handle is not None:
            self._resume_handle.cancel()
        for link in list(self._links):
            link.reset()
        self._links.clear()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        link = _Link(client=writer)
        if self.mode == "refuse":
            link.reset()
            return
        self._links.add(link)
        try:
            if self.mode == "blackhole":
                link.tainted = True
                await self._discard(reader)
                return
            if self.mode == "answer":
                link.tainted = True
                await self._answer_each(reader, writer)
                return
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(HOST, self.upstream_port), _CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError):
                link.reset()
                return
            link.upstream = up_writer
            to_upstream = asyncio.create_task(self._pump(link, reader, up_writer, replies=False))
            to_client = asyncio.create_task(self._pump(link, up_reader, writer, replies=True))
            link.tasks = [to_upstream, to_client]
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            link.reset()
            self._links.discard(link)

    async def _discard(self, reader: asyncio.StreamReader) -> None:
        while await reader.read(_CHUNK):
            pass

    async def _answer_each(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if await reader.read(_CHUNK):
            writer.write(self._answer)
            with contextlib.suppress(OSError):
                await writer.drain()
            writer.close()

    async def _pump(
        self,
        link: _Link,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        replies: bool,
    ) -> None:
        """Copy one direction, applying the mode chunk by chunk; a writer task keeps order."""
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        sender = asyncio.create_task(self._deliver(queue, writer))
        try:
            while data := await reader.read(_CHUNK):
                mode = self.mode
                if mode == "blackhole" or (mode == "drop_replies" and replies):
                    link.tainted = True
                    continue
                delay = self._latency if mode == "latency" else 0.0
                queue.put_nowait((time.monotonic() + delay, data))
            queue.put_nowait(None)
            await sender
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            sender.cancel()

    async def _deliver(
        self, queue: asyncio.Queue[tuple[float, bytes] | None], writer: asyncio.StreamWriter
    ) -> None:
        flowing = self._flowing
        assert flowing is not None
        while (item := await queue.get()) is not None:
            due, data = item
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await flowing.wait()  # a stall holds the bytes here, in order
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()
