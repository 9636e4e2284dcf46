"""What ``ddf.flowodm`` promises beyond delivery: validation sends nothing, secrets stay secret,
and a worker killed mid-run leaves no row unaccounted for."""

from __future__ import annotations

import json
from pathlib import Path

import dask.dataframe as dd
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from distributed import Client

import flowodm  # noqa: F401  (registers ddf.flowodm)
from flowodm.dask import DaskValidationReport
from flowodm.exceptions import DataFrameValidationError, PartialDeliveryError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.dask.conftest import orders, read_back, split
from tests.dask.helpers import DaskOrder, DieOnce, fresh_model, record_logs, recorded_logs

pytestmark = pytest.mark.integration

SASL_SECRET = "sasl-Pa55-never-shown"
REGISTRY_SECRET = "reg-Pa55-never-shown"


def test_validate_runs_on_the_workers_and_sends_nothing(
    dask_client: Client,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
) -> None:
    name = make_topic()
    fresh = fresh_model(name)
    ddf, where = split(orders(4_000, invalid={0, 1_999, 3_999}), 4)

    report = ddf.flowodm.validate(fresh)

    assert isinstance(report, DaskValidationReport)
    assert (report.total, report.valid, report.invalid) == (4_000, 3_997, 3)
    assert set(report.invalid_index) == {where[i] for i in (0, 1_999, 3_999)}
    parts = report.partition_frame()
    assert parts["rows"].sum() == 4_000 and parts["invalid"].sum() == 3
    assert parts["worker"].nunique() == 2  # the partitions were checked on both workers
    assert consume_all(sandbox.bootstrap_servers, name, 0, linger=1.0) == []
    assert f"{name}-value" not in registry_client.get_subjects()


def test_validate_asks_the_registry_once_on_the_client(
    dask_client: Client,
    flowodm_connection: Connection,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
) -> None:
    name = make_topic()
    fresh = fresh_model(name)
    older = fresh.avro_schema()  # an earlier version whose quantity was text: incompatible
    older["fields"] = [
        {**f, "type": "string"} if f["name"] == "quantity" else f for f in older["fields"]
    ]
    subject = f"{name}-value"
    registry_client.register_schema(subject, Schema(json.dumps(older), "AVRO"))
    ddf, _ = split(orders(400), 2)

    report = ddf.flowodm.validate(fresh, connection=flowodm_connection)

    assert report.invalid == 0 and not report.ok  # every row fits; the registry says no
    assert report.registry is not None and report.registry.subject == subject
    assert "quantity" in report.registry.message
    assert registry_client.get_versions(subject) == [1]
    skipped = ddf.flowodm.validate(fresh, connection=flowodm_connection, registry=False)
    assert skipped.ok and skipped.registry is None


def test_a_partition_with_duplicate_labels_is_reported_not_lost(
    dask_client: Client, flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    frame = orders(200)
    parts = [frame.iloc[:100], frame.iloc[100:].set_axis([0] * 100)]  # partition 1: all label 0
    first = dd.from_pandas(parts[0], npartitions=1)  # type: ignore[no-untyped-call]
    second = dd.from_pandas(parts[1], npartitions=1, sort=False)  # type: ignore[no-untyped-call]
    ddf = dd.concat([first, second])  # type: ignore[no-untyped-call]

    topic = make_topic()
    with pytest.raises(DataFrameValidationError, match="partition 1 was not checked"):
        ddf.flowodm.produce(DaskOrder, topic=topic, connection=flowodm_connection)
    with pytest.raises(PartialDeliveryError) as caught:
        ddf.flowodm.produce(
            DaskOrder, topic=topic, on_invalid="report", connection=flowodm_connection
        )

    report = caught.value.result
    assert report.delivered == 100 and len(report.failed) == 100 and report.total == 200
    assert {f.index[0] for f in report.failed} == {1}
    assert all("duplicate labels" in f.error and not f.maybe_written for f in report.failed)
    assert "duplicate labels" in (report.partitions[1].error or "")


def test_secrets_never_reach_worker_logs_or_reports(
    dask_client: Client, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    # The sandbox registry accepts any credentials (it runs without --basic-auth), and
    # librdkafka ignores sasl.password under PLAINTEXT: this config reaches the sandbox.
    host = sandbox.schema_registry_url.split("://", 1)[1]
    config = build_config(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=f"http://flowodm:{REGISTRY_SECRET}@{host}",
        producer_config={"sasl.password": SASL_SECRET, "message.max.bytes": 2000},
    )
    dask_client.run(record_logs)
    ddf, _ = split(orders(1_000, invalid={10}, too_large={20}), 2)
    with Connection(config) as connection:
        report = ddf.flowodm.produce(
            DaskOrder,
            topic=make_topic(),
            on_invalid="report",
            raise_on_error=False,
            connection=connection,
            progress=False,
        )
        with pytest.raises(PartialDeliveryError) as caught:
            ddf.flowodm.produce(
                DaskOrder, topic=make_topic(), on_invalid="report", connection=connection
            )

    assert report.delivered == 998
    logs = [line for lines in dask_client.run(recorded_logs).values() for line in lines]
    assert any("opened a worker connection" in line for line in logs)  # the config was logged
    shown = [
        *logs,
        *(text for _, text in _distributed_logs(dask_client)),
        repr(report),
        str(report),
        report.summary(),
        report.to_frame().to_string(),
        report.partition_frame().to_string(),
        str(caught.value),
        repr(config),
    ]
    for secret in (SASL_SECRET, REGISTRY_SECRET):
        assert not [text for text in shown if secret in text]


def _distributed_logs(client: Client) -> list[tuple[str, str]]:
    """The lines the workers' and scheduler's ``distributed`` loggers kept."""
    lines: list[tuple[str, str]] = list(client.get_scheduler_logs())  # type: ignore[no-untyped-call]
    for worker_lines in client.get_worker_logs().values():  # type: ignore[no-untyped-call]
        lines.extend(worker_lines)
    return lines


def test_a_worker_killed_mid_partition_leaves_no_row_unaccounted(
    dask_client: Client,
    flowodm_connection: Connection,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
    tmp_path: Path,
) -> None:
    topic = make_topic()
    rows = 8_000
    ddf, _ = split(orders(rows), 4)

    report = ddf.flowodm.produce(
        DaskOrder,
        topic=topic,
        chunk_size=500,
        callback=DieOnce(tmp_path / "died"),  # the first chunk's callback kills its worker
        connection=flowodm_connection,
        progress=False,
    )

    assert (tmp_path / "died").exists()
    assert report.ok and report.delivered == rows
    [retried] = report.retried  # the killed partition ran again, on a live worker
    assert report.partitions[retried].attempts == 2
    assert report.repeated_rows == report.partitions[retried].rows
    assert "may have been written more than once" in report.summary()
    got = read_back(sandbox, registry_client, topic, rows, linger=0.5)
    keys = [key for key, _ in got]
    assert set(keys) == {f"o{i}".encode() for i in range(rows)}  # every row is on the topic
    assert len(keys) - rows <= report.repeated_rows  # duplicates only from the retried one
