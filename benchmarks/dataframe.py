"""Benchmark: DataFrame → Kafka rows/s for raw, naive, and ``df.flowodm.produce`` (both paths).

Workload: the same order-like frame of ``workload.py`` (performance-findings.md) in every
variant, with pandas dtypes (str, float64, int64, datetime64[us, UTC]; the note is NaN where
absent). Variants, interleaved within each round, one process:

* ``raw``: confluent-kafka producing the pre-encoded values (same bytes, header included)
  with ``delivery.report.only.error``: the ceiling.
* ``naive``: ``to_dict("records")`` → NaN fix → ``model_validate`` → ``model_dump`` →
  fastavro with the dict schema into a new BytesIO → ``produce(on_delivery=…)`` + ``poll(0)``.
* ``flowodm``: ``df.flowodm.produce(Order, columnar=False)`` (the per-row path).
* ``columnar``: ``df.flowodm.produce(Order)`` (the columnar path).
* ``monitor``: the columnar path with a ``flowodm.widgets.DeliveryMonitor`` as its progress
  (``progress=monitor``, its widget tree built when ipywidgets is installed; both included in
  the time): the cost of watching a send live (target: within 10% of ``columnar``).

Every variant writes to one topic, timed until all rows are acknowledged. At the end the topic
is read back: the count must match and every payload must be one of the reference payloads
(byte-identical output across variants). Medians over rounds and the median of per-round
ratios are printed; targets: flowodm ≥ 1/10 of raw and ≥ 5x naive, columnar ≥ 1/4 of raw.

Usage::

    .venv/bin/python benchmarks/dataframe.py                 # starts a sandbox in a temp dir
    .venv/bin/python benchmarks/dataframe.py --rows 2000 --rounds 1
    FLOWODM_BENCH_BOOTSTRAP_SERVERS=host:9092 FLOWODM_BENCH_SCHEMA_REGISTRY_URL=http://... \\
        .venv/bin/python benchmarks/dataframe.py
"""

from __future__ import annotations

import argparse
import io
import math
from collections.abc import Callable
from contextlib import closing
from typing import Any

