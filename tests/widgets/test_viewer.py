"""TopicViewer against the sandbox: exactly the newest N messages, and no group offsets moved."""

from __future__ import annotations

import sys
import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from flowodm.exceptions import InvalidArgumentError, MissingExtraError
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory
from flowodm.widgets import TopicViewer
from tests.widgets.models import NoteFields, note_model

pytestmark = pytest.mark.integration

BASE_MS = 1_700_000_000_000


def _produce(note_cls: type[NoteFields], start: int, count: int, conn: Connection) -> None:
    """Notes ``start``… with increasing timestamps, round-robin over 3 partitions."""
    for i in range(start, start + count):
        note_cls(note_id=f"n-{i:03d}", text=f"text {i}").produce(
            partition=i % 3, timestamp=BASE_MS + i * 1000, connection=conn
        )


def _committed(bootstrap: str, group: str, topic: str) -> list[tuple[int, int]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
        return [(tp.partition, tp.offset) for tp in found]
    finally:
        consumer.close()


def test_it_shows_exactly_the_newest_messages_and_moves_no_offsets(
    flowodm_connection: Connection, make_topic: TopicFactory, sandbox: Sandbox
) -> None:
    topic = make_topic(partitions=3)
    note_cls = note_model(topic)
    _produce(note_cls, 0, 40, flowodm_connection)
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": sandbox.bootstrap_servers, "group.id": group})
    consumer.commit(offsets=[TopicPartition(topic, p, 2 + p) for p in range(3)], asynchronous=False)
    consumer.close()
    before = _committed(sandbox.bootstrap_servers, group, topic)
    admin = AdminClient({"bootstrap.servers": sandbox.bootstrap_servers})
    groups_before = {g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid}

    viewer = TopicViewer(note_cls, n=10, connection=flowodm_connection)

    assert [row.key for row in viewer.rows] == [f"n-{i:03d}" for i in range(39, 29, -1)]
    assert [(row.partition, row.offset) for row in viewer.rows[:3]] == [(0, 13), (2, 12), (1, 12)]
    assert viewer.rows[0].fields == {"note_id": "n-039", "text": "text 39"}
    assert viewer.rows[0].timestamp is not None
    assert int(viewer.rows[0].timestamp.timestamp() * 1000) == BASE_MS + 39_000
    assert viewer.report is not None and viewer.report.failed == 0
    assert _committed(sandbox.bootstrap_servers, group, topic) == before == [(0, 2), (1, 3), (2, 4)]
    groups_after = {g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid}
    assert groups_after == groups_before  # the reads joined and created no group


def test_refresh_and_live_show_new_messages(
    flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    note_cls = note_model(make_topic(partitions=3))
    _produce(note_cls, 0, 5, flowodm_connection)
    viewer = TopicViewer(note_cls, n=20, connection=flowodm_connection, interval=0.2)
    view = viewer.widget
    controls, _error, table = view.children
    refresh, live, status = controls.children
    assert len(viewer.rows) == 5
    assert "last 5 of up to 20 message(s)" in status.value

    _produce(note_cls, 5, 3, flowodm_connection)
    refresh.click()
    assert [row.key for row in viewer.rows[:3]] == ["n-007", "n-006", "n-005"]
    assert "<td>n-007</td><td>n-007</td><td>text 7</td>" in table.value

    live.value = True  # the toggle: refreshes itself every interval
    assert viewer.live
    seen = viewer.refreshes
    _produce(note_cls, 8, 1, flowodm_connection)
    deadline = time.monotonic() + 30
    while (viewer.refreshes < seen + 2 or viewer.rows[0].key != "n-008") and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    live.value = False
    assert not viewer.live
    assert viewer.refreshes >= seen + 2
    assert viewer.rows[0].key == "n-008"
    assert "· live" not in status.value


def test_a_missing_topic_is_an_error_label_not_a_traceback(
    flowodm_connection: Connection,
) -> None:
    note_cls = note_model(f"missing-{uuid.uuid4().hex[:8]}")
    viewer = TopicViewer(note_cls, n=5, connection=flowodm_connection, refresh=False)
    # Tansu creates a topic on first use (metadata); a topic name it refuses cannot be read.
    viewer.topic = "bad topic name!"
    viewer.refresh()
    assert viewer.error.startswith("ConsumerError: ")
    assert viewer.rows == []
    assert "error: ConsumerError" in repr(viewer)


def test_text_fallback_and_bad_arguments(
    flowodm_connection: Connection, make_topic: TopicFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    note_cls = note_model(make_topic(partitions=3))
    _produce(note_cls, 0, 4, flowodm_connection)
    viewer = TopicViewer(note_cls, n=2, connection=flowodm_connection)

    lines = repr(viewer).splitlines()
    assert lines[1].split() == ["partition", "offset", "timestamp", "key", "note_id", "text"]
    assert lines[3].split()[:2] == ["0", "1"] and "n-003" in lines[3]
    assert "n-002" in lines[4] and len(lines) == 5
    with pytest.raises(MissingExtraError):
        _ = viewer.widget
    with pytest.raises(InvalidArgumentError, match="n must be a positive number"):
        TopicViewer(note_cls, n=0, connection=flowodm_connection)
