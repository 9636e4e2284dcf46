"""``read_topic`` and ``read_messages`` against the sandbox broker: what is read, order, dtypes.

Every test has its own topic. Order models produced by ``produce_many`` go out in large record
batches, which is exactly when Tansu's ListOffsets under-reports the end of a partition: the
tests that count messages therefore also prove the end check of ``TopicReader``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd
import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from pydantic import Field
from tqdm.std import tqdm

from flowodm.consume.read_report import ReadReport, TopicReadError
from flowodm.consume.reading import read_messages
from flowodm.exceptions import ArgumentTypeError, InvalidArgumentError
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.pandas.read import REPORT_ATTR, read_topic
from flowodm.sandbox import Sandbox
from flowodm.schema import Float32, Int32, TimestampMicros
from flowodm.testing import TopicFactory
from tests.consume.models import OrderFields, Status, order_model, orders
from tests.schema.zoo import Cat, Dog, Everything, everything

pytestmark = pytest.mark.integration


def report_of(frame: pd.DataFrame) -> ReadReport:
    report = frame.attrs[REPORT_ATTR]
    assert isinstance(report, ReadReport)
    return report


def topic_of(model: type[FlowBaseModel]) -> str:
    topic = model.flow_settings().topic
    assert topic is not None
    return topic


def raw_producer(sandbox: Sandbox) -> Producer:
    return Producer({"bootstrap.servers": sandbox.bootstrap_servers, "linger.ms": 5})


def hook_bar(hook: Callable[[], None], seen: list[tqdm[Any]]) -> type[tqdm[Any]]:
    """A tqdm class that runs ``hook`` when the reader opens it (after the end offsets)."""

    class HookBar(tqdm):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["file"] = io.StringIO()
            super().__init__(*args, **kwargs)
            seen.append(self)
            hook()

    return HookBar


def sent_topic(
    conn: Connection, make_topic: TopicFactory, count: int, partitions: int = 3
) -> tuple[type[OrderFields], list[OrderFields]]:
    topic = make_topic(partitions=partitions)
    model = order_model(topic)
    sent = orders(model, count)
    assert model.produce_many(sent, connection=conn).delivered == count
    return model, sent


# ------------------------------------------------------------------ what is read, in which order


def test_reads_every_message_present_in_partition_then_offset_order(
    conn: Connection, make_topic: TopicFactory
) -> None:
    model, sent = sent_topic(conn, make_topic, 3000)

    frame = read_topic(model, connection=conn, metadata=True, progress=False)

    assert len(frame) == 3000
    assert sorted(frame["order_id"]) == sorted(o.order_id for o in sent)
    coordinates = list(zip(frame["_partition"], frame["_offset"], strict=True))
    assert coordinates == sorted(coordinates)
    report = report_of(frame)
    assert report.ok and report.complete and report.read == report.returned == 3000
    for part in report.partitions:  # each partition from 0 to its end, without a gap
        offsets = frame.loc[frame["_partition"] == part.partition, "_offset"].tolist()
        assert offsets == list(range(part.end or 0))
        assert part.complete
    assert [p.partition for p in report.partitions] == [0, 1, 2]
    assert sum(p.end or 0 for p in report.partitions) == 3000


def test_the_model_and_package_entry_points_read_the_same(
    conn: Connection, make_topic: TopicFactory
) -> None:
    import flowodm

    model, sent = sent_topic(conn, make_topic, 40, partitions=2)

    frame = model.consume_dataframe(connection=conn, metadata=["_offset"], progress=False)
    assert flowodm.read_topic is read_topic
    pd.testing.assert_frame_equal(
        frame, flowodm.read_topic(model, connection=conn, metadata=["_offset"], progress=False)
    )
    result = model.read_messages(connection=conn, max_messages=5)
    assert isinstance(result, flowodm.ReadResult) and len(result) == 5
    assert [m.value for m in result] == result.values
    assert sorted(frame["order_id"]) == sorted(o.order_id for o in sent)


def test_messages_produced_after_the_read_started_are_not_returned(
    conn: Connection, make_topic: TopicFactory, sandbox: Sandbox
) -> None:
    model, sent = sent_topic(conn, make_topic, 600)
    later = orders(model, 50, start=600)
    bars: list[tqdm[Any]] = []

    def produce_more() -> None:  # runs once the end offsets are taken, before any read
        assert model.produce_many(later, connection=conn).delivered == 50

    frame = read_topic(model, connection=conn, progress=hook_bar(produce_more, bars))

    assert sorted(frame["order_id"]) == sorted(o.order_id for o in sent)
    assert bars[0].total == 600 and bars[0].n == 600  # the bar's total: messages to read
    assert len(read_topic(model, connection=conn, progress=False)) == 650


def test_read_messages_hands_out_consumed_messages_in_order(
    conn: Connection, make_topic: TopicFactory
) -> None:
    model, sent = sent_topic(conn, make_topic, 500)

    result = read_messages(model, connection=conn)

    assert len(result) == 500 and result.report.ok
    assert [(m.partition, m.offset) for m in result] == sorted(
        (m.partition, m.offset) for m in result
    )
    assert sorted(result.values, key=lambda o: o.quantity) == sent
    assert all(m.key == m.value.order_id for m in result if m.value is not None)


# ------------------------------------------------------------------ where a read starts and stops


def test_start_latest_follows_new_messages_only(conn: Connection, make_topic: TopicFactory) -> None:
    model, _ = sent_topic(conn, make_topic, 300)
    new = orders(model, 5, start=300)

    def produce_new() -> None:
        model.produce_many(new, connection=conn)

    frame = read_topic(
        model,
        connection=conn,
        start="latest",
        follow=True,
        max_messages=5,
        timeout=30,
        progress=hook_bar(produce_new, []),
    )

    assert sorted(frame["order_id"]) == sorted(o.order_id for o in new)
    assert report_of(frame).stopped == "max_messages"
    with pytest.raises(InvalidArgumentError, match="follow=True") as info:
        read_topic(model, connection=conn, start="latest")
    assert info.value.argument == "start"


def test_start_at_a_datetime_reads_from_the_first_message_at_or_after_it(
    conn: Connection, make_topic: TopicFactory
) -> None:
    model, _ = sent_topic(conn, make_topic, 200, partitions=2)
    time.sleep(0.05)
    since = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    later = orders(model, 30, start=200)
    model.produce_many(later, connection=conn)

    frame = read_topic(model, connection=conn, start=since, progress=False)
    naive = read_topic(model, connection=conn, start=since.replace(tzinfo=None), progress=False)
    after_all = read_topic(
        model, connection=conn, start=since + dt.timedelta(hours=1), progress=False
    )

    assert sorted(frame["order_id"]) == sorted(o.order_id for o in later)
    assert naive["order_id"].tolist() == frame["order_id"].tolist()  # naive means UTC
    assert len(after_all) == 0 and after_all.dtypes.equals(frame.dtypes)


def test_start_at_explicit_offsets_reads_only_those_partitions(
    conn: Connection, make_topic: TopicFactory
) -> None:
    model, _ = sent_topic(conn, make_topic, 300)
    everything_read = read_topic(model, connection=conn, metadata=True, progress=False)
    end_1 = int((everything_read["_partition"] == 1).sum())

    frame = read_topic(model, connection=conn, start={1: 5}, metadata=True, progress=False)

    assert set(frame["_partition"]) == {1}
    assert frame["_offset"].tolist() == list(range(5, end_1))
    with pytest.raises(InvalidArgumentError, match=r"partition\(s\) \[7\].*\[0, 1, 2\]"):
        read_topic(model, connection=conn, start={7: 0})
    with pytest.raises(InvalidArgumentError, match="negative"):
        read_topic(model, connection=conn, start={0: -1})
    with pytest.raises(ArgumentTypeError, match="start"):
        read_topic(model, connection=conn, start=3)  # type: ignore[arg-type]


def test_max_messages_returns_the_first_messages_in_order(
    conn: Connection, make_topic: TopicFactory
) -> None:
    model, _ = sent_topic(conn, make_topic, 900)
    full = read_topic(model, connection=conn, metadata=True, progress=False)
    first_partition = int((full["_partition"] == 0).sum())
    wanted = first_partition + 10  # all of partition 0, then the start of partition 1

    frame = read_topic(model, connection=conn, max_messages=wanted, metadata=True, progress=False)

    pd.testing.assert_frame_equal(frame, full.head(wanted), check_like=False)
    report = report_of(frame)
    assert report.stopped == "max_messages" and not report.complete
    assert [(p.partition, p.next) for p in report.partitions][:2] == [(0, first_partition), (1, 10)]


def test_timeout_ends_a_followed_read_with_what_arrived(
    conn: Connection, make_topic: TopicFactory
) -> None:
    model, _ = sent_topic(conn, make_topic, 20)
    began = time.monotonic()

    frame = read_topic(model, connection=conn, follow=True, timeout=1.5, progress=False)

    assert 1.4 < time.monotonic() - began < 6
    assert len(frame) == 20
    assert report_of(frame).stopped == "timeout"


def test_bad_arguments_are_named(conn: Connection, make_topic: TopicFactory) -> None:
    model = order_model(make_topic())
    with pytest.raises(InvalidArgumentError, match="max_messages or timeout") as info:
        read_topic(model, connection=conn, follow=True)
    assert info.value.argument == "follow"
    with pytest.raises(InvalidArgumentError, match="on_error"):
        read_topic(model, connection=conn, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="did you mean '_offset'"):
        read_topic(model, connection=conn, metadata=["_ofset"])
    with pytest.raises(ArgumentTypeError, match="FlowBaseModel"):
        read_topic(dict, connection=conn)  # type: ignore[type-var]
    with pytest.raises(InvalidArgumentError, match="max_messages"):
        read_topic(model, connection=conn, max_messages=0)


# ------------------------------------------------------------------ columns and dtypes


class Level(str, Enum):  # noqa: UP042 - the spelling most users write
    LOW = "low"
    HIGH = "high"
    MID = "mid"  # declared last: categories keep the declared order


class Scalars(FlowBaseModel):
    """Every scalar type, required and optional: the columnar path."""

    text: str
    count: int
    small: Int32
    ratio: float
    single: Float32
    flag: bool
    at: dt.datetime
    at_micros: TimestampMicros
    level: Level
    amount: Decimal = Field(max_digits=9, decimal_places=2)
    day: dt.date
    clock: dt.time
    ident: UUID
    blob: bytes
    text_or_none: str | None = None
    count_or_none: int | None = None
    ratio_or_none: float | None = None
    flag_or_none: bool | None = None
    at_or_none: dt.datetime | None = None
    level_or_none: Level | None = None


def scalars(model: type[Scalars], index: int, *, empty: bool = False) -> Scalars:
    optional: dict[str, Any] = {}
    if not empty:
        optional = {
            "text_or_none": f"t{index}",
            "count_or_none": -index,
            "ratio_or_none": float("nan"),
            "flag_or_none": False,
            "at_or_none": dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            "level_or_none": Level.MID,
        }
    return model(
        text=f"héllo {index}",
        count=2**40 + index,
        small=-7,
        ratio=0.1 * index,
        single=1.5,
        flag=bool(index % 2),
        at=dt.datetime(2024, 2, 29, 12, 30, 15, 123000, tzinfo=dt.UTC),
        at_micros=dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        level=Level.HIGH,
        amount=Decimal("-1234567.25"),
        day=dt.date(1960, 1, 2),
        clock=dt.time(23, 59, 59, 999000),
        ident=UUID(int=index),
        blob=b"\x00\xff",
        **optional,
    )


SCALAR_DTYPES = {
    "text": "string",
    "count": "int64",
    "small": "int64",
    "ratio": "float64",
    "single": "float64",
    "flag": "bool",
    "at": "datetime64[us, UTC]",
    "at_micros": "datetime64[us, UTC]",
    "level": "category",
    "amount": "object",
    "day": "object",
    "clock": "object",
    "ident": "object",
    "blob": "object",
    "text_or_none": "string",
    "count_or_none": "Int64",
    "ratio_or_none": "Float64",
    "flag_or_none": "boolean",
    "at_or_none": "datetime64[us, UTC]",
    "level_or_none": "category",
}


def scalars_model(topic_name: str) -> type[Scalars]:
    class Scalar(Scalars):
        class Settings:
            topic = topic_name

    return Scalar


@pytest.mark.parametrize("columnar", [True, False], ids=["columnar", "model"])
def test_scalar_columns_have_the_documented_dtypes(
    conn: Connection, make_topic: TopicFactory, columnar: bool
) -> None:
    model = scalars_model(make_topic(partitions=1))
    model.produce_many([scalars(model, 1), scalars(model, 2, empty=True)], connection=conn)

    frame = read_topic(model, connection=conn, columnar=columnar, progress=False)

    assert {c: str(t) for c, t in frame.dtypes.items()} == SCALAR_DTYPES
    assert report_of(frame).columnar == (2 if columnar else 0)
    assert list(frame["level"].cat.categories) == ["low", "high", "mid"]
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["count"] == 2**40 + 1 and first["text"] == "héllo 1"
    assert first["at"] == pd.Timestamp("2024-02-29 12:30:15.123", tz="UTC")
    assert first["at_micros"] == pd.Timestamp("9999-12-31 23:59:59.999999", tz="UTC")
    assert first["at_or_none"] == pd.Timestamp("0001-01-01", tz="UTC")
    assert first["amount"] == Decimal("-1234567.25") and first["ident"] == UUID(int=1)
    assert first["day"] == dt.date(1960, 1, 2) and first["blob"] == b"\x00\xff"
    assert np.isnan(first["ratio_or_none"]) and first["level_or_none"] == "mid"
    assert first["count_or_none"] == -1 and not first["flag_or_none"]
    for column in ("text_or_none", "count_or_none", "ratio_or_none", "flag_or_none"):
        assert second[column] is pd.NA, column
    assert pd.isna(second["at_or_none"]) and pd.isna(second["level_or_none"])


def test_both_paths_give_the_same_frame(conn: Connection, make_topic: TopicFactory) -> None:
    model = scalars_model(make_topic(partitions=2))
    model.produce_many([scalars(model, i, empty=i % 2 == 0) for i in range(40)], connection=conn)

    columnar = read_topic(model, connection=conn, metadata=True, progress=False)
    validated = read_topic(model, connection=conn, metadata=True, columnar=False, progress=False)

    pd.testing.assert_frame_equal(columnar, validated)


class EveryRead(FlowBaseModel, Everything):
    class Settings:
        namespace = "com.example.read"


def test_nested_and_union_fields_are_objects(conn: Connection, make_topic: TopicFactory) -> None:
    topic_name = make_topic(partitions=1)

    class Every(EveryRead):
        class Settings:
            topic = topic_name
            record_name = "EveryRead"

    originals = [
        Every.model_validate(dict(everything())),
        Every.model_validate(dict(everything(pet=Dog(name="Rex"), maybe=None))),
    ]
    Every.produce_many(originals, connection=conn)

    frame = read_topic(Every, connection=conn, progress=False)

    assert report_of(frame).columnar == 0  # nested models are validated as the model
    dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    assert dtypes["maybe"] == "Int64" and dtypes["status"] == "category"
    assert dtypes["kind"] == "category" and list(frame["kind"].cat.categories) == ["a", "b"]
    assert dtypes["link"] == "string" and frame["link"][0] == "https://example.com/x?y=1"
    assert all(dtypes[c] == "object" for c in ("address", "lines", "scores", "pet", "tree"))
    assert frame["address"][0] == {"city": "Zürich", "zip": "8000"}
    assert frame["lines"][0][0] == {"sku": "A-1", "price": Decimal("9.99"), "qty": 2}
    assert frame["pet"].tolist() == [{"name": "Tom", "good": False}, {"name": "Rex", "good": True}]
    assert frame["pair"][0] == [1, 2] and frame["other_address"][0] is None
    assert frame["maybe"].tolist() == [0, pd.NA]
    assert isinstance(originals[0].pet, Cat)


def test_metadata_columns(conn: Connection, make_topic: TopicFactory) -> None:
    before = pd.Timestamp.now(tz="UTC").floor("s")
    model, _ = sent_topic(conn, make_topic, 30, partitions=2)

    frame = read_topic(model, connection=conn, metadata=["_key", "_timestamp"], progress=False)
    every = read_topic(model, connection=conn, metadata=True, progress=False)

    assert list(frame.columns)[-2:] == ["_key", "_timestamp"]
    assert frame["_key"].tolist() == frame["order_id"].tolist()  # key_field = order_id
    assert str(frame["_timestamp"].dtype) == "datetime64[ms, UTC]"
    assert (frame["_timestamp"] >= before).all()
    assert list(every.columns)[-5:] == ["_topic", "_partition", "_offset", "_key", "_timestamp"]
    assert set(every["_topic"]) == {topic_of(model)}
    assert str(every["_partition"].dtype) == str(every["_offset"].dtype) == "int64"


# ------------------------------------------------------------------ tombstones and failures


def test_tombstones_have_no_row_and_are_counted(
    conn: Connection, make_topic: TopicFactory, sandbox: Sandbox
) -> None:
    model, _ = sent_topic(conn, make_topic, 10, partitions=1)
    producer = raw_producer(sandbox)
    producer.produce(topic_of(model), value=None, key=b"o-3")
    assert producer.flush(10) == 0

    frame = read_topic(model, connection=conn, progress=False)
    result = read_messages(model, connection=conn)

    assert len(frame) == 10
    assert report_of(frame).tombstones == 1 and report_of(frame).read == 11
    assert result.report.tombstones == 1 and len(result) == 11
    assert result.messages[-1].is_tombstone and result.messages[-1].key == "o-3"


@pytest.mark.parametrize("columnar", [True, False], ids=["columnar", "model"])
def test_decode_failures_are_reported_with_partition_and_offset(
    conn: Connection, make_topic: TopicFactory, sandbox: Sandbox, columnar: bool
) -> None:
    model, _ = sent_topic(conn, make_topic, 10, partitions=1)
    topic = topic_of(model)
    producer = raw_producer(sandbox)
    producer.produce(topic, b"not avro at all")  # offset 10
    producer.produce(topic, b"\x00" + (12345678).to_bytes(4, "big")[:3])  # 11: short header
    assert producer.flush(10) == 0
    model.produce_many(orders(model, 2, start=10), connection=conn)  # offsets 12, 13

    with pytest.raises(TopicReadError, match="partition 0 offset 10") as info:
        read_topic(model, connection=conn, columnar=columnar, progress=False)
    frame = read_topic(model, connection=conn, columnar=columnar, on_error="report", progress=False)

    error = info.value
    assert (error.partition, error.offset, error.topic) == (0, 10, topic)
    assert isinstance(error.partial, pd.DataFrame) and len(error.partial) == 12
    report = report_of(frame)
    assert len(frame) == 12 and report.read == 14 and not report.ok
    assert [(f.partition, f.offset) for f in report.failures] == [(0, 10), (0, 11)]
    failures = report.to_frame()
    assert list(failures.columns) == ["topic", "partition", "offset", "field", "message"]
    assert failures["offset"].tolist() == [10, 11]
    assert "Confluent" in failures["message"][0] or "magic" in failures["message"][0]


def test_values_the_model_rejects_are_failures_naming_the_field(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic_name = make_topic(partitions=1)
    writer = order_model(topic_name)
    writer.produce_many(orders(writer, 4), connection=conn)  # quantities 0, 1, 2, 3

    class Strict(OrderFields):
        class Settings:
            topic = topic_name
            record_name = "Order"

        quantity: int = Field(ge=2)

    frame = read_topic(Strict, connection=conn, on_error="report", progress=False)

    report = report_of(frame)
    assert frame["quantity"].tolist() == [2, 3]
    assert [(f.offset, f.field) for f in report.failures] == [(0, "quantity"), (1, "quantity")]


# ------------------------------------------------------------------ writers other than this model


def test_schema_versions_are_read_into_one_frame(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic_name = make_topic(partitions=1)

    class V1(FlowBaseModel):
        class Settings:
            topic = topic_name
            record_name = "Thing"

        name: str
        size: int
        at: dt.datetime

    class V2(FlowBaseModel):
        class Settings:
            topic = topic_name
            record_name = "Thing"

        name: str
        size: int
        at: dt.datetime
        colour: str | None = None
        weight: int | None = None
        seen: dt.datetime | None = None

    day = dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=dt.UTC)
    later = dt.datetime(2031, 5, 6, 7, 8, 9, 10000, tzinfo=dt.UTC)
    V1.produce_many([V1(name="a", size=1, at=day), V1(name="b", size=2, at=later)], connection=conn)
    V2.produce_many(
        [V2(name="c", size=3, at=later, colour="red", weight=7, seen=day)], connection=conn
    )

    for columnar in (True, False):
        frame = read_topic(V2, connection=conn, columnar=columnar, progress=False)
        assert frame["name"].tolist() == ["a", "b", "c"]
        assert frame["colour"].tolist() == [pd.NA, pd.NA, "red"]
        assert frame["weight"].tolist() == [pd.NA, pd.NA, 7]
        assert str(frame["weight"].dtype) == "Int64"
        # Timestamps of resolved (V1) and of direct (V2) rows land in the same typed column.
        assert frame["at"].tolist() == [pd.Timestamp(day), pd.Timestamp(later), pd.Timestamp(later)]
        assert frame["seen"].isna().tolist() == [True, True, False]
        assert frame["seen"].iloc[2] == pd.Timestamp(day)
        assert str(frame["at"].dtype) == str(frame["seen"].dtype) == "datetime64[us, UTC]"
        assert report_of(frame).columnar == (1 if columnar else 0)  # V1 rows were resolved


def test_reads_what_confluents_avro_serializer_wrote(
    conn: Connection,
    make_topic: TopicFactory,
    sandbox: Sandbox,
    registry_client: SchemaRegistryClient,
) -> None:
    topic = make_topic(partitions=2)
    model = scalars_model(topic)
    serializer = AvroSerializer(
        registry_client,
        json.dumps(model.avro_schema()),
        conf={"auto.register.schemas": True},
    )
    context = SerializationContext(topic, MessageField.VALUE)
    producer = raw_producer(sandbox)
    originals = [scalars(model, i, empty=i == 2) for i in range(3)]
    for original in originals:
        producer.produce(topic, serializer(original.to_avro_dict(), context), partition=0)
    assert producer.flush(30) == 0

    frame = read_topic(model, connection=conn, progress=False)

    assert frame["text"].tolist() == [o.text for o in originals]
    assert frame["level"].tolist() == ["high"] * 3
    assert report_of(frame).columnar == 3


# ------------------------------------------------------------------ reading never commits


def test_reading_creates_no_group_and_moves_no_committed_offset(
    conn: Connection, make_topic: TopicFactory, sandbox: Sandbox
) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    model, _ = sent_topic(conn, make_topic, 40, partitions=1)
    topic = topic_of(model)
    with model.consumer(group_id=group, connection=conn) as consumer:
        assert len(consumer.batch(15, timeout=20)) == 15
    admin = AdminClient({"bootstrap.servers": sandbox.bootstrap_servers})

    def committed() -> int:
        from confluent_kafka import Consumer

        probe = Consumer({"bootstrap.servers": sandbox.bootstrap_servers, "group.id": group})
        try:
            (found,) = probe.committed([TopicPartition(topic, 0)], timeout=10)
            return int(found.offset)
        finally:
            probe.close()

    before = committed()
    assert before == 15
    read_topic(model, connection=conn, progress=False)
    read_messages(model, connection=conn, max_messages=5)

    assert committed() == before
    groups = admin.list_consumer_groups(request_timeout=10).result()
    assert not [g.group_id for g in groups.valid if g.group_id.startswith("flowodm-reader-")]


def test_report_renders_as_text_and_html(conn: Connection, make_topic: TopicFactory) -> None:
    model, _ = sent_topic(conn, make_topic, 5, partitions=1)
    report = report_of(read_topic(model, connection=conn, progress=False))

    assert "5 message(s) read to the end offsets, 5 returned, 0 failed" in repr(report)
    assert "<table>" in report._repr_html_()
    assert Status.NEW.value == "new"
