"""Model.produce_many against the sandbox: counts, failures by index, stalls, progress."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import KafkaError

from flowodm.exceptions import (
    BulkDeliveryTimeoutError,
    DeliveryTimeoutError,
    PartialDeliveryError,
    SerializationError,
)
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.produce.results import ProduceManyResult
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.core.helpers import dead_address

pytestmark = pytest.mark.integration


class NoteFields(FlowBaseModel):
    """The fields of ``note_model``'s models, so that they are typed."""

    note_id: str
    text: str


def note_model(topic_name: str) -> type[NoteFields]:
    class Note(NoteFields):
        class Settings:
            topic = topic_name
            key_field = "note_id"

    return Note


def test_every_model_is_delivered_with_its_key(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    note_cls = note_model(topic)
    notes = [note_cls(note_id=f"n-{i}", text="x" * (i % 50)) for i in range(5000)]

    result = note_cls.produce_many(notes, connection=conn)

    assert isinstance(result, ProduceManyResult)
    assert (result.topic, result.delivered, result.failed, result.total) == (topic, 5000, [], 5000)
    assert result.ok
    messages = consume_all(sandbox.bootstrap_servers, topic, 5000, linger=0.5)
    assert len(messages) == 5000
    decoded = {m.key(): note_cls.deserialize(m.value() or b"", connection=conn) for m in messages}
    assert decoded == {n.note_id.encode(): n for n in notes}


def test_empty_input_delivers_nothing(conn: Connection) -> None:
    note_cls = note_model(f"empty-{uuid.uuid4().hex}")
    assert note_cls.produce_many([], connection=conn).delivered == 0


def test_failing_subset_is_reported_by_index(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    topic = make_topic(partitions=2)
    note_cls = note_model(topic)
    too_large = {3, 250, 999}
    notes = [
        note_cls(note_id=f"n-{i}", text="x" * (5000 if i in too_large else 10)) for i in range(1000)
    ]
    settings = build_config(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={"message.max.bytes": 2000},
    )
    with Connection(settings) as connection:
        with pytest.raises(PartialDeliveryError, match="997 of 1000 messages delivered") as info:
            note_cls.produce_many(notes, connection=connection)
        result = note_cls.produce_many(
            notes[:10], raise_on_error=False, progress=RecordingBar, connection=connection
        )

    many = info.value.result
    assert isinstance(many, ProduceManyResult)
    assert many.delivered == 997
    assert [f.index for f in many.failed] == sorted(too_large)
    assert all(f.model is notes[f.index] for f in many.failed)
    assert {f.kafka_error.code() for f in many.failed} == {KafkaError.MSG_SIZE_TOO_LARGE}
    assert not any(f.maybe_written for f in many.failed)
    assert "#3: MSG_SIZE_TOO_LARGE" in str(info.value)
    assert (result.delivered, [f.index for f in result.failed]) == (9, [3])
    bar = RecordingBar.instances[-1]
    assert (bar.n, bar.postfix["failed"]) == (9, 1)
    keys = {m.key() for m in consume_all(sandbox.bootstrap_servers, topic, 997 + 9, linger=0.5)}
    assert keys == {f"n-{i}".encode() for i in range(1000) if i not in too_large}


def test_unserializable_model_stops_everything_before_sending(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    note_cls = note_model(topic)
    notes = [note_cls(note_id=f"n-{i}", text="ok") for i in range(10)]
    notes[7] = note_cls.model_construct(note_id="n-7", text=123)  # type: ignore[arg-type]

    with pytest.raises(SerializationError, match=r"models\[7\] cannot be serialized"):
        note_cls.produce_many(notes, connection=conn)

    assert consume_all(sandbox.bootstrap_servers, topic, 0, linger=1.0) == []


def test_a_model_of_another_class_is_refused_by_index(conn: Connection) -> None:
    note_cls = note_model(f"mixed-{uuid.uuid4().hex}")
    other_cls = note_model(f"other-{uuid.uuid4().hex}")
    mixed: list[Any] = [note_cls(note_id="a", text=""), other_cls(note_id="b", text="")]
    with pytest.raises(SerializationError, match=r"models\[1\]"):
        note_cls.produce_many(mixed, connection=conn)


def test_stall_raises_with_queued_messages_not_written(sandbox: Sandbox) -> None:
    note_cls = note_model(f"stall-{uuid.uuid4().hex}")
    notes = [note_cls(note_id=f"n-{i}", text="x") for i in range(100)]
    settings = build_config(
        bootstrap_servers=dead_address(), schema_registry_url=sandbox.schema_registry_url
    )
    with (
        Connection(settings) as connection,
        pytest.raises(BulkDeliveryTimeoutError, match="was acknowledged for") as info,
    ):
        note_cls.produce_many(notes, timeout=60, stall_timeout=1, connection=connection)

    assert isinstance(info.value, DeliveryTimeoutError)
    many = info.value.result
    assert isinstance(many, ProduceManyResult)
    assert many.delivered == 0
    assert [f.index for f in many.failed] == list(range(100))
    assert {f.kafka_error.code() for f in many.failed} == {KafkaError._PURGE_QUEUE}
    # No broker ever answered: no message got a partition, so none was ever sent.
    assert not any(f.maybe_written for f in many.failed)
    assert str(info.value).endswith(f"Outcome: {many.summary()}")  # the result's own counts
    assert "100 failed" in str(info.value) and "(not written)" in str(info.value)


def test_message_timeout_fails_every_message_as_not_written(sandbox: Sandbox) -> None:
    note_cls = note_model(f"timeout-{uuid.uuid4().hex}")
    notes = [note_cls(note_id=f"n-{i}", text="x") for i in range(20)]
    settings = build_config(
        bootstrap_servers=dead_address(), schema_registry_url=sandbox.schema_registry_url
    )
    with Connection(settings) as connection:
        result = note_cls.produce_many(
            notes, timeout=1, stall_timeout=30, raise_on_error=False, connection=connection
        )

    assert result.delivered == 0
    assert [f.index for f in result.failed] == list(range(20))
    assert {f.kafka_error.code() for f in result.failed} == {KafkaError._MSG_TIMED_OUT}
    # Timed out without a partition: the broker was never reached, nothing was sent.
    assert not any(f.maybe_written for f in result.failed)
    assert "(not written)" in result.summary()


class RecordingBar:
    """A tqdm stand-in recording what the progress tier asked of it (newest last)."""

    instances: list[RecordingBar] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.n = 0.0
        self.postfix: dict[str, Any] = {}
        self.closed = False
        RecordingBar.instances.append(self)

    def update(self, n: float | None = 1) -> bool | None:
        self.n += n or 0
        return None

    def set_postfix(self, ordered_dict: Any = None, refresh: bool | None = True, **kw: Any) -> None:
        self.postfix = kw

    def close(self) -> None:
        self.closed = True


def test_progress_counts_acknowledged_messages(conn: Connection, make_topic: TopicFactory) -> None:
    note_cls = note_model(make_topic())
    notes = [note_cls(note_id=f"n-{i}", text="x") for i in range(3000)]

    note_cls.produce_many(notes, progress=RecordingBar, connection=conn)

    bar = RecordingBar.instances[-1]
    assert bar.kwargs["total"] == 3000
    assert bar.n == 3000
    assert bar.closed
