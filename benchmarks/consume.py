"""Benchmark: reading the order workload back, against raw confluent-kafka reading the same.

Workload: the order-like records of ``workload.py`` (performance-findings.md), produced once
with ``Order.produce_many`` into a fresh 3-partition topic. Each round then reads all of them
three ways, in one process:

- **raw**: a group-less confluent ``Consumer`` assigned to every partition from the beginning,
  ``consume(1000)`` until every message arrived, touching ``.value()``; timed from ``assign()``
  to the last message (the yardstick: no decoding at all).
- **read_topic**: ``flowodm.read_topic(Order)`` into a DataFrame, timed as a whole call (its
  consumer, offsets, end check and close included).
- **consume_iter**: ``Order.consume_iter(max_messages=N, group_id=<fresh>)``, the group consumer
  handing out validated models. The group join (about 3 s on Tansu with
  ``session.timeout.ms=6000``) is excluded by timing from the first model on.

Medians over the rounds, and each as a fraction of raw, are printed (targets: read_topic at
least 1/3 of raw, consume_iter at least 1/6).

Usage::

    .venv/bin/python benchmarks/consume.py                  # starts a sandbox in a temp dir
    .venv/bin/python benchmarks/consume.py --rows 2000 --rounds 1
    FLOWODM_BENCH_BOOTSTRAP_SERVERS=host:9092 FLOWODM_BENCH_SCHEMA_REGISTRY_URL=http://... \\
        .venv/bin/python benchmarks/consume.py
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from workload import PARTITIONS, TOPIC, Order, build_orders, create_topic, stack

from flowodm.kafka.connection import Connection, connect, disconnect
from flowodm.pandas.read import read_topic

#: Tansu holds a classic group join for about half the session timeout: keep it short.
FAST_GROUPS = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000}
READ_TIMEOUT = 120.0


@dataclass
class Rates:
    """Messages per second per round for each variant."""

    raw: list[float] = field(default_factory=list)
    read_topic: list[float] = field(default_factory=list)
    consume_iter: list[float] = field(default_factory=list)


def raw_consume(connection: Connection, rows: int) -> float:
    """Seconds for a bare consumer to read ``rows`` messages of ``TOPIC``, touching values."""
    consumer = Consumer(
        connection.consumer_settings(
            {"group.id": f"bench-raw-{uuid.uuid4().hex}", "enable.auto.commit": False}
        )
    )
    try:
        consumer.list_topics(TOPIC, timeout=10)
        seen = 0
        started = time.perf_counter()
        consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        deadline = time.monotonic() + READ_TIMEOUT
        while seen < rows and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.1):
                if message.error() is None:
                    message.value()
                    seen += 1
        elapsed = time.perf_counter() - started
    finally:
        consumer.close()
    if seen != rows:
        raise RuntimeError(f"raw consumer read {seen} of {rows} messages")
    return elapsed


def frame_read(rows: int) -> float:
    """Seconds for ``read_topic(Order)``; check it returned every row."""
    started = time.perf_counter()
    frame = read_topic(Order, progress=False)
    elapsed = time.perf_counter() - started
    if len(frame) != rows:
        raise RuntimeError(f"read_topic returned {len(frame)} of {rows} rows")
    return elapsed


def iter_read(rows: int) -> float:
    """Seconds for ``consume_iter`` to hand out the last ``rows - 1`` models (join excluded)."""
    models = Order.consume_iter(
        max_messages=rows, group_id=f"bench-{uuid.uuid4().hex[:8]}", timeout=READ_TIMEOUT
    )
    next(models)  # the group join happens here
    started = time.perf_counter()
    count = 1 + sum(1 for _ in models)
    elapsed = time.perf_counter() - started
    if count != rows:
        raise RuntimeError(f"consume_iter handed out {count} of {rows} models")
    return elapsed


def run(rows: int, rounds: int) -> None:
    """Produce the workload once, then run the rounds and print the table."""
    with stack() as (bootstrap, registry):
        create_topic(bootstrap)
        connection = connect(
            bootstrap_servers=bootstrap, schema_registry_url=registry, consumer_config=FAST_GROUPS
        )
        try:
            delivered = Order.produce_many(build_orders(rows)).delivered
            if delivered != rows:
                raise RuntimeError(f"produce_many delivered {delivered} of {rows}")
            print(f"{rows} orders on {TOPIC} ({PARTITIONS} partitions), {rounds} round(s)")
            rates = Rates()
            for index in range(rounds):
                rates.raw.append(rows / raw_consume(connection, rows))
                rates.read_topic.append(rows / frame_read(rows))
                rates.consume_iter.append((rows - 1) / iter_read(rows))
                print(
                    f"round {index + 1}: raw {rates.raw[-1]:>10,.0f} msg/s   read_topic "
                    f"{rates.read_topic[-1]:>9,.0f} rows/s   consume_iter "
                    f"{rates.consume_iter[-1]:>9,.0f} models/s"
                )
            report(rates)
        finally:
            disconnect()


def report(rates: Rates) -> None:
    """Print medians and fractions of raw (median of the per-round fractions)."""
    raw = statistics.median(rates.raw)
    print(f"median raw confluent consume() : {raw:>10,.0f} msg/s ({1e6 / raw:.2f} us/msg)")
    for name, unit, values, target in (
        ("read_topic", "rows/s", rates.read_topic, "1/3, moonshot 1/2"),
        ("consume_iter", "models/s", rates.consume_iter, "1/6"),
    ):
        rate = statistics.median(values)
        fraction = statistics.median(v / r for v, r in zip(values, rates.raw, strict=True))
        print(f"median {name:<24}: {rate:>10,.0f} {unit} ({1e6 / rate:.2f} us/msg)")
        print(
            f"{name} / raw{'':<{18 - len(name)}}: {fraction:.3f} = 1/{1 / fraction:.2f} of raw "
            f"(target: at least {target})"
        )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="messages produced and read")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three reads")
    args = parser.parse_args(argv)
    run(args.rows, args.rounds)


if __name__ == "__main__":
    main()
