"""Ctrl-C during ``read_topic``, ``consume_iter`` and ``ConsumerLoop.run()`` (issue 13).

Each test runs a child process (``tests/consume/interrupt_child.py``), sends it SIGINT once it
says it is mid-run, and checks how the run ended, as ``tests/produce/test_interrupts.py`` does
for producing: a ``KeyboardInterrupt`` subclass (never a ``SystemError``), no traceback from a
librdkafka thread on stderr, the consumer closed, and what the user needs to resume: the
partial read with its ``ReadReport`` (``ReadInterrupted``), or the processed messages
committed (``ConsumeInterrupted``, checked against the group's committed offsets).
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from flowodm.consume.interrupts import ConsumeInterrupted, ReadInterrupted
from flowodm.consume.loops import LoopStats
from flowodm.consume.read_report import PartitionRange, ReadReport
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory
from tests.consume.helpers import committed, new_group
from tests.consume.models import order_model, orders
from tests.interrupts import interrupted_child

pytestmark = pytest.mark.integration

#: SIGINT runs per entry point (the signal's timing varies from run to run).
RUNS = 2
#: Messages produced per record batch of the read test, and how many batches.
BATCH, BATCHES = 25, 60
#: Text on stderr that would mean Ctrl-C escaped as something else.
_ESCAPED = ("Traceback", "SystemError", "Exception ignored")


def _interrupted_run(
    mode: str, sandbox: Sandbox, topic: str, group: str, count: int, cue: str, settle: float = 0
) -> dict[str, Any]:
    """Start a child run, SIGINT it ``settle`` s after it printed ``cue``, return its outcome."""
    args = [mode, sandbox.bootstrap_servers, sandbox.schema_registry_url, topic, group, str(count)]
    outcome = interrupted_child("tests.consume.interrupt_child", args, cue, settle)
    assert not any(text in outcome["stderr"] for text in _ESCAPED), outcome["stderr"]
    return outcome


def _check_interrupt(outcome: dict[str, Any], kind: str) -> None:
    assert outcome["type"] != "none", "the run finished before the signal; make it longer"
    assert outcome["type"] == kind, outcome
    assert outcome["keyboard_interrupt"], outcome
    assert outcome["notes"], outcome


@pytest.mark.timeout(120)
def test_ctrl_c_in_read_topic_raises_read_interrupted_with_the_partial_read(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    order = order_model(topic)
    for start in range(0, BATCH * BATCHES, BATCH):  # one producer batch per call
        order.produce_many(orders(order, BATCH, start), connection=conn)
    for _ in range(RUNS):
        outcome = _interrupted_run("read", sandbox, topic, "unused", 0, "READING")
        _check_interrupt(outcome, "ReadInterrupted")
        assert outcome["stopped"] == "interrupted", outcome
        assert 0 < outcome["read"] < BATCH * BATCHES, outcome
        # Nothing read is lost or doubled: the partial frame is exactly the offsets below
        # each partition's next offset, which the note offers as the start of the rest.
        assert outcome["partial_rows"] == outcome["returned"] == outcome["read"], outcome
        assert outcome["partial_is_below_next"], outcome
        assert any("start={0: " in note for note in outcome["notes"]), outcome


@pytest.mark.timeout(120)
def test_ctrl_c_in_consume_iter_closes_the_consumer_and_commits_what_was_handed_out(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    order = order_model(topic)
    sent = 30
    order.produce_many(orders(order, sent), connection=conn)
    for _ in range(RUNS):
        group = new_group("int-iter")
        # A moment after the last message: the child waits in a fetch, not in its loop body
        # (a Ctrl-C there is the body's own plain KeyboardInterrupt).
        outcome = _interrupted_run("iter", sandbox, topic, group, sent, "DRAINED", settle=0.5)
        _check_interrupt(outcome, "ConsumeInterrupted")
        assert outcome["handled"] == outcome["distinct"] == sent, outcome
        offsets = committed(sandbox.bootstrap_servers, group, topic, partitions=2)
        assert sum(offsets.values()) == sent, offsets


@pytest.mark.timeout(120)
def test_ctrl_c_in_a_consumer_loop_finishes_the_message_commits_and_raises(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    order = order_model(topic)
    order.produce_many(orders(order, 400), connection=conn)
    for _ in range(RUNS):
        group = new_group("int-loop")
        outcome = _interrupted_run("loop", sandbox, topic, group, 0, "HANDLING")
        _check_interrupt(outcome, "ConsumeInterrupted")
        assert 10 <= outcome["processed"] < 400, outcome
        assert outcome["handled"] == outcome["processed"], outcome
        assert outcome["started"] == outcome["handled"], outcome  # the one in hand finished
        # Every handled message is committed, and nothing beyond (one partition: in order).
        assert committed(sandbox.bootstrap_servers, group, topic) == {0: outcome["processed"]}


def test_the_interrupts_pickle_with_what_they_carry() -> None:
    report = ReadReport(
        model="Order", topic="t", read=3, returned=3, partitions=(PartitionRange(0, 0, 9, 3),)
    )
    read = ReadInterrupted("stopped", report=report, partial=[1, 2, 3])
    read.add_note("resume at 3")
    again = pickle.loads(pickle.dumps(read))
    assert isinstance(again, ReadInterrupted) and isinstance(again, KeyboardInterrupt)
    assert (again.report, again.partial, again.__notes__) == (report, [1, 2, 3], ["resume at 3"])
    stats = LoopStats(processed=5)
    consume = pickle.loads(pickle.dumps(ConsumeInterrupted("x", group_id="g", stats=stats)))
    assert (consume.group_id, consume.stats) == ("g", stats)
