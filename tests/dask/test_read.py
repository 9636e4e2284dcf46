"""``flowodm.dask.read_topic`` on the two-process LocalCluster: the same frame as pandas.

Every test has its own topic. Values produced by ``produce_many`` go out in large record
batches, where Tansu's ListOffsets under-reports a partition's end: comparing with
``flowodm.read_topic`` row for row also proves that the snapshot's end check is the reader's.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest
from confluent_kafka import Producer
from distributed import Client

import flowodm
from flowodm.consume.read_report import ReadReport, TopicReadError
from flowodm.consume.reader import TopicReader
from flowodm.dask import compute_read, read_topic
from flowodm.dask.read import RangeTask
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.pandas.read import REPORT_ATTR
from flowodm.sandbox import Sandbox
from flowodm.serde.model_codec import get_model_codec
from flowodm.testing import TopicFactory
from tests.dask.read_models import ReadOrder, read_baskets, read_orders

pytestmark = pytest.mark.integration

REGISTRY_SECRET = "reg-Pa55-read-never-shown"
SASL_SECRET = "sasl-Pa55-read-never-shown"


def report_of(frame: pd.DataFrame) -> ReadReport:
    report = frame.attrs[REPORT_ATTR]
    assert isinstance(report, ReadReport)
    return report


def pandas_read(
    model: type[FlowBaseModel], topic: str, conn: Connection, **kw: Any
) -> pd.DataFrame:
    return flowodm.read_topic(model, topic=topic, connection=conn, progress=False, **kw)


def produced(
    conn: Connection, make_topic: TopicFactory, models: list[Any], partitions: int = 3
) -> str:
    topic = make_topic(partitions=partitions)
    assert type(models[0]).produce_many(models, topic=topic, connection=conn).delivered == len(
        models
    )
    return topic


def same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal frames (rows, order, dtypes, index), whatever their ``attrs``."""
    pd.testing.assert_frame_equal(got.assign(), expected.assign(), check_flags=False)
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()


# ------------------------------------------------------------------ the same frame as pandas


@pytest.mark.parametrize(
    ("models", "metadata"),
    [(read_orders(1_500), True), (read_baskets(900), ["_partition", "_offset", "_key"])],
    ids=["columnar-all-metadata", "validated-object-column"],
)
def test_compute_equals_the_pandas_read_with_the_same_dtypes(
    dask_client: Client,
    flowodm_connection: Connection,
    make_topic: TopicFactory,
    models: list[Any],
    metadata: Any,
) -> None:
    model = type(models[0])
    topic = produced(flowodm_connection, make_topic, models)

    ddf = read_topic(model, topic=topic, connection=flowodm_connection, metadata=metadata)
    expected = pandas_read(model, topic, flowodm_connection, metadata=metadata)

    assert ddf.npartitions == 3  # one Dask partition per Kafka partition by default
    assert ddf.dtypes.to_dict() == expected.dtypes.to_dict()  # meta: the pandas dtypes
    got = compute_read(ddf)
    same_rows(got, expected)
    report, want = report_of(got), report_of(expected)
    assert (report.read, report.returned, report.failed) == (len(models), len(models), 0)
    assert report.partitions == want.partitions and report.columnar == want.columnar
    # A plain compute has the same rows in the same order; each partition's index restarts.
    plain = ddf.compute()  # type: ignore[no-untyped-call]
    same_rows(plain.reset_index(drop=True), expected)
    parts = [ddf.partitions[i].compute() for i in range(ddf.npartitions)]
    assert [p.dtypes.to_dict() for p in parts] == [expected.dtypes.to_dict()] * 3
    assert sorted(plain.columns[: len(model.model_fields)]) == sorted(model.model_fields)


