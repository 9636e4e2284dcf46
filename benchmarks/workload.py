"""The benchmark workload and harness shared by the scripts in this directory.

Workload (performance-findings.md): order-like records with a UUID ``order_id``, a
``customer_id`` like ``CUST-0178501``, a 2-dp ``amount``, ``quantity`` 1-49, a tz-aware
``created_at`` at ms precision, a ``str`` Enum ``status`` of 5 values and a ``note`` on ~30% of
rows; as models (``build_orders``) or as a pandas frame (``build_frame``). Harness: the stack to
run against (``stack``), the benchmark topic, and raw confluent-kafka as the yardstick.

The scripts import it as ``workload``: Python puts a script's own directory first on
``sys.path``, so ``python benchmarks/produce.py`` finds it from any working directory.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel

__all__ = [
    "BOOTSTRAP_ENV",
    "REGISTRY_ENV",
    "TOPIC",
    "Order",
    "Status",
    "build_frame",
    "build_orders",
    "create_topic",
    "produce_raw",
    "raw_producer",
    "stack",
]

BOOTSTRAP_ENV = "FLOWODM_BENCH_BOOTSTRAP_SERVERS"
REGISTRY_ENV = "FLOWODM_BENCH_SCHEMA_REGISTRY_URL"
#: The topic of this run (``Order.Settings.topic``), fresh per process.
TOPIC = f"bench-orders-{uuid.uuid4().hex[:8]}"
PARTITIONS = 3


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


def build_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """Return the workload as a frame with pandas dtypes (str, float64, int64, datetime)."""
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


def create_topic(bootstrap: str) -> None:
    """Create ``TOPIC`` with ``PARTITIONS`` partitions."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result(15)


def raw_producer(connection: Connection, *, only_errors: bool = True) -> Producer:
    """A warmed-up producer with FlowODM's settings, reporting only errors like ``BulkSender``.

    Close it (``close()``) before the stack stops, or it keeps reconnecting to a dead broker.
    """
    extra: dict[str, Any] = {"queue.buffering.max.messages": 1_000_000}
    if only_errors:
        extra.update({"delivery.report.only.error": True, "on_delivery": lambda err, _msg: None})
    producer = Producer(connection.producer_settings(extra))
    producer.produce(TOPIC, b"warm-up")
    producer.flush(30)
    return producer


def produce_raw(producer: Producer, values: list[bytes], topic: str = TOPIC) -> int:
    """Produce pre-encoded ``values`` to ``topic``, wait until the queue is empty; return count."""
    produce = producer.produce
    for value in values:
        try:
            produce(topic, value)
        except BufferError:
            producer.poll(0.05)
            produce(topic, value)
    while len(producer):
        producer.poll(0.01)
    return len(values)


def timed_rows(job: Callable[[], int], rows: int, name: str) -> float:
    """Run ``job``, check it delivered ``rows``, return seconds."""
    start = time.perf_counter()
    delivered = job()
    elapsed = time.perf_counter() - start
    if delivered != rows:
        raise RuntimeError(f"{name} delivered {delivered} of {rows} rows")
    return elapsed


def paired_ratio(seconds: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of ``a``'s time divided by ``b``'s in the same round."""
    return statistics.median(x / y for x, y in zip(seconds[a], seconds[b], strict=True))


def median_rates(rows: int, seconds: dict[str, list[float]]) -> dict[str, float]:
    """Rows per second of each variant, from its median round time."""
    return {name: rows / statistics.median(s) for name, s in seconds.items()}
