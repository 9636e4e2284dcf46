"""Ctrl-C during ``produce_many`` and ``df.flowodm.produce`` ends with ``KeyboardInterrupt``.

librdkafka's ``poll()``/``flush()`` turn a SIGINT that arrives inside them into a
``SystemError`` (the signal handler raised inside a C call); FlowODM translates it back, purges
what is outstanding, and attaches what was acknowledged so far (``exc.result``) with a note
saying where to resume. The signal's timing decides which path it takes, so each test
interrupts several runs of a child process (``tests/produce/interrupt_child.py``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm import FlowBaseModel
from flowodm.kafka.connection import Connection
from flowodm.pandas import ProduceReport, RunProgress
from flowodm.produce.interrupt import ProduceInterrupted, interrupt_of
from flowodm.produce.results import ProduceManyResult
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory
from tests.interrupts import interrupted_child

pytestmark = pytest.mark.integration

#: SIGINT runs per entry point (the signal's timing decides which path it takes).
RUNS = 2


def _interrupted_run(mode: str, sandbox: Sandbox, topic: str) -> dict[str, Any]:
    """Start a child run, SIGINT it after its first acknowledgements, return its JSON outcome."""
    args = [mode, sandbox.bootstrap_servers, sandbox.schema_registry_url, topic]
    return interrupted_child("tests.produce.interrupt_child", args, "ACKED")


def _check(outcome: dict[str, Any], result_type: str) -> None:
    assert outcome["type"] != "none", "the run finished before the signal; make it longer"
    assert outcome["type"] == "ProduceInterrupted", outcome
    assert outcome["keyboard_interrupt"], outcome
    assert outcome["result"] == result_type, outcome
    assert outcome["delivered"] > 0, outcome  # ACKED was printed after acknowledgements
    assert outcome["delivered"] + outcome["failed"] + outcome["unconfirmed"] <= outcome["total"]
    assert any("resume" in note for note in outcome["notes"]), outcome


@pytest.mark.timeout(300)
def test_ctrl_c_in_produce_many_is_a_keyboard_interrupt_with_the_result(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    for _ in range(RUNS):
        _check(_interrupted_run("many", sandbox, make_topic()), "ProduceManyResult")


@pytest.mark.timeout(300)
def test_ctrl_c_in_dataframe_produce_is_a_keyboard_interrupt_with_the_report(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    for _ in range(RUNS):
        _check(_interrupted_run("frame", sandbox, make_topic()), "ProduceReport")


def _system_error_from_ctrl_c() -> SystemError:
    """What confluent-kafka raises when SIGINT's handler raised inside one of its C calls."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise SystemError(
                "<built-in method poll of cimpl.Producer object> returned a result with an "
                "exception set"
            ) from interrupt
    except SystemError as error:
        return error


class _CtrlCInsidePoll:
    """A progress bar whose first ``update`` (run inside the sender's polling) raises the
    ``SystemError`` confluent-kafka raises for a Ctrl-C in ``poll()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.n = 0

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n == n:  # the first acknowledgements only (Ctrl-C pressed once)
            raise _system_error_from_ctrl_c()

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_system_error_from_ctrl_c_in_produce_many_becomes_keyboard_interrupt(
    flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    note_cls = _note_model(make_topic())
    notes = [note_cls(note_id=f"n{i}", text="x") for i in range(20_000)]
    with pytest.raises(KeyboardInterrupt) as info:
        note_cls.produce_many(
            notes,
            connection=flowodm_connection,
            progress=_CtrlCInsidePoll,
        )
    error = info.value
    assert isinstance(error, ProduceInterrupted)
    assert error.__suppress_context__  # no SystemError in the traceback shown
    result = error.result
    assert isinstance(result, ProduceManyResult)
    assert result.delivered > 0  # the bar is told only once something was acknowledged
    assert result.delivered + len(result.failed) <= len(notes)
    assert all(f.maybe_written for f in result.failed)  # purged: may be on the topic
    (note,) = error.__notes__
    assert "To resume, send models[" in note
    # A real SystemError (no Ctrl-C behind it) is not disguised.
    assert interrupt_of(SystemError("a bug")) is None
    assert interrupt_of(_system_error_from_ctrl_c()) is not None


def test_a_system_error_from_ctrl_c_in_dataframe_produce_becomes_keyboard_interrupt(
    flowodm_connection: Connection, make_topic: TopicFactory
) -> None:
    note_cls = _note_model(make_topic())
    frame = pd.DataFrame({"note_id": [f"n{i}" for i in range(5000)], "text": "x"})

    def callback(progress: RunProgress) -> None:
        if progress.rows >= 2000:
            raise _system_error_from_ctrl_c()

    with pytest.raises(KeyboardInterrupt) as info:
        frame.flowodm.produce(
            note_cls,
            connection=flowodm_connection,
            chunk_size=1000,
            progress=False,
            callback=callback,
        )
    error = info.value
    assert isinstance(error, ProduceInterrupted)
    report = error.result
    assert isinstance(report, ProduceReport)
    assert report.total == 2000  # the rows handed to the run before the interrupt
    assert report.delivered + len(report.failed) + report.unconfirmed == 2000
    (note,) = error.__notes__
    assert "df.iloc[2000:]" in note and "failed_index" in note


def _note_model(topic: str) -> type[Any]:
    name = topic

    class Note(FlowBaseModel):
        class Settings:
            topic = name
            key_field = "note_id"

        note_id: str
        text: str

    return Note