def test_the_number_of_partitions_follows_max_messages_per_task(
    dask_client: Client, flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    topic = produced(flowodm_connection, make_topic, read_orders(1_000))
    expected = pandas_read(ReadOrder, topic, flowodm_connection, metadata=["_offset"])
    ends = [(p.start, p.end or 0) for p in report_of(expected).partitions]

    for per_task in (150, 400, 10_000):
        ddf = read_topic(
            ReadOrder,
            topic=topic,
            connection=flowodm_connection,
            metadata=["_offset"],
            max_messages_per_task=per_task,
        )

        assert ddf.npartitions == sum(max(1, math.ceil((e - s) / per_task)) for s, e in ends)
        sizes = ddf.map_partitions(len).compute().tolist()  # type: ignore[no-untyped-call]
        assert max(sizes) <= per_task and sum(sizes) == 1_000
        same_rows(compute_read(ddf), expected)


# ------------------------------------------------------------------ what is read


def test_a_partition_offset_start_reads_only_those_partitions_from_there(
    dask_client: Client, flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    topic = produced(flowodm_connection, make_topic, read_orders(600))
    start = {0: 5, 2: 0}

    ddf = read_topic(
        ReadOrder, topic=topic, connection=flowodm_connection, start=start, metadata=True
    )
    expected = pandas_read(ReadOrder, topic, flowodm_connection, start=start, metadata=True)

    assert ddf.npartitions == 2
    got = compute_read(ddf)
    same_rows(got, expected)
    assert set(got["_partition"]) == {0, 2}
    assert got.loc[got["_partition"] == 0, "_offset"].min() == 5


def test_a_datetime_start_is_exact_inside_one_record_batch(
    dask_client: Client, flowodm_connection: Connection, make_topic: TopicFactory, sandbox: Sandbox
) -> None:
    # One record batch whose messages have timestamps a second apart: Tansu answers the time
    # look-up with the batch's first offset, so the ranges of a split read must not start there.
    topic = make_topic(partitions=1)
    codec = get_model_codec(ReadOrder, flowodm_connection, topic=topic)
    base = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    millis = int(base.timestamp() * 1000)
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers, "linger.ms": 200})
    for i, order in enumerate(read_orders(100)):
        producer.produce(topic, codec.value_bytes(order), timestamp=millis + i * 1000, partition=0)
    assert producer.flush(15) == 0
    start = base + dt.timedelta(seconds=50)

    ddf = read_topic(
        ReadOrder,
        topic=topic,
        connection=flowodm_connection,
        start=start,
        metadata=["_offset", "_timestamp"],
        max_messages_per_task=10,
    )
    expected = pandas_read(
        ReadOrder, topic, flowodm_connection, start=start, metadata=["_offset", "_timestamp"]
    )

    got = compute_read(ddf)
    assert got["_offset"].tolist() == list(range(50, 100))
    assert (got["_timestamp"] >= pd.Timestamp(start)).all()
    assert ddf.npartitions == 5
    same_rows(got, expected)


