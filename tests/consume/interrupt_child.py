"""Long consumer runs for the Ctrl-C tests, run as ``python -m tests.consume.interrupt_child``.

Arguments: ``read|iter|loop BOOTSTRAP REGISTRY TOPIC GROUP COUNT``. The child prints one line
when the parent should send SIGINT, and at the end one JSON line describing the exception that
ended the run (``tests.produce.interrupt_child`` does the same for producing):

- ``read``: ``read_topic`` with small fetches and a progress bar that is slow to update, so the
  read takes a while; ``READING`` after the first fetch.
- ``iter``: ``consume_iter`` in GROUP without an idle timeout; ``DRAINED`` once COUNT messages
  were handled, so the signal lands while it waits for more.
- ``loop``: ``ConsumerLoop.run()`` in GROUP with a slow handler; ``HANDLING`` after 10
  messages, so the signal lands while messages are being handled.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from typing import Any

from flowodm.consume.loops import ConsumerLoop
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.pandas.read import read_topic
from tests.consume.conftest import FAST_GROUPS
from tests.consume.models import OrderFields, order_model

#: Small fetches: each returns about one producer batch per partition.
SMALL_FETCHES = {"max.partition.fetch.bytes": 512}
#: Seconds each progress update (read) or handler call (loop) takes.
SLOW = 0.02


class _SlowBar:
    """A tqdm stand-in that prints ``READING`` at the first update and sleeps at each one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.n = 0
        self.total = kwargs.get("total")

    def update(self, n: int = 1) -> None:
        if self.n == 0:
            print("READING", flush=True)
        self.n += n
        time.sleep(SLOW)

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _describe(exc: BaseException) -> dict[str, Any]:
    outcome: dict[str, Any] = {
        "type": type(exc).__name__,
        "keyboard_interrupt": isinstance(exc, KeyboardInterrupt),
        "notes": getattr(exc, "__notes__", []),
        # Where it was raised (the last frames), to tell a fetch from the loop body.
        "raised_in": [line.strip() for line in traceback.format_tb(exc.__traceback__)[-2:]],
    }
    report = getattr(exc, "report", None)
    if report is not None:
        partial = exc.partial  # type: ignore[attr-defined]
        pairs = sorted(
            zip(partial["_partition"].tolist(), partial["_offset"].tolist(), strict=True)
        )
        below_next = sorted(
            (p.partition, o) for p in report.partitions for o in range(p.start, p.next)
        )
        outcome.update(
            stopped=report.stopped,
            read=report.read,
            returned=report.returned,
            ends=[p.end for p in report.partitions],
            nexts=[p.next for p in report.partitions],
            partial_rows=len(partial),
            partial_is_below_next=pairs == below_next,
        )
    stats = getattr(exc, "stats", None)
    if stats is not None:
        outcome["processed"] = stats.processed
    return outcome


def main(mode: str, bootstrap: str, registry: str, topic: str, group: str, count: str) -> None:
    connection = Connection(
        build_config(
            bootstrap_servers=bootstrap, schema_registry_url=registry, consumer_config=FAST_GROUPS
        )
    )
    order = order_model(topic, group)
    handled: list[str] = []
    started: list[str] = []
    outcome: dict[str, Any] = {}
    try:
        if mode == "read":
            read_topic(
                order,
                connection=connection,
                metadata=["_partition", "_offset"],
                consumer_config=SMALL_FETCHES,
                progress=_SlowBar,  # type: ignore[arg-type]
            )
        elif mode == "iter":
            for model in order.consume_iter(connection=connection):
                handled.append(model.order_id)
                if len(handled) == int(count):
                    print("DRAINED", flush=True)
        else:

            def handle(model: OrderFields) -> None:
                started.append(model.order_id)  # a Ctrl-C in the sleep must let it finish
                time.sleep(SLOW)
                handled.append(model.order_id)
                if len(handled) == 10:
                    print("HANDLING", flush=True)

            ConsumerLoop(order, handle, poll_timeout=0.2, connection=connection).run()
        outcome["type"] = "none"
    except BaseException as exc:  # describe whatever ended it
        outcome = _describe(exc)
    finally:
        connection.close(5)
    outcome["handled"] = len(handled)
    outcome["started"] = len(started)
    outcome["distinct"] = len(set(handled))
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:7])
