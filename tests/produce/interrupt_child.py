"""A long produce run for the Ctrl-C tests, run as ``python -m tests.produce.interrupt_child``.

Arguments: ``many|frame BOOTSTRAP REGISTRY TOPIC``. The producer's queue is kept small and its
batches slow (``linger.ms``), so the run spends its time waiting inside librdkafka calls, where
a SIGINT used to surface as ``SystemError``. The child prints ``ACKED`` once the first
deliveries are acknowledged (the parent then sends SIGINT), and at the end one JSON line
describing the exception that ended the run.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pandas as pd

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm import FlowBaseModel
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.pandas import RunProgress

ROWS = 400_000
SLOW: dict[str, Any] = (
    {} if os.environ.get("FAST") else {"queue.buffering.max.messages": 2000, "linger.ms": 20}
)


class _Announce:
    """A tqdm stand-in for ``produce_many``: prints ``ACKED`` at the first acknowledgement."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.n = 0

    def update(self, n: int = 1) -> None:
        if self.n == 0 and n > 0:
            print("ACKED", flush=True)
        self.n += n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _on_chunk(progress: RunProgress) -> None:
    if progress.delivered > 0 and not getattr(_on_chunk, "said", False):
        _on_chunk.said = True  # type: ignore[attr-defined]
        print("ACKED", flush=True)


def main(mode: str, bootstrap: str, registry: str, topic: str) -> None:
    name = topic

    class Note(FlowBaseModel):
        class Settings:
            topic = name
            key_field = "note_id"

        note_id: str
        text: str

    connection = Connection(
        build_config(
            bootstrap_servers=bootstrap, schema_registry_url=registry, producer_config=SLOW
        )
    )
    outcome: dict[str, Any] = {}
    try:
        if mode == "many":
            notes = [Note(note_id=f"n{i}", text="x") for i in range(ROWS)]
            Note.produce_many(notes, connection=connection, progress=_Announce)  # type: ignore[arg-type]
        else:
            frame = pd.DataFrame({"note_id": [f"n{i}" for i in range(ROWS)], "text": "x"})
            frame.flowodm.produce(
                Note, connection=connection, progress=False, chunk_size=500, callback=_on_chunk
            )
        outcome["type"] = "none"
    except BaseException as exc:  # describe whatever ended it
        result = getattr(exc, "result", None)
        outcome = {
            "type": type(exc).__name__,
            "keyboard_interrupt": isinstance(exc, KeyboardInterrupt),
            "notes": getattr(exc, "__notes__", []),
            "result": None if result is None else type(result).__name__,
        }
        if result is not None:
            outcome["delivered"] = result.delivered
            outcome["failed"] = len(result.failed)
            outcome["total"] = result.total
            outcome["unconfirmed"] = getattr(result, "unconfirmed", 0)
    finally:
        connection.close(5)
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
