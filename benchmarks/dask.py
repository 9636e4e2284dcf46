"""Benchmark: rows/s of ``ddf.flowodm.produce`` on 1 and 2 Dask workers, beside pandas and raw.

Workload: the order-like frame of ``workload.py`` (performance-findings.md), 1,000,000 rows by
default. Variants, interleaved within each round, one run:

* ``raw``: confluent-kafka producing the pre-encoded values from this process (the ceiling of
  one Python process; same bytes, header included), ``delivery.report.only.error``.
* ``pandas``: ``df.flowodm.produce(Order, on_invalid="report")`` in this process (columnar).
* ``dask-1``: ``ddf.flowodm.produce(Order, on_invalid="report")`` on a ``LocalCluster`` of 1
  worker process.
* ``dask-2``: the same on a ``LocalCluster`` of 2 worker processes (one thread each).
* ``dask-2-raise``: ``dask-2`` with the default ``on_invalid="raise"``, which validates every
  partition in a first pass before producing in a second: the cost of that guarantee.

Then reading, interleaved the same way, of the ``raw`` topic (rows x rounds messages):
``read-pandas`` is ``flowodm.read_topic(Order)`` in this process; ``read-dask-1`` and
``read-dask-2`` are ``flowodm.dask.read_topic(Order, max_messages_per_task=...)`` (about
``--partitions`` ranges) persisted on the 1- and 2-worker clusters, timed until every range is
decoded in the workers' memory (and counted there).

The Dask frames are persisted on their cluster before timing (``--partitions`` partitions),
as if read there from files, so the time is validation, encoding and delivery on the workers
plus collecting the reports; each run is timed until every row is acknowledged. Each variant
writes to a topic of its own; at the end every topic is read back (streaming): its count must
be rows x rounds and every value must be a reference Avro body behind a Confluent header.

Usage::

    .venv/bin/python benchmarks/dask.py                       # starts a sandbox in a temp dir
    .venv/bin/python benchmarks/dask.py --rows 2000 --rounds 1
    FLOWODM_BENCH_BOOTSTRAP_SERVERS=host:9092 FLOWODM_BENCH_SCHEMA_REGISTRY_URL=http://... \\
        .venv/bin/python benchmarks/dask.py
"""

from __future__ import annotations

import os
import sys

# This file is called dask.py: keep its directory from shadowing the dask package (the
# directory stays on the path, last, so that ``workload`` is still found, also by workers).
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import ExitStack, closing  # noqa: E402
from typing import Any  # noqa: E402

import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402
from confluent_kafka.cimpl import NewTopic  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from workload import (  # noqa: E402
    TOPIC,
    Order,
    build_frame,
    create_topic,
    median_rates,
    paired_ratio,
    produce_raw,
    raw_producer,
    stack,
    timed_rows,
)

import flowodm  # noqa: E402  (registers df.flowodm and ddf.flowodm)
from flowodm.dask import read_topic as dask_read_topic  # noqa: E402
from flowodm.kafka.connection import Connection, connect, disconnect  # noqa: E402
from flowodm.serde.model_codec import get_model_codec  # noqa: E402

VARIANTS = ("raw", "pandas", "dask-1", "dask-2", "dask-2-raise")
READS = ("read-pandas", "read-dask-1", "read-dask-2")
PARTITIONS = 3  # of each topic


def _topics(bootstrap: str) -> dict[str, str]:
    names = {variant: f"{TOPIC}-{variant}" for variant in VARIANTS}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics(
        [NewTopic(t, PARTITIONS, 1) for t in names.values()]
    ).values():
        future.result(15)
    return names


def produce_pandas(frame: pd.DataFrame, topic: str) -> int:
    """``df.flowodm.produce`` in this process; returns rows delivered."""
    report = frame.flowodm.produce(Order, topic=topic, on_invalid="report", progress=False)
    delivered: int = report.delivered
    return delivered


