"""A stalled ``df.flowodm.produce`` raises with the public ``ProduceReport``, bounded in size.

The broker is simulated by a TCP listener that accepts connections and never answers: the
client connects, sends its first request and waits forever, so nothing is ever acknowledged
and the stall watch (``stall_timeout``) must end the run. That is deterministic, needs no
signals, and leaves the shared sandbox alone (its registry still resolves the schema).
"""

from __future__ import annotations

import pickle
import socket
import threading
from collections.abc import Iterator

import pandas as pd
import pytest

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.exceptions import BulkDeliveryTimeoutError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.pandas import ProduceReport
from flowodm.sandbox import Sandbox
from tests.pandas.models import order_model

pytestmark = pytest.mark.integration

ROWS = 5000


class SilentBroker:
    """Accepts TCP connections, reads and discards what arrives, and never answers."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._connections: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-broker", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.1)
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._connections.append(connection)  # kept open, never read or written

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self._listener.close()
        for connection in self._connections:
            connection.close()


@pytest.fixture
def silent_connection(sandbox: Sandbox) -> Iterator[Connection]:
    """A connection whose bootstrap server never answers (the registry is the sandbox's)."""
    broker = SilentBroker()
    connection = Connection(
        build_config(
            bootstrap_servers=broker.address, schema_registry_url=sandbox.schema_registry_url
        )
    )
    try:
        yield connection
    finally:
        connection.close(1)
        broker.close()


def _orders(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": "c",
            "amount": 1.0,
            "quantity": 1,
            "created_at": pd.Timestamp("2024-05-01", tz="UTC"),
            "status": "NEW",
        },
        index=pd.RangeIndex(100, 100 + n),  # labels, not positions, name the rows
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("columnar", [True, False])
def test_a_stall_raises_with_the_public_report(
    silent_connection: Connection, columnar: bool
) -> None:
    frame = _orders(ROWS)
    model = order_model(f"stall-report-{columnar}")
    with pytest.raises(BulkDeliveryTimeoutError) as info:
        frame.flowodm.produce(
            model,
            connection=silent_connection,
            timeout=60,  # librdkafka alone would wait this long
            stall_timeout=1,
            chunk_size=1000,
            progress=False,
            columnar=columnar,
        )
    error = info.value
    report = error.result
    assert isinstance(report, ProduceReport), type(report)
    assert report.total == ROWS
    assert report.delivered == 0  # nothing can be acknowledged by a silent broker
    assert report.delivered + len(report.failed) + report.unconfirmed == ROWS
    assert sorted(report.failed_index) == list(frame.index)  # type: ignore[type-var]
    # Purged after the stall. Whether a row may be on the topic is the row's own verdict
    # (flowodm.kafka.errors.may_have_been_written); the frame says the same as the report.
    problems = report.to_frame()
    assert len(problems) == ROWS
    assert set(problems["status"]) <= {"failed", "failed, may have been written"}
    assert list(problems["status"]) == [f.status for f in report.failed]
    assert (problems["status"] == "failed, may have been written").sum() == report.maybe_written
    assert set(problems["type"]) == {"delivery"}
    assert "was acknowledged for" in str(error)
    assert f"{ROWS} row(s), 0 delivered" in str(error)  # the report's summary
    assert error.topic == model.flow_settings().topic
    # Bounded text whatever the number of rows (the bug: 600 KB for 5,000 rows).
    assert len(repr(report)) < 3000
    assert len(repr(error)) < 3000
    assert len(str(error)) < 3000
    # It still crosses processes with its report.
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy.result, ProduceReport)
    assert copy.result.failed_index == report.failed_index