def test_messages_produced_after_the_call_are_not_read(
    dask_client: Client, flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    before = read_orders(500)
    topic = produced(flowodm_connection, make_topic, before)

    ddf = read_topic(ReadOrder, topic=topic, connection=flowodm_connection)
    later = read_orders(200, start=500)
    assert ReadOrder.produce_many(later, topic=topic, connection=flowodm_connection).delivered

    got = compute_read(ddf)
    assert sorted(got["order_id"]) == sorted(o.order_id for o in before)
    assert len(pandas_read(ReadOrder, topic, flowodm_connection)) == 700  # they are there


# ------------------------------------------------------------------ failures


def test_a_poison_message_raises_or_is_reported(
    dask_client: Client, flowodm_connection: Connection, make_topic: TopicFactory, sandbox: Sandbox
) -> None:
    topic = produced(flowodm_connection, make_topic, read_orders(300))
    poison: list[int] = []
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    producer.produce(
        topic,
        b"\x00not avro",
        partition=1,
        on_delivery=lambda _e, m: poison.append(m.offset() or 0),
    )
    assert producer.flush(15) == 0 and len(poison) == 1

    raising = read_topic(ReadOrder, topic=topic, connection=flowodm_connection)
    with pytest.raises(TopicReadError) as caught:
        raising.compute()  # type: ignore[no-untyped-call]
    assert (caught.value.partition, caught.value.offset) == (1, poison[0])
    assert caught.value.report.failures[0].offset == poison[0]

    reporting = read_topic(
        ReadOrder, topic=topic, connection=flowodm_connection, on_error="report", metadata=True
    )
    got = compute_read(reporting)
    expected = pandas_read(ReadOrder, topic, flowodm_connection, on_error="report", metadata=True)
    same_rows(got, expected)
    report = report_of(got)
    assert [(f.partition, f.offset) for f in report.failures] == [(1, poison[0])]
    assert (report.read, report.returned) == (301, 300)
    assert report.failures == report_of(expected).failures
    rows_only = reporting.compute()  # type: ignore[no-untyped-call]
    assert len(rows_only) == 300  # the rows, without the report


def test_compute_read_refuses_a_frame_without_reports(
    dask_client: Client, flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    topic = produced(flowodm_connection, make_topic, read_orders(50))
    ddf = read_topic(ReadOrder, topic=topic, connection=flowodm_connection)

    with pytest.raises(
        flowodm.InvalidArgumentError, match="partition 0 of the frame carries no ReadReport"
    ):
        compute_read(ddf.map_partitions(_without_attrs))  # type: ignore[no-untyped-call]


# ------------------------------------------------------------------ secrets


def test_secrets_never_show_in_the_tasks(
    dask_client: Client, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    # The sandbox registry accepts any credentials; librdkafka ignores sasl.password under
    # PLAINTEXT: the read reaches the sandbox with both secrets in its config.
    host = sandbox.schema_registry_url.split("://", 1)[1]
    config = build_config(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=f"http://flowodm:{REGISTRY_SECRET}@{host}",
    )
    with Connection(config) as connection:
        topic = produced(connection, make_topic, read_orders(100))
        ddf = read_topic(
            ReadOrder,
            topic=topic,
            connection=connection,
            consumer_config={"sasl.password": SASL_SECRET},
        )
        got = compute_read(ddf)

    assert len(got) == 100
    graph = ddf.__dask_graph__()  # type: ignore[no-untyped-call]
    tasks = [arg for task in graph.values() for arg in _args(task)]
    ranges = [t for t in tasks if isinstance(t, RangeTask)]
    assert len(ranges) == 3
    assert ranges[0].consumer_config == {"sasl.password": SASL_SECRET}  # shipped, not shown
    shown = [repr(t) for t in tasks] + [repr(ddf), str(report_of(got))]
    for secret in (REGISTRY_SECRET, SASL_SECRET):
        assert not [text for text in shown if secret in text]


def _without_attrs(part: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(dict(part.items()))


def _args(task: Any) -> list[Any]:
    """The arguments of a graph task, unwrapped from dask's task-spec nodes."""
    found: list[Any] = []
    for arg in getattr(task, "args", ()):
        found.append(getattr(arg, "value", arg))
        found.extend(_args(arg))
    return found


# ------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"until": {0: -1}}, "until: offset -1 is negative"),
        ({"until": {0: "5"}}, "until maps partitions to offsets \\(ints\\), got offset '5'"),
        ({"until": [0]}, "until maps partitions to end offsets, not list"),
        ({"until": {}}, "names no partition"),
        ({"until": {0: 5}, "start": {1: 0}}, "name the same partitions in both"),
        ({"until": {0: 5}, "follow": True, "max_messages": 3}, "follow=True reads past"),
    ],
)
def test_the_reader_names_a_bad_until(
    flowodm_connection: Connection, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises((flowodm.InvalidArgumentError, flowodm.ArgumentTypeError), match=match) as e:
        TopicReader(flowodm_connection, "any-topic", **kwargs)
    assert e.value.argument == "until"


def test_a_bad_split_or_start_fails_before_any_task(flowodm_connection: Connection) -> None:
    with pytest.raises(flowodm.InvalidArgumentError, match="max_messages_per_task") as caught:
        read_topic(
            ReadOrder, topic="any-topic", connection=flowodm_connection, max_messages_per_task=0
        )
    assert caught.value.argument == "max_messages_per_task"
    with pytest.raises(flowodm.InvalidArgumentError, match="follow=True") as start:
        read_topic(ReadOrder, topic="any-topic", connection=flowodm_connection, start="latest")
    assert start.value.argument == "start"