def produce_dask(
    client: Client, ddf: Any, topic: str, connection: Connection, on_invalid: str = "report"
) -> int:
    """``ddf.flowodm.produce`` on ``client``'s cluster; returns rows delivered."""
    with client.as_current():
        report = ddf.flowodm.produce(
            Order, topic=topic, connection=connection, progress=False, on_invalid=on_invalid
        )
    if report.retried or len(report.partitions) != ddf.npartitions:
        raise RuntimeError(f"unexpected partitions: {report}")
    delivered: int = report.delivered
    return delivered


def read_dask(client: Client, topic: str, connection: Connection, per_task: int) -> int:
    """``flowodm.dask.read_topic`` persisted on ``client``'s cluster; returns rows read."""
    ddf = dask_read_topic(Order, topic=topic, connection=connection, max_messages_per_task=per_task)
    kept = client.persist(ddf)
    try:
        return int(sum(client.compute(kept.map_partitions(len)).result()))
    finally:
        client.cancel(kept)


def _cluster(
    stack_: ExitStack, workers: int, frame: pd.DataFrame, partitions: int
) -> tuple[Client, Any]:
    cluster = stack_.enter_context(
        LocalCluster(
            n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=":0"
        )
    )
    client = stack_.enter_context(Client(cluster, set_as_default=False))
    ddf = client.persist(dd.from_pandas(frame, npartitions=partitions))
    if sum(client.compute(ddf.map_partitions(len)).result()) != len(frame):  # in memory now
        raise RuntimeError("the persisted frame lost rows")
    return client, ddf


