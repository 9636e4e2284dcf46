"""A broker killed (SIGKILL) in the middle of a large bulk send (issue 13, defect 3).

Before the fix, a timed-out message counted as progress for the stall watch: with many more
rows than the client's queue holds, every ``message.timeout.ms`` freed the queue for the next
batch, so the send fed a dead broker batch after batch (a 3M-row frame surfaced after 73 s,
216 s measured later, against the documented ``stall_timeout``). The error's counts also came
from the sender and disagreed with the report it carried (rows of the cut chunk missing).

Here the send has several queues' worth of rows, the broker is killed at the first acknowledged
chunk, and the error must come within ``stall_timeout`` (plus scheduling slack) of the kill,
with a message whose outcome is the carried report's own summary.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.exceptions import BulkDeliveryTimeoutError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.pandas.options import RunProgress
from flowodm.pandas.reports import ProduceReport
from flowodm.produce.results import ProduceManyResult
from tests.kafka.private_broker import PrivateBroker, running_broker

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(90)]

STALL = 2.0  # stall_timeout and timeout (message.timeout.ms) of the sends
QUEUE = 5_000  # queue.buffering.max.messages: ROWS are many queues' worth
ROWS = 60_000
# The stall watch looks at least every few hundred ms; a loaded 2-core machine adds more.
SLACK = 3.0


class Tick(FlowBaseModel):
    """A message without a registry (the private broker has none)."""

    class Settings:
        topic = "broker-kill"
        confluent_wire_format = False

    n: int
    note: str


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    with running_broker(tmp_path) as private:
        yield private


@pytest.fixture
def connection(broker: PrivateBroker) -> Iterator[Connection]:
    conn = Connection(
        build_config(
            bootstrap_servers=broker.bootstrap,
            producer_config={"queue.buffering.max.messages": QUEUE},
        )
    )
    try:
        yield conn
    finally:
        conn.close(0)


def _topic(broker: PrivateBroker) -> str:
    name = f"kill-{uuid.uuid4().hex[:12]}"
    broker.create_topic(name, partitions=2)
    return name


def test_a_dataframe_send_stops_within_stall_timeout_of_the_kill(
    broker: PrivateBroker, connection: Connection
) -> None:
    topic = _topic(broker)
    frame = pd.DataFrame({"n": range(ROWS), "note": ["x" * 30] * ROWS})
    killed: list[float] = []

    def kill_on_first_ack(progress: RunProgress) -> None:
        if progress.delivered and not killed:
            broker.kill()
            killed.append(time.monotonic())

    with pytest.raises(BulkDeliveryTimeoutError) as raised:
        frame.flowodm.produce(
            Tick,
            connection=connection,
            topic=topic,
            timeout=STALL,
            stall_timeout=STALL,
            chunk_size=1_000,
            on_invalid="report",
            callback=kill_on_first_ack,
            progress=False,
        )
    surfaced = time.monotonic() - killed[0]

    assert surfaced <= STALL + SLACK, f"the kill surfaced after {surfaced:.1f} s"
    report = raised.value.result
    assert isinstance(report, ProduceReport)
    assert report.total < ROWS  # it stopped instead of feeding the dead broker every row
    assert report.delivered + report.invalid + len(report.failed) + report.unconfirmed == (
        report.total
    )
    message = str(raised.value)
    assert message.endswith(f"Outcome: {report.summary()}")  # one set of counts, the report's
    assert raised.value.reason in message and "Outcome" not in raised.value.reason


def test_produce_many_stops_within_stall_timeout_of_the_kill(
    broker: PrivateBroker, connection: Connection
) -> None:
    topic = _topic(broker)
    first = Tick.produce_many(
        [Tick(n=0, note="before")], connection=connection, topic=topic, timeout=STALL
    )
    assert first.delivered == 1
    broker.kill()
    killed = time.monotonic()

    with pytest.raises(BulkDeliveryTimeoutError) as raised:
        Tick.produce_many(
            [Tick(n=n, note="x" * 30) for n in range(ROWS)],
            connection=connection,
            topic=topic,
            timeout=STALL,
            stall_timeout=STALL,
        )
    surfaced = time.monotonic() - killed

    assert surfaced <= STALL + SLACK, f"the kill surfaced after {surfaced:.1f} s"
    result = raised.value.result
    assert isinstance(result, ProduceManyResult)
    assert str(raised.value).endswith(f"Outcome: {result.summary()}")
