"""Benchmark: DataFrame → Kafka rows/s for raw, naive, and ``df.flowodm.produce`` (both paths).

Workload (performance-findings.md): the same order-like frame in every variant: a UUID
``order_id``, ``customer_id`` like ``CUST-0178501``, a 2-dp ``amount``, ``quantity`` 1-49, a
tz-aware ``created_at`` at ms precision, a ``str`` Enum ``status`` of 5 values and a ``note``
on ~30% of rows (NaN elsewhere), with pandas dtypes (str, float64, int64,
datetime64[us, UTC]). Variants, interleaved within each round, one process:

* ``raw``: confluent-kafka producing the pre-encoded values (same bytes, header included)
  with ``delivery.report.only.error``: the ceiling.
* ``naive``: ``to_dict("records")`` → NaN fix → ``model_validate`` → ``model_dump`` →
  fastavro with the dict schema into a new BytesIO → ``produce(on_delivery=…)`` + ``poll(0)``.
* ``flowodm``: ``df.flowodm.produce(Order, columnar=False)`` (the per-row path).
* ``columnar``: ``df.flowodm.produce(Order)`` (the columnar path).

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
import datetime as dt
import enum
import io
import math
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import fastavro
import numpy as np
import pandas as pd
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.connection import Connection, connect, disconnect
from flowodm.model import FlowBaseModel
from flowodm.serde.model_codec import get_model_codec
from flowodm.serde.wire import frame_prefix
from flowodm.testing import consume_all

BOOTSTRAP_ENV = "FLOWODM_BENCH_BOOTSTRAP_SERVERS"
REGISTRY_ENV = "FLOWODM_BENCH_SCHEMA_REGISTRY_URL"
TOPIC = f"bench-frame-{uuid.uuid4().hex[:8]}"
VARIANTS = ("raw", "naive", "flowodm", "columnar")


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


def build_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """Return the workload frame with ``rows`` rows."""
    rng = np.random.default_rng(seed)
    uuids = [str(uuid.UUID(int=int(x), version=4)) for x in rng.integers(0, 2**63, rows)]
    start = np.datetime64("2026-01-01T00:00:00", "ms").astype(np.int64)
    has_note = rng.random(rows) < 0.3
    notes = [f"note {x:030x}" for x in rng.integers(0, 2**62, rows)]
    return pd.DataFrame(
        {
            "order_id": pd.Series(uuids, dtype="str"),
            "customer_id": pd.Series([f"CUST-{x:07d}" for x in rng.integers(0, 10**7, rows)]),
            "amount": np.round(rng.uniform(1, 1000, rows), 2),
            "quantity": rng.integers(1, 50, rows),
            "created_at": pd.to_datetime(
                start + rng.integers(0, 10**10, rows), unit="ms", utc=True
            ).astype("datetime64[us, UTC]"),
            "status": pd.Series(rng.choice([s.value for s in Status], rows), dtype="str"),
            "note": pd.Series(
                [n if keep else np.nan for n, keep in zip(notes, has_note, strict=True)]
            ),
        }
    )


# ------------------------------------------------------------------------------ variants


def raw_producer(connection: Connection, *, only_errors: bool = True) -> Producer:
    """A producer with FlowODM's settings, reporting only errors (as ``BulkSender`` does)."""
    extra: dict[str, Any] = {"queue.buffering.max.messages": 1_000_000}
    if only_errors:
        extra.update({"delivery.report.only.error": True, "on_delivery": lambda err, _msg: None})
    producer = Producer(connection.producer_settings(extra))
    producer.produce(TOPIC, b"warm-up")
    producer.flush(30)
    return producer


def produce_raw(producer: Producer, values: list[bytes]) -> int:
    """Produce pre-encoded ``values`` and wait until the queue is empty."""
    produce = producer.produce
    for value in values:
        try:
            produce(TOPIC, value)
        except BufferError:
            producer.poll(0.05)
            produce(TOPIC, value)
    while len(producer):
        producer.poll(0.01)
    return len(values)


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


def produce_frame(frame: pd.DataFrame, *, columnar: bool) -> int:
    """``df.flowodm.produce`` on the current connection; returns rows delivered."""
    report = frame.flowodm.produce(Order, columnar=columnar, progress=False)
    if report.columnar != (len(frame) if columnar else 0):
        raise RuntimeError(f"expected the {'columnar' if columnar else 'per-row'} path: {report}")
    delivered: int = report.delivered
    return delivered


# ------------------------------------------------------------------------------ harness


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


def timed(job: Callable[[], int], rows: int, name: str) -> float:
    """Run ``job``, check it delivered ``rows``, return seconds."""
    start = time.perf_counter()
    delivered = job()
    elapsed = time.perf_counter() - start
    if delivered != rows:
        raise RuntimeError(f"{name} delivered {delivered} of {rows} rows")
    return elapsed


def run(rows: int, rounds: int, verify: bool) -> dict[str, float]:
    """Run the benchmark, print the table and return median rows/s per variant."""
    frame = build_frame(rows)
    with stack() as (bootstrap, registry):
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(TOPIC, 3, 1)])[TOPIC].result(15)
        connection = connect(bootstrap_servers=bootstrap, schema_registry_url=registry)
        try:
            codec = get_model_codec(Order, connection)
            values = [codec.value_bytes(m) for m in frame.flowodm.to_models(Order)]
            header = frame_prefix(codec.schema_id or 0)
            print(
                f"{rows} rows, mean value {sum(map(len, values)) / rows:.1f} B, "
                f"topic {TOPIC} (3 partitions)"
            )
            producer = raw_producer(connection)
            naive = raw_producer(connection, only_errors=False)
            jobs: dict[str, Callable[[], int]] = {
                "raw": lambda: produce_raw(producer, values),
                "naive": lambda: produce_naive(naive, frame, header),
                "flowodm": lambda: produce_frame(frame, columnar=False),
                "columnar": lambda: produce_frame(frame, columnar=True),
            }
            warm = frame.iloc[: min(rows, 100)]
            produce_frame(warm, columnar=True)  # producer start and schema registration
            sent = 1 + len(warm)
            seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
            for index in range(rounds):
                for name in VARIANTS:
                    seconds[name].append(timed(jobs[name], rows, name))
                    sent += rows
                line = "   ".join(f"{n} {rows / seconds[n][-1]:>9,.0f}" for n in VARIANTS)
                print(f"round {index + 1}: rows/s  {line}")
            medians = report(rows, seconds)
            if verify:
                check_topic(bootstrap, sent, set(values) | {b"warm-up"})
            return medians
        finally:
            disconnect()


def report(rows: int, seconds: dict[str, list[float]]) -> dict[str, float]:
    """Print medians and paired ratios; return median rows/s per variant."""
    medians = {name: rows / statistics.median(s) for name, s in seconds.items()}

    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(seconds[a], seconds[b], strict=True))

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
