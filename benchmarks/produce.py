"""Benchmark: ``Model.produce_many`` against raw confluent-kafka producing the same bytes.

Workload: the order-like records of ``workload.py`` (performance-findings.md), prebuilt as
models before timing. The yardstick produces the very bytes ``produce_many`` writes (Confluent
header + Avro body), pre-encoded, through a producer with the same settings (``acks=all``,
``linger.ms=5``, idempotence, ``delivery.report.only.error``), timed from the first
``produce()`` until the queue is empty. Rounds interleave the variants; medians and the
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
import statistics
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

from workload import TOPIC, Order, build_orders, create_topic, produce_raw, raw_producer, stack

from flowodm.kafka.connection import connect, disconnect
from flowodm.serde.model_codec import get_model_codec


@dataclass
class Timings:
    """Seconds per round for each variant."""

    raw: list[float]
    many: list[float]


def timed(job: Callable[[], object]) -> float:
    """Seconds ``job`` takes."""
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


def produce_many(models: list[Order]) -> None:
    """``Order.produce_many(models)``; check every model was delivered."""
    result = Order.produce_many(models)
    if result.delivered != len(models):
        raise RuntimeError(f"produce_many delivered {result.delivered} of {len(models)}")


def per_message(models: list[Order]) -> None:
    """Upstream-style blocking ``produce()`` per message."""
    for model in models:
        model.produce()


def run(rows: int, rounds: int, sample: int) -> None:
    """Run the benchmark and print the table."""
    with stack() as (bootstrap, registry):
        create_topic(bootstrap)
        connection = connect(bootstrap_servers=bootstrap, schema_registry_url=registry)
        try:
            models = build_orders(rows)
            values = get_model_codec(Order, connection).values_bytes(models)
            mean_size = sum(map(len, values)) / len(values)
            print(f"{rows} orders, mean value {mean_size:.1f} B, topic {TOPIC} (3 partitions)")

            cold = timed(lambda: produce_many(models[:100]))
            print(f"cold first produce_many(100): {cold * 1000:.0f} ms (producer start)")
            timings = Timings(raw=[], many=[])
            with closing(raw_producer(connection)) as producer:
                for index in range(rounds):
                    timings.raw.append(timed(lambda: produce_raw(producer, values)))
                    timings.many.append(timed(lambda: produce_many(models)))
                    print(
                        f"round {index + 1}: raw {rows / timings.raw[-1]:>9,.0f} msg/s   "
                        f"produce_many {rows / timings.many[-1]:>9,.0f} msg/s"
                    )
            report(rows, timings)
            single = timed(lambda: per_message(models[:sample]))
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
