"""``ddf.flowodm.produce`` on a two-process LocalCluster: every row delivered or reported.

Partitions are produced on the workers; the client gets one ``DaskProduceReport`` naming each
invalid or failed row by ``(partition, label)`` (the partitions' indexes all restart at 0 here,
as they do when a frame is read from files).
"""

from __future__ import annotations

from collections.abc import Iterator

import dask
import dask.dataframe as dd
import pandas as pd
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from distributed import Client

import flowodm  # noqa: F401  (registers ddf.flowodm)
from flowodm.dask import DaskProduceReport, DaskValidationReport
from flowodm.exceptions import DataFrameValidationError, PartialDeliveryError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.dask.conftest import orders, read_back, split
from tests.dask.helpers import DaskOrder

pytestmark = pytest.mark.integration

ROWS, PARTITIONS = 20_000, 8
INVALID = {5, 2_600, 2_601, 9_999, 19_999}  # spread over partitions 0, 1, 3 and 7
TOO_LARGE = {12_345}


@pytest.fixture
def small_messages(sandbox: Sandbox) -> Iterator[Connection]:
    """A connection whose producers refuse messages over 2,000 bytes (MSG_SIZE_TOO_LARGE)."""
    settings = build_config(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={"message.max.bytes": 2000},
    )
    with Connection(settings) as connection:
        yield connection


def test_every_row_is_delivered_or_reported_by_partition_and_label(
    dask_client: Client,
    small_messages: Connection,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
) -> None:
    topic = make_topic(partitions=3)
    frame = orders(ROWS, invalid=INVALID, too_large=TOO_LARGE)
    ddf, where = split(frame, PARTITIONS)

    report = ddf.flowodm.produce(
        DaskOrder,
        topic=topic,
        on_invalid="report",
        raise_on_error=False,
        connection=small_messages,
        progress=False,
    )

    assert isinstance(report, DaskProduceReport)
    sent = ROWS - len(INVALID) - len(TOO_LARGE)
    assert (report.total, report.delivered, report.invalid) == (ROWS, sent, len(INVALID))
    assert len(report.invalid_index) == len(INVALID)
    assert set(report.invalid_index) == {where[i] for i in INVALID}
    assert {e.field for e in report.errors} == {"amount"}
    assert report.failed_index == [where[i] for i in TOO_LARGE]
    assert report.failed[0].error.startswith("MSG_SIZE_TOO_LARGE")
    assert not report.failed[0].maybe_written and not report.ok
    # The per-partition breakdown adds up to the totals, and every partition ran once.
    parts = report.partition_frame()
    assert list(parts["partition"]) == list(range(PARTITIONS))
    assert parts["rows"].sum() == ROWS and parts["delivered"].sum() == sent
    assert parts["invalid"].sum() == len(INVALID) and parts["failed"].sum() == len(TOO_LARGE)
    assert set(parts["attempts"]) == {1} and parts["worker"].nunique() == 2
    problems = report.to_frame()
    assert list(problems.columns[:2]) == ["partition", "index"]
    oversized = problems[problems["status"] == "failed"]
    assert [tuple(r) for r in oversized[["partition", "index"]].to_numpy()] == report.failed_index
    # Read back with Confluent's deserializer: exactly the valid rows, keyed by order_id.
    got = read_back(sandbox, registry_client, topic, sent, linger=0.5)
    assert len(got) == sent
    expected = frame.drop(index=sorted(INVALID | TOO_LARGE)).set_index("order_id")
    by_key = {key.decode(): value for key, value in got if key is not None}
    assert len(by_key) == sent
    assert all(by_key[k]["order_id"] == k for k in list(by_key)[:100])
    back = pd.DataFrame.from_dict(by_key, orient="index").loc[expected.index]
    pd.testing.assert_frame_equal(
        back[["customer_id", "amount", "quantity"]],
        expected[["customer_id", "amount", "quantity"]],
        check_dtype=False,
        check_names=False,
    )


def test_a_failed_row_raises_with_the_combined_report(
    dask_client: Client, small_messages: Connection, make_topic: TopicFactory
) -> None:
    frame = orders(400, too_large={3, 399})
    ddf, where = split(frame, 4)

    with pytest.raises(PartialDeliveryError) as caught:
        ddf.flowodm.produce(
            DaskOrder, topic=make_topic(), connection=small_messages, progress=False
        )

    result = caught.value.result
    assert isinstance(result, DaskProduceReport)
    assert set(result.failed_index) == {where[3], where[399]} and len(result.failed) == 2
    assert result.delivered == 398
    p, label = where[399]
    assert f"partition {p} row {label}: MSG_SIZE_TOO_LARGE" in str(caught.value)


def test_invalid_rows_raise_before_anything_is_sent(
    dask_client: Client, flowodm_connection: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    ddf, where = split(orders(600, invalid={100, 450}), 3)

    with pytest.raises(DataFrameValidationError) as caught:
        ddf.flowodm.produce(DaskOrder, topic=topic, connection=flowodm_connection, progress=False)

    report = caught.value.report
    assert isinstance(report, DaskValidationReport)
    assert set(report.invalid_index) == {where[100], where[450]} and report.invalid == 2
    assert consume_all(sandbox.bootstrap_servers, topic, 0, linger=1.0) == []


def test_columns_that_do_not_fit_fail_on_the_client(
    dask_client: Client, flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    ddf = dd.from_pandas(orders(10).rename(columns={"amount": "amt"}), npartitions=2)  # type: ignore[no-untyped-call]

    with pytest.raises(DataFrameValidationError, match="amt"):
        ddf.flowodm.produce(DaskOrder, topic=make_topic(), connection=flowodm_connection)


def test_keys_headers_and_the_progress_bar(
    dask_client: Client, flowodm_connection: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    from tests.pandas.bars import RecordingBar

    topic = make_topic()
    frame = orders(300).assign(k=[f"key-{i}" for i in range(300)])
    ddf, _ = split(frame, 3)
    RecordingBar.instances.clear()

    report = ddf.flowodm.produce(
        DaskOrder,
        topic=topic,
        key="k",
        extra="ignore",
        headers={"source": b"dask"},
        connection=flowodm_connection,
        progress=RecordingBar,
    )

    assert report.ok and report.delivered == 300
    messages = consume_all(sandbox.bootstrap_servers, topic, 300, linger=0.5)
    assert [m.key() for m in messages].count(None) == 0 and len(messages) == 300
    assert {m.key() for m in messages} == {f"key-{i}".encode() for i in range(300)}
    assert {tuple(m.headers() or ()) for m in messages} == {(("source", b"dask"),)}
    [bar] = RecordingBar.instances
    assert bar.n == 300 and bar.closed


def test_the_local_scheduler_is_used_without_a_client(
    flowodm_connection: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    ddf, where = split(orders(500, invalid={7}), 5)

    with dask.config.set(scheduler="threads"):
        report = ddf.flowodm.produce(
            DaskOrder, topic=topic, on_invalid="report", connection=flowodm_connection
        )

    assert (report.delivered, report.invalid_index) == (499, [where[7]])
    assert [p.worker for p in report.partitions] == [""] * 5
    assert len(consume_all(sandbox.bootstrap_servers, topic, 499, linger=0.5)) == 499
