"""A child process for the signal and crash tests: a consumer loop on the main thread.

``python -m tests.consume.loop_child MODE BOOTSTRAP REGISTRY TOPIC GROUP OUT``

- ``MODE=sigterm``: run a ``ConsumerLoop``; print ``ready`` after the first message; the
  parent sends SIGTERM. Afterwards it prints the SIGTERM handler it finds (``restored`` if it is
  the one from before ``run()``) and ``stats <processed>``.
- ``MODE=crash``: consume with ``Model.consumer()`` and append each processed order id to OUT;
  after 5 messages it SIGKILLs itself *before* fetching again, so the fifth message is processed
  but its offset never stored.
"""

from __future__ import annotations

import os
import signal
import sys

from flowodm.consume.loops import ConsumerLoop
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from tests.consume.conftest import FAST_GROUPS
from tests.consume.models import OrderFields, order_model


def main(mode: str, bootstrap: str, registry: str, topic: str, group: str, out: str) -> None:
    connection = Connection(
        build_config(
            bootstrap_servers=bootstrap,
            schema_registry_url=registry,
            consumer_config=FAST_GROUPS,
        )
    )
    order = order_model(topic, group)
    if mode == "sigterm":
        before = signal.getsignal(signal.SIGTERM)

        def handle(model: OrderFields) -> None:
            with open(out, "a") as sink:
                sink.write(f"{model.order_id}\n")
            print("ready", flush=True)

        loop = ConsumerLoop(order, handle, poll_timeout=0.2, connection=connection)
        stats = loop.run()
        print("restored" if signal.getsignal(signal.SIGTERM) is before else "changed", flush=True)
        print(f"stats {stats.processed}", flush=True)
        connection.close(5)
        return
    consumer = order.consumer(connection=connection)
    for done, message in enumerate(consumer.iter(timeout=30), start=1):
        with open(out, "a") as sink:
            sink.write(f"{message.value.order_id}\n" if message.value else "tombstone\n")
        if done == 5:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(*sys.argv[1:7])
