"""``flowodm demo``: the main job on the embedded sandbox, end to end.

Starts (or reuses) the local sandbox, builds a DataFrame of orders with a few broken rows,
produces it with ``df.flowodm.produce`` (progress bar, row-level report), then reads one message
back with Confluent's own ``AvroDeserializer`` to show the bytes are standard.
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

DEMO_TOPIC = "flowodm-demo-orders"


def add_parser(subparsers: Any) -> None:
    """Add ``flowodm demo`` to the command line."""
    parser = subparsers.add_parser(
        "demo", help="produce a DataFrame of orders to the local sandbox and show the report"
    )
    parser.add_argument("--rows", type=int, default=100_000, help="orders to produce")
    parser.add_argument("--data-dir", default=None, help="sandbox data directory")
    parser.add_argument(
        "--keep-sandbox",
        action="store_true",
        help="leave the sandbox running afterwards (default: stop it if the demo started it)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit code 0 when every valid row was delivered."""
    import flowodm
    from flowodm import sandbox

    already_running = sandbox.status(args.data_dir) is not None
    print("Starting the local sandbox (Tansu broker + FlowODM schema registry) ...")
    box = sandbox.start(data_dir=args.data_dir)
    print(f"  broker:   {box.bootstrap_servers}")
    print(f"  registry: {box.schema_registry_url}")
    try:
        return _produce_and_read_back(box, args.rows)
    finally:
        flowodm.disconnect()
        if not (already_running or args.keep_sandbox):
            sandbox.stop(args.data_dir)
            print("Sandbox stopped (use --keep-sandbox to leave it running).")


def _produce_and_read_back(box: Any, rows: int) -> int:
    import flowodm.pandas  # noqa: F401  (registers df.flowodm)
    from flowodm.cli.demo_data import DemoOrder, build_orders

    box.connect()
    _ensure_topic(box.bootstrap_servers, DEMO_TOPIC, partitions=3)
    frame = build_orders(rows)
    print(f"\nProducing {len(frame):,} orders to topic {DEMO_TOPIC!r} ...")
    # The report is printed whatever happened, so failures are returned, not raised.
    report = frame.flowodm.produce(DemoOrder, on_invalid="report", raise_on_error=False)
    print()
    print(report)
    print("\nOne message read back with Confluent's AvroDeserializer:")
    print(f"  {_read_one_with_confluent(box)}")
    # The three invalid rows are deliberate; the job fails only if a valid row was not delivered.
    return 0 if not report.failed and report.unconfirmed == 0 else 1


def _ensure_topic(bootstrap_servers: str, topic: str, *, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient

    from flowodm.sandbox.topics import create_topic

    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    if topic not in admin.list_topics(timeout=10).topics:
        create_topic(admin, topic, partitions)


def _read_one_with_confluent(box: Any) -> dict[str, Any]:
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    registry = SchemaRegistryClient({"url": box.schema_registry_url, "timeout": 10})
    deserializer = AvroDeserializer(registry)
    consumer = Consumer(
        {
            "bootstrap.servers": box.bootstrap_servers,
            "group.id": f"flowodm-demo-{tempfile.gettempprefix()}",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition(DEMO_TOPIC, 0, 0)])
        message = consumer.poll(10)
        if message is None or message.error():
            return {"error": "no message could be read back"}
        ctx = SerializationContext(DEMO_TOPIC, MessageField.VALUE)
        value: dict[str, Any] = deserializer(message.value(), ctx)
        return value
    finally:
        consumer.close()
        registry.close()
