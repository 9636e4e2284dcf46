"""Micro-benchmark: µs per record to Avro-encode 100k order-like records.

Run: ``.venv/bin/python benchmarks/encode.py [--rows N] [--rounds R]``. Prints the median over
rounds (variants interleave per round, so machine drift hits all alike) and checks that every
variant wrote the same bytes. Workload as in the performance notes: UUID order id, customer id,
2-dp amount, quantity 1-49, aware UTC created_at at ms precision, a 5-value status enum and a
note present on ~30% of rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import statistics
import time
import uuid
from collections.abc import Callable
from enum import StrEnum
from io import BytesIO
from typing import Any

import fastavro
from pydantic import BaseModel

from flowodm.schema import DatumConverter, build_avro_schema
from flowodm.serde.avro import AvroCodec


class Status(StrEnum):
    NEW = "NEW"
    PAID = "PAID"
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"


class Order(BaseModel):
    order_id: str
    customer_id: str
    amount: float
    quantity: int
    created_at: dt.datetime
    status: Status
    note: str | None = None


def make_orders(rows: int, seed: int = 7) -> list[Order]:
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    statuses = list(Status)
    return [
        Order(
            order_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            customer_id=f"CUST-{rng.randrange(10**7):07d}",
            amount=round(rng.uniform(1, 1000), 2),
            quantity=rng.randrange(1, 50),
            created_at=start + dt.timedelta(milliseconds=rng.randrange(10**10)),
            status=rng.choice(statuses),
            note=("n" * 32) if rng.random() < 0.3 else None,
        )
        for _ in range(rows)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    schema = build_avro_schema(Order, namespace="bench")
    parsed = fastavro.parse_schema(schema)
    converter = DatumConverter(Order, schema)
    codec = AvroCodec(schema)
    orders = make_orders(args.rows)
    datums = [converter.to_datum(o) for o in orders]

    def fastavro_dict_schema() -> list[bytes]:
        out = []
        for d in datums:
            buffer = BytesIO()
            fastavro.schemaless_writer(buffer, schema, d)
            out.append(buffer.getvalue())
        return out

    def fastavro_parsed_reused() -> list[bytes]:
        out = []
        buffer = BytesIO()
        for d in datums:
            buffer.seek(0)
            buffer.truncate()
            fastavro.schemaless_writer(buffer, parsed, d)
            out.append(buffer.getvalue())
        return out

    def flowodm_codec() -> list[bytes]:
        return codec.encode_many(datums)

    def flowodm_models() -> list[bytes]:
        to_datum, encode = converter.to_datum, codec.encode
        return [encode(to_datum(o)) for o in orders]

    def flowodm_decode() -> list[Any]:
        return [codec.decode(b) for b in reference]

    reference = fastavro_parsed_reused()
    variants: dict[str, Callable[[], list[Any]]] = {
        "fastavro, dict schema, new BytesIO": fastavro_dict_schema,
        "fastavro, parsed schema, reused BytesIO": fastavro_parsed_reused,
        "AvroCodec.encode (specialised)": flowodm_codec,
        "DatumConverter.to_datum + AvroCodec.encode": flowodm_models,
        "AvroCodec.decode (fastavro, parsed)": flowodm_decode,
    }
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            gc.collect()
            started = time.perf_counter()
            result = run()
            timings[name].append((time.perf_counter() - started) / args.rows * 1e6)
            if "decode" not in name:
                assert result == reference, f"{name} wrote different bytes"

    print(f"{args.rows} records, median of {args.rounds} rounds (µs/record)")
    for name, values in timings.items():
        print(f"  {name:<46} {statistics.median(values):6.2f}")


if __name__ == "__main__":
    main()