def run(rows: int, rounds: int, partitions: int, verify: bool) -> dict[str, float]:
    """Run the benchmark, print the table and return median rows/s per variant."""
    frame = build_frame(rows)
    # Persisting from_pandas ships the frame once, in the graph: expected here, not a problem.
    warnings.filterwarnings("ignore", message="Sending large graph")
    with stack() as (bootstrap, registry), ExitStack() as clusters:
        create_topic(bootstrap)  # raw_producer's warm-up message goes there
        topics = _topics(bootstrap)
        connection = connect(bootstrap_servers=bootstrap, schema_registry_url=registry)
        try:
            codec = get_model_codec(Order, connection, topic=topics["raw"])
            values = [codec.value_bytes(m) for m in frame.flowodm.to_models(Order)]
            print(
                f"{rows:,} rows, mean value {sum(map(len, values)) / rows:.1f} B, "
                f"{partitions} Dask partitions, topics {TOPIC}-* ({PARTITIONS} partitions)"
            )
            one = _cluster(clusters, 1, frame, partitions)
            two = _cluster(clusters, 2, frame, partitions)
            warm = frame.iloc[: min(rows, 100)]
            with closing(raw_producer(connection)) as producer:
                jobs: dict[str, Callable[[], int]] = {
                    "raw": lambda: produce_raw(producer, values, topics["raw"]),
                    "pandas": lambda: produce_pandas(frame, topics["pandas"]),
                    "dask-1": lambda: produce_dask(*one, topics["dask-1"], connection),
                    "dask-2": lambda: produce_dask(*two, topics["dask-2"], connection),
                    "dask-2-raise": lambda: produce_dask(
                        *two, topics["dask-2-raise"], connection, "raise"
                    ),
                }
                extra = _warm_up(warm, one, two, topics, connection)
                seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
                for index in range(rounds):
                    for name in VARIANTS:
                        seconds[name].append(timed_rows(jobs[name], rows, name))
                    line = "  ".join(f"{n} {rows / seconds[n][-1]:>9,.0f}" for n in VARIANTS)
                    print(f"round {index + 1}: rows/s  {line}")
                total = rows * rounds  # the raw topic: read it back with each reader
                per_task = -(-total // partitions)
                reads: dict[str, Callable[[], int]] = {
                    "read-pandas": lambda: len(
                        flowodm.read_topic(Order, topic=topics["raw"], progress=False)
                    ),
                    "read-dask-1": lambda: read_dask(one[0], topics["raw"], connection, per_task),
                    "read-dask-2": lambda: read_dask(two[0], topics["raw"], connection, per_task),
                }
                for name in READS:  # warm-up: worker connections, codecs
                    reads[name]()
                for name in READS:
                    seconds[name] = []
                for index in range(rounds):
                    for name in READS:
                        seconds[name].append(timed_rows(reads[name], total, name))
                    line = "  ".join(f"{n} {total / seconds[n][-1]:>9,.0f}" for n in READS)
                    print(f"read round {index + 1}: rows/s  {line}")
            medians = report(rows, seconds)
            medians |= report_reads(total, seconds)
            if verify:
                bodies = {value[5:] for value in values}
                for name in VARIANTS:
                    check_topic(bootstrap, topics[name], rows * rounds + extra[name], bodies)
                print("read back every topic: counts match, every value a reference Avro body")
            return medians
        finally:
            disconnect()


def _warm_up(
    warm: pd.DataFrame,
    one: tuple[Client, Any],
    two: tuple[Client, Any],
    topics: dict[str, str],
    connection: Connection,
) -> dict[str, int]:
    """Start producers, register schemas and open worker connections; return messages sent."""
    produce_pandas(warm, topics["pandas"])
    small = dd.from_pandas(warm, npartitions=4)
    for client, name in ((one[0], "dask-1"), (two[0], "dask-2"), (two[0], "dask-2-raise")):
        produce_dask(client, client.persist(small), topics[name], connection)
    return dict.fromkeys(VARIANTS[1:], len(warm)) | {"raw": 0}


def report(rows: int, seconds: dict[str, list[float]]) -> dict[str, float]:
    """Print medians and paired ratios; return median rows/s per variant."""
    medians = median_rates(rows, seconds)

    def paired(a: str, b: str) -> float:
        return paired_ratio(seconds, a, b)

    print("\nmedian rows/s:")
    for name in VARIANTS:
        print(f"  {name:<12} {medians[name]:>11,.0f}")
    print("\npaired ratios (median over rounds of the per-round time ratio):")
    for name in VARIANTS[1:]:
        print(f"  {name:<12} 1/{paired(name, 'raw'):.2f} of raw")
    print(f"  dask-2 vs dask-1: {paired('dask-1', 'dask-2'):.2f}x")
    print(f"  dask-2 vs pandas: {paired('pandas', 'dask-2'):.2f}x")
    slower = paired("dask-2-raise", "dask-2")
    print(f"  dask-2 on_invalid='raise' (two passes) vs 'report': {slower:.2f}x the time")
    return medians


def report_reads(total: int, seconds: dict[str, list[float]]) -> dict[str, float]:
    """Print the reading medians and paired ratios; return median rows/s per reader."""
    medians = median_rates(total, {name: seconds[name] for name in READS})
    print("\nreading, median rows/s:")
    for name in READS:
        ratio = paired_ratio(seconds, "read-pandas", name)
        print(f"  {name:<12} {medians[name]:>11,.0f}  ({ratio:.2f}x read-pandas)")
    return medians


def check_topic(bootstrap: str, topic: str, expected: int, bodies: set[bytes]) -> None:
    """Stream ``topic`` from the start: ``expected`` messages, each a framed reference body."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"bench-{topic}", "enable.auto.commit": False}
    )
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        count = strangers = 0
        deadline = time.monotonic() + 120
        while count < expected and time.monotonic() < deadline:
            for message in consumer.consume(1000, timeout=1.0):
                if message.error() is not None:
                    raise RuntimeError(f"{topic}: {message.error()}")
                value = message.value() or b""
                count += 1
                strangers += value[:1] != b"\x00" or value[5:] not in bodies
        if count != expected or strangers:
            raise RuntimeError(f"{topic}: read {count} of {expected}, {strangers} unexpected")
    finally:
        consumer.close()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--no-verify", action="store_true", help="skip reading the topics back")
    args = parser.parse_args()
    run(args.rows, args.rounds, args.partitions, not args.no_verify)


if __name__ == "__main__":
    main()
