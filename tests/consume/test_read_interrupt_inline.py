"""A Ctrl-C that lands while the last fetch of a read is handled is never swallowed.

The deferred handler only sets a flag that the fetch loop checks before each fetch; a SIGINT
during the last fetch's handling (decoding, the progress bar) came after the last check, and
the read returned normally as if nothing had happened (found in review, reproduced).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from tqdm import tqdm

import flowodm
from flowodm.consume.interrupts import ReadInterrupted
from flowodm.kafka.connection import Connection
from flowodm.testing import TopicFactory
from tests.consume.models import order_model, orders

pytestmark = pytest.mark.integration


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Python's own SIGINT handler (the one a script has), whatever the test runner set."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _CtrlCInUpdate(tqdm):  # type: ignore[type-arg]
    """A progress bar whose first update is interrupted by SIGINT, as a user's Ctrl-C."""

    def update(self, n: float | None = 1) -> bool | None:
        if not getattr(self, "_fired", False):
            self._fired = True
            signal.raise_signal(signal.SIGINT)
        return super().update(n)


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_while_the_last_fetch_is_handled_raises_with_the_complete_read(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    order = order_model(topic)
    order.produce_many(orders(order, 20), connection=conn)  # one fetch: the first is the last

    with pytest.raises(ReadInterrupted) as raised:
        flowodm.read_topic(order, connection=conn, progress=_CtrlCInUpdate)

    assert raised.value.report.stopped == "interrupted"
    partial: Any = raised.value.partial
    assert len(partial) == 20  # everything was read; the user still learns Ctrl-C was seen
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
