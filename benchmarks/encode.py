"""Micro-benchmark: µs per record to Avro-encode 100k order-like records.

Run: ``.venv/bin/python benchmarks/encode.py [--rows N] [--rounds R]``. Prints the median over
rounds (variants interleave per round, so machine drift hits all alike) and checks that every
variant wrote the same bytes. Workload: the order-like records of ``workload.py`` (the
performance notes' UUID order id, customer id, 2-dp amount, quantity, aware UTC ``created_at``
at ms precision, 5-value status enum, note on ~30% of rows).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from io import BytesIO
from typing import Any

import fastavro
from workload import Order, build_orders

from flowodm.schema import DatumConverter, build_avro_schema
from flowodm.serde.avro import AvroCodec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    schema = build_avro_schema(Order, namespace="bench")
    parsed = fastavro.parse_schema(schema)
    converter = DatumConverter(Order, schema)
    codec = AvroCodec(schema)
    orders = build_orders(args.rows)
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
