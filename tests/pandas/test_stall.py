"""A broker that stops answering mid-run ends the run with an error, never a 5-minute hang."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.exceptions import BulkDeliveryTimeoutError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.pandas import ProduceRun
from flowodm.sandbox import Sandbox, start, stop
from tests.pandas.bars import RecordingBar
from tests.pandas.models import order_model

pytestmark = pytest.mark.integration


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A private broker and registry, so freezing the broker disturbs no other test."""
    sandbox = start(broker_port=0, registry_port=0, data_dir=tmp_path / "sandbox")
    assert sandbox.broker_pid is not None
    try:
        yield sandbox
    finally:
        os.kill(sandbox.broker_pid, signal.SIGCONT)  # thaw it so it can be stopped
        stop(tmp_path / "sandbox")


def _orders(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": ["c"] * n,
            "amount": rng.random(n),
            "quantity": rng.integers(1, 9, n),
            "created_at": pd.Timestamp("2024-05-01", tz="UTC"),
            "status": "NEW",
        }
    )


def _connection(sandbox: Sandbox) -> Connection:
    return Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=sandbox.schema_registry_url,
        )
    )


@pytest.mark.timeout(60)
def test_a_frozen_broker_gives_a_bounded_error_with_every_row_accounted(
    own_sandbox: Sandbox,
) -> None:
    connection = _connection(own_sandbox)
    frame = _orders(6000)
    broker = own_sandbox.broker_pid
    assert broker is not None
    model = order_model("stalled-orders")
    options: dict[str, Any] = {"connection": connection, "chunk_size": 1000, "progress": False}
    before = frame.iloc[:2000].flowodm.produce(model, **options)
    assert before.delivered == 2000  # the broker works before it is frozen

    run = ProduceRun(
        model,
        timeout=30,  # librdkafka alone would wait this long (its default is 5 minutes)
        stall_timeout=2,
        **options,
    )
    os.kill(broker, signal.SIGSTOP)  # connections stay open; nothing is answered any more
    try:
        run.send(frame.iloc[2000:])
        with pytest.raises(BulkDeliveryTimeoutError) as info:
            run.finish()
    finally:
        connection.close(1)

    # Raised by the stall watch: librdkafka alone would have returned after 30 s with every
    # row timed out, and finish() would not have raised.
    assert "was acknowledged for" in str(info.value)
    assert "4000 row(s)" in str(info.value)  # the message carries the report's summary
    report = run.report
    assert report is not None
    assert report.total == 4000
    assert report.delivered + len(report.failed) + report.unconfirmed == 4000
    assert report.failed, "the frozen broker acknowledged everything?"
    # Purged (from the queue or in flight) or timed out: the frozen broker may have stored it,
    # unless the row never got a partition (the run's fresh producer never got the topic's
    # metadata from the frozen broker), which proves it was never sent: "not written".
    for f in report.failed:
        assert f.status == ("failed, may have been written" if f.maybe_written else "failed"), f
    failed = set(report.failed_index)
    assert len(failed) == len(report.failed)
    assert failed <= set(frame.index[2000:])
    assert f"{len(report.failed)} failed" in report.summary()


@pytest.mark.timeout(60)
def test_timed_out_rows_are_failed_may_have_been_written(own_sandbox: Sandbox) -> None:
    connection = _connection(own_sandbox)
    frame = _orders(300)
    broker = own_sandbox.broker_pid
    assert broker is not None
    model = order_model("timed-out-orders")
    before = frame.iloc[:100].flowodm.produce(model, connection=connection, progress=False)
    assert before.delivered == 100
    os.kill(broker, signal.SIGSTOP)
    try:
        report = frame.iloc[100:].flowodm.produce(
            model,
            connection=connection,
            timeout=1,  # message.timeout.ms: each row gets a report after one second
            stall_timeout=20,
            progress=RecordingBar,
            raise_on_error=False,  # return the report of the failed rows instead of raising
        )  # no stall: every row got its (failure) report in time
    finally:
        connection.close(1)

    assert report.delivered == 0
    assert sorted(report.failed_index) == list(range(100, 300))
    assert {f.error.split(":")[0] for f in report.failed} == {"_MSG_TIMED_OUT"}
    # timeout=1 takes a fresh producer, which never got the topic's partitions from the frozen
    # broker: no row was ever sent, so each is "failed" and not written.
    assert not any(f.maybe_written for f in report.failed)
    statuses = report.to_frame().set_index("index")["status"]
    assert set(statuses) == {"failed"}
    assert report.unconfirmed == 0
    assert report.maybe_written == 0
    assert "200 failed" in report.summary()
    # The bar counts acknowledged rows only, and ends showing the failures.
    (bar,) = RecordingBar.instances
    assert bar.n == 0
    assert bar.postfixes[-1] == {"invalid": 0, "failed": 200}
    assert bar.closed
