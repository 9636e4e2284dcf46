"""Benchmark: ``Model.produce_many`` against raw confluent-kafka producing the same bytes.

Workload (performance-findings.md): order-like records (UUID order id, customer id, amount,
quantity, tz-aware ``created_at``, a ``str`` Enum status, an optional note on ~30% of rows),
prebuilt as models before timing. The yardstick produces the very bytes ``produce_many``
writes (Confluent header + Avro body), pre-encoded, through a producer with the same settings
(``acks=all``, ``linger.ms=5``, idempotence, ``delivery.report.only.error``), timed from the
first ``produce()`` until the queue is empty. Rounds interleave the variants; medians and the
median of per-round ratios are printed. Per-message ``produce()`` is timed on a small sample.

Both producers are warmed up first (an idempotent producer needs ~0.5 s to get its producer
id); the cold first ``produce_many`` is printed separately.

Usage::

    .venv/bin/python benchmarks/produce.py                  # starts a sandbox in a temp dir
    .venv/bin/python benchmarks/produce.py --rows 2000 --rounds 1 --sample 50
    FLOWODM_BENCH_BOOTSTRAP_SERVERS=host:9092 FLOWODM_BENCH_SCHEMA_REGISTRY_URL=http://... \\
        .venv/bin/python benchmarks/produce.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from flowodm.connection import Connection, connect, disconnect
from flowodm.model import FlowBaseModel
from flowodm.serde.model_codec import get_model_codec

BOOTSTRAP_ENV = "FLOWODM_BENCH_BOOTSTRAP_SERVERS"
REGISTRY_ENV = "FLOWODM_BENCH_SCHEMA_REGISTRY_URL"
TOPIC = f"bench-orders-{uuid.uuid4().hex[:8]}"


class Status(enum.StrEnum):
    """Order status, a ``str`` Enum as in the workload."""

    NEW = "NEW"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class Order(FlowBaseModel):
    """The order-like record of performance-findings.md."""

    class Settings:
        topic = TOPIC

    order_id: str
    customer_id: str
    amount: float
    quantity: int
    created_at: dt.datetime
    status: Status
    note: str | None = None


def build_orders(rows: int, seed: int = 7) -> list[Order]:
    """Return ``rows`` deterministic order models."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    statuses = list(Status)
    return [
        Order(
            order_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            customer_id=f"CUST-{rng.randrange(10**7):07d}",
            amount=round(rng.uniform(1, 1000), 2),
            quantity=rng.randint(1, 49),
            created_at=start + dt.timedelta(milliseconds=rng.randrange(10**10)),
            status=rng.choice(statuses),
            note=f"note {rng.getrandbits(100):030x}" if rng.random() < 0.3 else None,
        )
        for _ in range(rows)
    ]


@dataclass
class Timings:
    """Seconds per round for each variant."""

    raw: list[float]
    many: list[float]


def produce_raw(producer: Producer, topic: str, values: list[bytes]) -> float:
    """Produce pre-encoded ``values`` and wait until all are acknowledged; return seconds."""
    produce = producer.produce
    start = time.perf_counter()
    for value in values:
        try:
            produce(topic, value)
        except BufferError:
            producer.poll(0.05)
            produce(topic, value)
    while len(producer):
        producer.poll(0.01)
    return time.perf_counter() - start


def produce_many(models: list[Order]) -> float:
    """Time ``Order.produce_many(models)``; check every model was delivered."""
    start = time.perf_counter()
    result = Order.produce_many(models)
    elapsed = time.perf_counter() - start
    if result.delivered != len(models):
        raise RuntimeError(f"produce_many delivered {result.delivered} of {len(models)}")
    return elapsed


def per_message(models: list[Order]) -> float:
    """Time upstream-style blocking ``produce()`` per message; return seconds."""
    start = time.perf_counter()
    for model in models:
        model.produce()
    return time.perf_counter() - start


def raw_producer(connection: Connection) -> Producer:
    """A producer with FlowODM's settings, reporting only errors like ``BulkSender``."""
    errors: list[object] = []
    settings = connection.producer_settings(
        {
            "delivery.report.only.error": True,
            "on_delivery": lambda err, _msg: errors.append(err),
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    producer = Producer(settings)
    producer.produce(TOPIC, b"warm-up")
    producer.flush(30)
    return producer


@contextmanager
def stack() -> Iterator[tuple[str, str]]:
    """Yield (bootstrap, registry URL): from the environment, or a temporary sandbox."""
    bootstrap, registry = os.environ.get(BOOTSTRAP_ENV), os.environ.get(REGISTRY_ENV)
    if bootstrap and registry:
        yield bootstrap, registry
        return
    from flowodm.sandbox import start, stop

    with tempfile.TemporaryDirectory(prefix="flowodm-bench-") as data_dir:
        sandbox = start(broker_port=0, registry_port=0, data_dir=data_dir)
        try:
            yield sandbox.bootstrap_servers, sandbox.schema_registry_url
        finally:
            stop(data_dir)


def run(rows: int, rounds: int, sample: int) -> None:
    """Run the benchmark and print the table."""
    with stack() as (bootstrap, registry):
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(TOPIC, 3, 1)])[TOPIC].result(15)
        connection = connect(bootstrap_servers=bootstrap, schema_registry_url=registry)
        try:
            models = build_orders(rows)
            codec = get_model_codec(Order, connection)
            values = codec.values_bytes(models)
            mean_size = sum(map(len, values)) / len(values)
            print(f"{rows} orders, mean value {mean_size:.1f} B, topic {TOPIC} (3 partitions)")

            cold = produce_many(models[:100])
            print(f"cold first produce_many(100): {cold * 1000:.0f} ms (producer start)")
            producer = raw_producer(connection)
            timings = Timings(raw=[], many=[])
            for index in range(rounds):
                timings.raw.append(produce_raw(producer, TOPIC, values))
                timings.many.append(produce_many(models))
                print(
                    f"round {index + 1}: raw {rows / timings.raw[-1]:>9,.0f} msg/s   "
                    f"produce_many {rows / timings.many[-1]:>9,.0f} msg/s"
                )
            report(rows, timings)
            single = per_message(models[:sample])
            print(
                f"per-message produce() x{sample}: {sample / single:,.0f} msg/s "
                f"({single / sample * 1000:.2f} ms each)"
            )
        finally:
            disconnect()


def report(rows: int, timings: Timings) -> None:
    """Print medians and the median of per-round ratios."""
    raw, many = statistics.median(timings.raw), statistics.median(timings.many)
    ratio = statistics.median(m / r for m, r in zip(timings.many, timings.raw, strict=True))
    print(f"median raw confluent-kafka : {rows / raw:>9,.0f} msg/s ({raw / rows * 1e6:.2f} us/msg)")
    print(
        f"median produce_many        : {rows / many:>9,.0f} msg/s ({many / rows * 1e6:.2f} us/msg)"
    )
    print(f"produce_many / raw         : 1/{ratio:.2f} of raw throughput (target: better than 1/5)")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="models per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 3)")
    parser.add_argument("--sample", type=int, default=1000, help="per-message produce() calls")
    args = parser.parse_args(argv)
    run(args.rows, args.rounds, args.sample)


if __name__ == "__main__":
    main()
