"""A two-process ``distributed.LocalCluster`` for the Dask tests, and reading topics back."""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterator
from typing import Any

import dask.dataframe as dd
import pandas as pd
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from distributed import Client, LocalCluster

from flowodm.dask import close_worker_connections
from flowodm.sandbox import Sandbox
from flowodm.testing import consume_all


@pytest.fixture(scope="session")
def dask_client(sandbox: Sandbox) -> Iterator[Client]:
    """Two worker processes of one thread each; the default client while the tests run.

    It needs the sandbox so that it stops first: the workers' connections are closed before
    the broker goes away.
    """
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client
        client.run(close_worker_connections)


@pytest.fixture(autouse=True)
def _close_local_connections() -> Iterator[None]:
    """Close the connections the local scheduler's tasks opened in this process."""
    yield
    close_worker_connections()


def read_back(
    sandbox: Sandbox, registry: SchemaRegistryClient, topic: str, expected: int, linger: float = 0
) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Consume ``topic``; decode every value with Confluent's own ``AvroDeserializer``."""
    deserializer = AvroDeserializer(registry)
    context = SerializationContext(topic, MessageField.VALUE)
    messages = consume_all(sandbox.bootstrap_servers, topic, expected, timeout=30, linger=linger)
    return [(m.key(), deserializer(m.value(), context)) for m in messages]


def orders(
    rows: int, *, invalid: Collection[int] = (), too_large: Collection[int] = ()
) -> pd.DataFrame:
    """``rows`` orders; rows in ``invalid`` have a negative amount, those in ``too_large`` a
    5,000-character customer id (over a ``message.max.bytes`` of 2,000)."""
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(rows)],
            "customer_id": ["x" * 5000 if i in too_large else f"c{i % 97}" for i in range(rows)],
            "amount": [-1.0 if i in invalid else float(i) for i in range(rows)],
            "quantity": [i % 7 for i in range(rows)],
        }
    )


def split(frame: pd.DataFrame, npartitions: int) -> tuple[dd.DataFrame, dict[int, tuple[int, int]]]:
    """``frame`` in ``npartitions`` partitions whose indexes each restart at 0 (as from files).

    Returns the Dask frame and, per original row position, its ``(partition, label)``.
    """
    base = dd.from_pandas(frame, npartitions=npartitions, sort=True)  # type: ignore[no-untyped-call]
    divisions = list(base.divisions)
    assert base.npartitions == npartitions
    where = {}
    for i in range(len(frame)):
        p = min(bisect.bisect_right(divisions, i) - 1, npartitions - 1)
        where[i] = (p, i - divisions[p])
    return base.map_partitions(lambda part: part.reset_index(drop=True)), where