import fastavro
import pandas as pd
from confluent_kafka import Producer
from workload import (
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

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.kafka.connection import connect, disconnect
from flowodm.sandbox.topics import consume_all
from flowodm.serde.model_codec import get_model_codec
from flowodm.serde.wire import frame_prefix

VARIANTS = ("raw", "naive", "flowodm", "columnar", "monitor")


# ------------------------------------------------------------------------------ variants


def produce_naive(producer: Producer, frame: pd.DataFrame, header: bytes) -> int:
    """The loop most people write first; counts acknowledgements in a callback."""
    schema = Order.avro_schema()
    acked = [0]

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is None:
            acked[0] += 1

    for record in frame.to_dict("records"):
        clean = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()
        }
        datum = Order.model_validate(clean).model_dump()
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, schema, datum)
        while True:
            try:
                producer.produce(TOPIC, header + buffer.getvalue(), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    return acked[0]


def produce_frame(frame: pd.DataFrame, *, columnar: bool, progress: Any = False) -> int:
    """``df.flowodm.produce`` on the current connection; returns rows delivered."""
    report = frame.flowodm.produce(Order, columnar=columnar, progress=progress)
    if report.columnar != (len(frame) if columnar else 0):
        raise RuntimeError(f"expected the {'columnar' if columnar else 'per-row'} path: {report}")
    delivered: int = report.delivered
    return delivered


def produce_monitored(frame: pd.DataFrame) -> int:
    """The columnar path watched by a fresh ``DeliveryMonitor`` (its widgets built if possible)."""
    from flowodm.widgets import DeliveryMonitor
    from flowodm.widgets._ui import widgets_or_none

    monitor = DeliveryMonitor()
    if widgets_or_none() is not None:
        _ = monitor.widget  # refreshes then update real widget models, as in a notebook
    delivered = produce_frame(frame, columnar=True, progress=monitor)
    if monitor.delivered != delivered:
        raise RuntimeError(f"the monitor counted {monitor.delivered} of {delivered} rows")
    return delivered


# ------------------------------------------------------------------------------ harness


def run(rows: int, rounds: int, verify: bool) -> dict[str, float]:
    """Run the benchmark, print the table and return median rows/s per variant."""
    frame = build_frame(rows)
    with stack() as (bootstrap, registry):
        create_topic(bootstrap)
        connection = connect(bootstrap_servers=bootstrap, schema_registry_url=registry)
        try:
            codec = get_model_codec(Order, connection)
            values = [codec.value_bytes(m) for m in frame.flowodm.to_models(Order)]
            header = frame_prefix(codec.schema_id or 0)
            print(
                f"{rows} rows, mean value {sum(map(len, values)) / rows:.1f} B, "
                f"topic {TOPIC} (3 partitions)"
            )
            with (
                closing(raw_producer(connection)) as producer,
                closing(raw_producer(connection, only_errors=False)) as naive,
            ):
                seconds, sent = _rounds(rows, rounds, frame, producer, naive, values, header)
            medians = report(rows, seconds)
            if verify:
                check_topic(bootstrap, sent, set(values) | {b"warm-up"})
            return medians
        finally:
            disconnect()


def _rounds(
    rows: int,
    rounds: int,
    frame: pd.DataFrame,
    producer: Producer,
    naive: Producer,
    values: list[bytes],
    header: bytes,
) -> tuple[dict[str, list[float]], int]:
    """Time every variant ``rounds`` times, interleaved; return seconds and messages sent."""
    jobs: dict[str, Callable[[], int]] = {
        "raw": lambda: produce_raw(producer, values),
        "naive": lambda: produce_naive(naive, frame, header),
        "flowodm": lambda: produce_frame(frame, columnar=False),
        "columnar": lambda: produce_frame(frame, columnar=True),
        "monitor": lambda: produce_monitored(frame),
    }
    warm = frame.iloc[: min(rows, 100)]
    produce_frame(warm, columnar=True)  # producer start and schema registration
    sent = 2 + len(warm)  # and one warm-up message per raw producer
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for index in range(rounds):
        for name in VARIANTS:
            seconds[name].append(timed_rows(jobs[name], rows, name))
            sent += rows
        line = "   ".join(f"{n} {rows / seconds[n][-1]:>9,.0f}" for n in VARIANTS)
        print(f"round {index + 1}: rows/s  {line}")
    return seconds, sent


def report(rows: int, seconds: dict[str, list[float]]) -> dict[str, float]:
    """Print medians and paired ratios; return median rows/s per variant."""
    medians = median_rates(rows, seconds)

    def paired(a: str, b: str) -> float:
        return paired_ratio(seconds, a, b)

    print("\nmedian rows/s:")
    for name in VARIANTS:
        print(f"  {name:<9} {medians[name]:>10,.0f}")
    print("\npaired ratios (median over rounds of the per-round time ratio):")
    for variant, target in (("flowodm", 10), ("columnar", 4)):
        share = paired(variant, "raw")  # variant time / raw time: raw rate is this many times
        verdict = "met" if share <= target else "NOT met"
        print(f"  {variant:<9} 1/{share:.1f} of raw      (target >= 1/{target}: {verdict})")
    for variant in ("flowodm", "columnar"):
        speedup = paired("naive", variant)
        verdict = "met" if speedup >= 5 else "NOT met"
        print(f"  {variant:<9} {speedup:.1f}x naive        (target >= 5x: {verdict})")
    slower = paired("monitor", "columnar")  # monitored time / plain columnar time
    verdict = "met" if slower <= 1.10 else "NOT met"
    print(
        f"  monitor   {medians['monitor']:,.0f} vs {medians['columnar']:,.0f} rows/s columnar: "
        f"{(slower - 1) * 100:+.1f}% time (target <= +10%: {verdict})"
    )
    return medians


def check_topic(bootstrap: str, expected: int, payloads: set[bytes]) -> None:
    """Read the topic back: the count must match and every payload must be a reference one."""
    messages = consume_all(bootstrap, TOPIC, expected, timeout=120)
    strangers = sum(1 for m in messages if m.value() not in payloads)
    if len(messages) != expected or strangers:
        raise RuntimeError(f"read {len(messages)} of {expected} messages, {strangers} unexpected")
    print(f"\nread back {len(messages):,} messages: count matches, all payloads byte-identical")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-verify", action="store_true", help="skip reading the topic back")
    args = parser.parse_args()
    run(args.rows, args.rounds, not args.no_verify)


if __name__ == "__main__":
    main()
