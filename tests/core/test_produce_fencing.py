"""Tansu's PRODUCER_FENCED after a message timeout, reproduced through a stalling TCP proxy.

Tansu 0.6 answers every produce of an idempotent producer with ``PRODUCER_FENCED`` after one of
its messages timed out in flight (the client bumps its epoch; Tansu never accepts it). The bulk
sender must report the fenced messages and carry on with a fresh producer. The broker here is
our own Tansu whose advertised address is the proxy, so every connection passes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from flowodm.exceptions import DeliveryTimeoutError, ProducerError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.produce.bulk import BulkSender
from flowodm.sandbox.broker import resolve_broker_binary
from flowodm.testing import consume_all
from tests.core.helpers import free_port, wait_until

pytestmark = pytest.mark.integration


class StallProxy:
    """Forwards TCP to ``upstream``; while stalled it stops reading in both directions."""

    def __init__(self, port: int, upstream: int) -> None:
        self.upstream = upstream
        self.stalled = threading.Event()
        self._server = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self._sockets: list[socket.socket] = [self._server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:  # the broker is not listening yet: the client retries
                client.close()
                continue
            self._sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                self._wait_while_stalled()
                data = source.recv(65536)
                if not data:
                    break
                self._wait_while_stalled()
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _wait_while_stalled(self) -> None:
        while self.stalled.is_set():
            time.sleep(0.01)

    def close(self) -> None:
        self.stalled.clear()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def proxied_broker() -> Iterator[tuple[str, StallProxy]]:
    """A Tansu broker reachable only through a ``StallProxy``; yields (bootstrap, proxy)."""
    broker_port, proxy_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            resolve_broker_binary(),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{broker_port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{proxy_port}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = StallProxy(proxy_port, broker_port)
    try:
        bootstrap = f"127.0.0.1:{proxy_port}"
        wait_until(lambda: _create_topic(bootstrap), "the proxied broker to create a topic")
        yield bootstrap, proxy
    finally:
        proxy.close()
        process.kill()  # memory storage: nothing to shut down cleanly
        process.wait(10)


def _create_topic(bootstrap: str) -> bool:
    # The admin client is gone when this returns: alive when the broker is killed at the end,
    # it would write librdkafka's connection errors to stderr.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        admin.create_topics([NewTopic("fenced", 1, 1)])["fenced"].result(5)
    except Exception:
        return False
    return True


def test_bulk_sender_replaces_a_fenced_producer(proxied_broker: tuple[str, StallProxy]) -> None:
    bootstrap, proxy = proxied_broker
    with Connection(build_config(bootstrap_servers=bootstrap)) as connection:
        sender: BulkSender[str] = BulkSender(connection, "fenced", timeout=1.5, stall_timeout=30)
        sender.send(b"a", None, "a")
        wait_until(lambda: sender.poll(0.05) == 1, "'a' to be acknowledged")

        proxy.stalled.set()  # 'b' goes out but its acknowledgement never comes back
        sender.send(b"b", None, "b")
        wait_until(lambda: sender.poll(0.05) == 1 and len(sender.failed) == 1, "'b' to time out")
        proxy.stalled.clear()
        first_producer = sender.producer

        sender.send(b"c", None, "c")  # Tansu fences the bumped epoch
        wait_until(lambda: sender.poll(0.05) == 1 and len(sender.failed) == 2, "'c' to fail")
        sender.send(b"d", None, "d")  # a fresh producer delivers again
        result = sender.close()

    assert sender.producer is None and first_producer is not None
    assert [(f.ref, f.kafka_error.code(), f.maybe_written) for f in result.failed] == [
        ("b", KafkaError._MSG_TIMED_OUT, True),
        ("c", KafkaError.PRODUCER_FENCED, True),
    ]
    assert result.delivered == 2
    # 'b' may have been written after all (the proxy forwarded it late); 'c' was refused.
    on_topic = {m.value() for m in consume_all(bootstrap, "fenced", 2, linger=0.5)}
    assert {b"a", b"d"} <= on_topic <= {b"a", b"b", b"d"}


def test_produce_reports_fencing_as_a_producer_error(
    proxied_broker: tuple[str, StallProxy],
) -> None:
    bootstrap, proxy = proxied_broker

    class Ping(FlowBaseModel):
        class Settings:
            topic = "fenced"

        n: int

    settings = build_config(
        bootstrap_servers=bootstrap, producer_config={"message.timeout.ms": 1500}
    )
    with Connection(settings) as connection:
        Ping(n=1).produce(connection=connection)
        fenced_producer = connection.producer
        proxy.stalled.set()
        with pytest.raises(ProducerError) as timed_out:
            Ping(n=2).produce(connection=connection)
        proxy.stalled.clear()
        with pytest.raises(ProducerError) as fenced:
            Ping(n=3).produce(connection=connection)
        # The next produce gets a fresh shared producer, which Tansu accepts.
        recovered = Ping(n=4).produce(connection=connection)
        assert connection.producer is not fenced_producer
        messages = consume_all(bootstrap, "fenced", 2, linger=0.5)
        on_topic = [Ping.deserialize(m.value() or b"", connection=connection).n for m in messages]

    assert timed_out.value.kafka_error is not None and fenced.value.kafka_error is not None
    assert timed_out.value.kafka_error.code() == KafkaError._MSG_TIMED_OUT
    assert fenced.value.kafka_error.code() == KafkaError.PRODUCER_FENCED
    assert "may have been written" in str(fenced.value)
    assert recovered.topic == "fenced"
    # 2 timed out but may have been written late; 3 was refused.
    assert on_topic in ([1, 4], [1, 2, 4])


@pytest.mark.timeout(60)  # hang guard: a stalled broker must not block produce()
def test_a_stalled_broker_makes_produce_raise_within_its_timeout(
    proxied_broker: tuple[str, StallProxy],
) -> None:
    bootstrap, proxy = proxied_broker

    class Tick(FlowBaseModel):
        class Settings:
            topic = "fenced"

        n: int

    # librdkafka's own message.timeout.ms (30 s by default) is far longer than timeout=1.
    with Connection(build_config(bootstrap_servers=bootstrap)) as connection:
        Tick(n=1).produce(connection=connection)
        proxy.stalled.set()
        with pytest.raises(DeliveryTimeoutError, match="within 1 s") as blocking:
            Tick(n=2).produce(timeout=1, connection=connection)
        with pytest.raises(DeliveryTimeoutError, match="within 1 s"):
            asyncio.run(Tick(n=3).aproduce(timeout=1, connection=connection))
        Tick(n=4).produce_nowait(connection=connection)  # returns without waiting
        assert len(connection.producer) >= 3  # nothing was acknowledged meanwhile
        proxy.stalled.clear()
        left = connection.producer.flush(20)

    assert blocking.value.kafka_error is not None
    assert blocking.value.kafka_error.code() == KafkaError._MSG_TIMED_OUT
    assert left == 0  # the healed connection delivers what waited
    values = sorted(
        Tick.deserialize(m.value() or b"", connection=connection).n
        for m in consume_all(bootstrap, "fenced", 4, linger=0.5)
    )
    assert values == [1, 2, 3, 4]
