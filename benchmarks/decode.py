"""Micro-benchmark: µs per record to Avro-decode 100k order-like records.

Run: ``.venv/bin/python benchmarks/decode.py [--rows N] [--rounds R]``. Prints the median over
rounds (variants interleave per round, so machine drift hits all alike) in µs/record and
records/s, and checks that every variant decoded the same values. Workload: the order-like
records of ``workload.py``, encoded once by fastavro with the parsed schema. Variants: fastavro's
``schemaless_reader`` (parsed schema, a ``BytesIO`` per body, as a consumer must), the
schema-specialised decoder (``_decodegen``), its columnar form (one list per field), the same
over all bodies in one call (``rows_decoder``, as ``read_topic`` uses it), and
``AvroCodec.decode`` (the specialised decoder behind a try and the writer-schema check).
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

from flowodm.pandas.read_columns import epoch_longs
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
    decode, columnar, rows = codec.specialised_decoder, codec.column_decoder, codec.rows_decoder
    assert decode is not None and columnar is not None and rows is not None, "not specialised"
    names, decode_into, units = columnar
    bodies = []
    buffer = BytesIO()
    for order in build_orders(args.rows):
        buffer.seek(0)
        buffer.truncate()
        fastavro.schemaless_writer(buffer, parsed, converter.to_datum(order))
        bodies.append(buffer.getvalue())

    def fastavro_parsed() -> list[Any]:
        read = fastavro.schemaless_reader
        return [
            read(
                BytesIO(b), parsed, None, return_record_name=True, return_record_name_override=True
            )
            for b in bodies
        ]

    def specialised() -> list[Any]:
        return [decode(b) for b in bodies]

    def columns() -> list[list[Any]]:
        out: list[list[Any]] = [[] for _ in names]
        for b in bodies:
            decode_into(b, out)
        return out

    def rows_columns() -> list[list[Any]]:
        out: list[list[Any]] = [[] for _ in names]
        assert rows(bodies, out, 0, b"") == len(bodies)
        return out

    def flowodm_codec() -> list[Any]:
        return [codec.decode(b) for b in bodies]

    reference = fastavro_parsed()
    # Timestamp columns hold the longs the datetimes stand for.
    reference_columns = [
        [epoch_longs(row[name], units[i]) if i in units else row[name] for row in reference]
        for i, name in enumerate(names)
    ]
    variants: dict[str, Callable[[], list[Any]]] = {
        "fastavro schemaless_reader, parsed schema": fastavro_parsed,
        "specialised decoder (dict per record)": specialised,
        "column decoder (lists per field)": columns,
        "rows decoder (one call, lists per field)": rows_columns,
        "AvroCodec.decode (specialised)": flowodm_codec,
    }
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            gc.collect()
            started = time.perf_counter()
            result = run()
            timings[name].append((time.perf_counter() - started) / args.rows * 1e6)
            expected = reference_columns if run in (columns, rows_columns) else reference
            assert result == expected, f"{name} decoded different values"

    print(f"{args.rows} records, median of {args.rounds} rounds")
    for name, values in timings.items():
        micros = statistics.median(values)
        print(f"  {name:<44} {micros:6.2f} µs/record  {1e6 / micros:>9,.0f} records/s")


if __name__ == "__main__":
    main()
