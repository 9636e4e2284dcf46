"""DeliveryMonitor against the real sandbox: exact counts, error rows, throttled refreshes."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from confluent_kafka import KafkaError, Message

from flowodm.exceptions import MissingExtraError, PartialDeliveryError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.kafka.errors import describe_error, may_have_been_written
from flowodm.pandas.reports import DeliveryFailure, ProduceReport
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory
from flowodm.widgets import DeliveryMonitor
from flowodm.widgets.monitor import FAILED, MAYBE_WRITTEN
from tests.kafka.private_broker import PrivateBroker
from tests.widgets.models import note_model

pytestmark = pytest.mark.integration

OVERSIZED = {3, 250, 1999}


def _wait_for(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Poll ``condition()`` until true (a bound on a hang, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def small_messages(sandbox: Sandbox) -> Iterator[Connection]:
    """A connection whose producers refuse values over 2,000 bytes (MSG_SIZE_TOO_LARGE)."""
    settings = build_config(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={"message.max.bytes": 2000},
    )
    connection = Connection(settings)
    yield connection
    connection.close(10)


def test_produce_many_shows_exact_counts_and_each_failed_key(
    small_messages: Connection, make_topic: TopicFactory
) -> None:
    note_cls = note_model(make_topic(partitions=3))
    notes = [
        note_cls(note_id=f"n-{i}", text="x" * (5000 if i in OVERSIZED else 10)) for i in range(2000)
    ]
    monitor = DeliveryMonitor(title="notes")
    view = monitor.widget  # built first, so every refresh is pushed to it

    with pytest.raises(PartialDeliveryError) as info:
        note_cls.produce_many(notes, progress=monitor, connection=small_messages)
    during = monitor.snapshot()
    monitor.record(info.value)

    snap = monitor.snapshot()
    assert (during.delivered, during.failed, during.in_flight) == (1997, 3, 0)
    assert (snap.delivered, snap.failed, snap.in_flight) == (1997, 3, 0)  # not counted twice
    assert sorted(e.key for e in snap.errors) == sorted(f"n-{i}" for i in OVERSIZED)
    assert {e.status for e in snap.errors} == {FAILED}  # refused by the client: never written
    assert all(e.error.startswith("MSG_SIZE_TOO_LARGE") for e in snap.errors)
    counts, _row, errors = view.children
    assert "<th style='text-align:left;padding-right:6px'>delivered</th>" in counts.value
    assert "<td style='padding-right:14px'>1,997</td>" in counts.value
    assert "<td style='padding-right:14px'>3</td>" in counts.value
    assert "<td>n-250</td><td>failed</td><td>MSG_SIZE_TOO_LARGE" in errors.value
    assert "last 3 error(s)" in monitor.to_text()


def test_delivery_callbacks_from_the_poller_are_counted_and_refreshes_throttled(
    flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    note_cls = note_model(make_topic(partitions=3))
    monitor = DeliveryMonitor(total=20_000)
    view = monitor.widget
    threads: set[str] = set()

    def callback(err: KafkaError | None, msg: Message) -> None:
        threads.add(threading.current_thread().name)
        monitor(err, msg)

    for i in range(20_000):
        note_cls(note_id=f"n-{i}", text="hi").produce_nowait(
            callback=callback, connection=flowodm_connection
        )
    _wait_for(lambda: monitor.delivered == 20_000, "20,000 acknowledgements")
    refreshes = monitor.renders

    snap = monitor.snapshot()
    assert (snap.delivered, snap.failed, snap.in_flight) == (20_000, 0, 0)
    assert sum(snap.partitions.values()) == 20_000
    assert sorted(snap.partitions) == [0, 1, 2]
    assert threads == {"flowodm-poller"}  # the callbacks really came from the poller thread
    assert 1 <= refreshes < 50  # a handful of view refreshes, never one per message
    _wait_for(lambda: "20,000" in view.children[0].value, "the trailing refresh")
    assert "in flight</th><td style='padding-right:14px'>0<" in view.children[0].value


def test_a_report_lost_with_the_broker_is_listed_as_flowodm_classifies_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    broker = PrivateBroker(tmp_path)  # the shared sandbox broker must not be killed
    broker.start()
    try:
        broker.create_topic("lost-notes")
        settings = build_config(
            bootstrap_servers=broker.bootstrap,
            schema_registry_url=sandbox.schema_registry_url,
            producer_config={"message.timeout.ms": 1500},
        )
        note_cls = note_model("lost-notes")
        monitor = DeliveryMonitor()
        reports: list[tuple[KafkaError | None, Message]] = []

        def callback(err: KafkaError | None, msg: Message) -> None:
            reports.append((err, msg))
            monitor(err, msg)

        with Connection(settings) as connection:
            note_cls(note_id="kept", text="hi").produce(connection=connection)
            note_cls(note_id="sent-1", text="hi").produce_nowait(
                callback=monitor, connection=connection
            )
            _wait_for(lambda: monitor.delivered == 1, "the first acknowledgement")
            broker.kill()
            note_cls(note_id="lost-2", text="hi").produce_nowait(
                callback=callback, connection=connection
            )
            _wait_for(lambda: monitor.failed == 1, "the timed-out report")
            [error] = monitor.errors
    finally:
        broker.stop()

    [(err, msg)] = reports
    assert err is not None
    expected = MAYBE_WRITTEN if may_have_been_written(err, msg) else FAILED
    assert (monitor.delivered, monitor.failed) == (1, 1)
    assert (error.key, error.status, error.partition) == ("lost-2", expected, msg.partition())
    assert error.error == describe_error(err)
    assert f"lost-2  {expected}" in repr(monitor)


def test_a_failure_that_may_have_been_written_says_so() -> None:
    monitor = DeliveryMonitor()
    report = ProduceReport(
        model="Note",
        topic="notes",
        total=3,
        delivered=1,
        failed=(
            DeliveryFailure("r-1", "_MSG_TIMED_OUT: Local: Message timed out", True),
            DeliveryFailure("r-2", "_UNKNOWN_PARTITION: Local: Unknown partition", False),
        ),
    )
    monitor.record(report)

    assert [(e.key, e.status) for e in monitor.errors] == [
        ("row 'r-1'", MAYBE_WRITTEN),
        ("row 'r-2'", FAILED),
    ]
    assert (monitor.delivered, monitor.failed) == (1, 2)  # a run it did not watch: counted
    html = monitor.to_html()
    assert "<td>row &#x27;r-1&#x27;</td><td>failed, may have been written</td>" in html


def test_dataframe_produce_counts_invalid_rows_and_failures_once(
    small_messages: Connection, make_topic: TopicFactory
) -> None:
    note_cls = note_model(make_topic(partitions=2))
    frame = pd.DataFrame(
        {
            "note_id": [f"r-{i}" for i in range(500)],
            "text": ["y" * 5000 if i == 7 else "ok" for i in range(500)],
        }
    )
    frame.loc[[10, 20], "note_id"] = None  # two invalid rows
    monitor = DeliveryMonitor()

    try:
        report = frame.flowodm.produce(
            note_cls, on_invalid="report", progress=monitor, connection=small_messages
        )
    except PartialDeliveryError as exc:  # the accessor raises for undelivered rows by default
        report = exc.result
    monitor.record(report)

    snap = monitor.snapshot()
    assert (report.delivered, report.invalid, len(report.failed)) == (497, 2, 1)
    assert (snap.delivered, snap.invalid, snap.failed, snap.in_flight) == (497, 2, 1, 0)
    [error] = snap.errors
    assert error.key == "row 7"
    assert error.status == "failed"
    assert "invalid 2" in monitor.to_text()


def test_a_single_delivery_after_a_watched_run_is_counted_on_its_own(
    flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    note_cls = note_model(make_topic(partitions=3))
    monitor = DeliveryMonitor()
    notes = [note_cls(note_id=f"n-{i}", text="") for i in range(10)]
    monitor.record(note_cls.produce_many(notes, progress=monitor, connection=flowodm_connection))
    one = note_cls(note_id="one", text="").produce(partition=2, connection=flowodm_connection)

    monitor.record(one)

    snap = monitor.snapshot()
    assert (snap.delivered, snap.failed, snap.in_flight) == (11, 0, 0)
    assert snap.partitions == {2: 1}  # bulk sends report no partitions; the single one does


def test_progress_updates_from_many_threads_are_all_counted() -> None:
    monitor = DeliveryMonitor()
    bars = [monitor(total=10_000, desc=f"run {i}") for i in range(4)]

    def feed(bar: object) -> None:
        for _ in range(10_000):
            bar.update(1)  # type: ignore[attr-defined]

    workers = [threading.Thread(target=feed, args=(bar,)) for bar in bars]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert monitor.snapshot().in_flight == 0
    for bar in bars:
        bar.close()

    snap = monitor.snapshot()
    assert (snap.delivered, snap.failed, snap.in_flight) == (40_000, 0, 0)


def test_without_ipywidgets_the_monitor_counts_and_shows_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now fails
    monitor = DeliveryMonitor(total=3)
    bar = monitor(total=None, desc="x")
    bar.update(2)
    bar.set_postfix(failed=1, refresh=False)

    with pytest.raises(MissingExtraError, match=r"pip install 'flowodm\[notebook\]'"):
        _ = monitor.widget
    bundle = monitor._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"].startswith("Deliveries: delivered 2, failed 1, in flight 0, rate")
    assert "<td style='padding-right:14px'>2</td>" in bundle["text/html"]
    assert str(monitor) == repr(monitor) == bundle["text/plain"]


def test_calling_it_any_other_way_is_an_error() -> None:
    monitor = DeliveryMonitor()
    with pytest.raises(TypeError, match="delivery callback"):
        monitor(1)  # type: ignore[call-overload]
