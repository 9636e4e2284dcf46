"""Things the Dask tests ship to the workers; importable there by reference (``tests.dask``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import Field

from flowodm.model import FlowBaseModel
from flowodm.pandas import RunProgress


class DaskOrder(FlowBaseModel):
    """An order keyed by ``order_id``; tests write it to their own topic with ``topic=``."""

    class Settings:
        topic = "dask-orders-unused"
        key_field = "order_id"

    order_id: str
    customer_id: str
    amount: float = Field(ge=0)
    quantity: int


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


_recorder = _Recorder()


def record_logs() -> None:
    """On a worker: record every log line of every logger at DEBUG from now on."""
    root = logging.getLogger()
    if _recorder not in root.handlers:
        root.addHandler(_recorder)
    root.setLevel(logging.DEBUG)
    _recorder.lines.clear()


def recorded_logs() -> list[str]:
    """On a worker: the lines recorded since ``record_logs``."""
    return list(_recorder.lines)


class DieOnce:
    """A ``callback`` that kills its worker process after the first chunk of the first task.

    Exactly one task dies (the marker file is created atomically); its partition is retried
    on a worker by the scheduler.
    """

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __call__(self, progress: RunProgress) -> None:
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os._exit(17)  # as a crash or the OOM killer would: no cleanup, no report


def fresh_model(topic: str) -> type[DaskOrder]:
    """A ``DaskOrder`` subclass of its own writing to ``topic``, shipped to workers by value.

    Made here rather than in a test: pydantic keeps the defining function's locals with a
    class, and a test's locals (the Dask client) cannot be pickled.
    """
    name = topic

    class FreshOrder(DaskOrder):
        class Settings:
            topic = name

    return FreshOrder
