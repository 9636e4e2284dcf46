"""Consumers under network faults (issue 13): at-least-once across faults and a rebalance.

The producing suite's stack (``test_fault_suite``: a private Tansu broker that advertises a
``FaultProxy``) with the consumer entry points: ``consume_iter`` and ``consume_batch`` in a
group, a ``ConsumerLoop``, a second loop joining the group mid-stream, and ``read_topic``.

Each group scenario runs the three entry points at once (own topic, group and connection).
Half of each topic's ``MESSAGES`` uniquely keyed rows (two partitions) are produced first;
once every entry point handled a quarter (each waits there), the proxy cuts every connection,
stalls for ``STALL`` s, or blackholes for ``BLACKHOLE`` s (then heals), and the other half is
produced through the fault, so the consumers must fetch through it (Tansu answers a fetch with
everything it has, so nothing else would make them). Asserted (``tests.faults.consumer_ledger``):

- every message handed to the handler at least once (duplicates counted, none missing);
- committed offsets never pass a message that was not processed: sampled mid-stream (at three
  quarters) and at the end, when every message is committed;
- the consumer recovers after the heal, and no call hangs (each ``consume_batch`` returns
  within its timeout plus ``MARGIN``; ``pytest.mark.timeout`` and ``DEADLINE`` per scenario).

Consumers raise no error for a broker that is away (librdkafka retries); they recover.
``read_topic`` under a cut returns every message; under a blackhole with ``timeout=`` it
returns the rows read so far with ``report.stopped == "timeout"``, exactly the offsets below
each partition's ``next``. The figures go to ``$FLOWODM_RELIABILITY_CONSUMERS_JSON`` (else a
pytest temp dir), which ``scripts/reliability_table.py`` renders into docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowodm.consume.loops import ConsumerLoop
from flowodm.consume.profiles import LongRunningSettings
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.pandas.read import REPORT_ATTR, read_topic
from tests.faults import test_fault_suite as suite
from tests.faults.consumer_ledger import ConsumerLedger, ConsumerOutcome, locate
from tests.faults.proxy import FaultProxy
from tests.faults.rows import FaultRow, row_key
from tests.faults.test_fault_suite import MARGIN, STALL, Stack

pytestmark = [pytest.mark.faults, pytest.mark.integration]

# The producing suite's fixtures: a private broker behind the proxy (one per module), and the
# proxy passing before and after each scenario, with the check that no client stayed open.
stack = suite.stack
proxy_reset = suite.proxy_reset

#: Messages per scenario, produced in batches of ``PRODUCE_BATCH`` (one record batch each).
MESSAGES = 160
PRODUCE_BATCH = 10
PARTITIONS = 2
#: How long the blackhole lasts before the test heals it (shorter than the session timeout).
BLACKHOLE = 2.5
#: Short group timings (Tansu holds a join about half the session timeout) and small fetches.
#: The session outlasts the blackhole with room to spare: at 4 s a loaded machine (two test
#: workers on two cores) sometimes let it expire, and the final commit failed _ASSIGNMENT_LOST.
GROUP_CONFIG: dict[str, Any] = {
    "session.timeout.ms": 8000,
    "heartbeat.interval.ms": 500,
    "auto.commit.interval.ms": 200,
    "queued.max.messages.kbytes": 1,
    "max.partition.fetch.bytes": 512,
}
#: Prefetch about one producer batch per partition. (``queued.min.messages=1`` would do too,
#: but then a group-less reader never sees a fetch answer at a partition's end.)
SMALL_FETCHES = {"queued.max.messages.kbytes": 1, "max.partition.fetch.bytes": 512}
#: ``consume_batch``'s timeout, and ``consume_iter``'s idle timeout (longer than a fault).
BATCH_TIMEOUT = 1.0
IDLE = 8.0
#: Seconds each handled message takes, so the stream lasts across the fault.
WORK = 0.005
#: Every scenario consumes everything within this (its "no hang").
DEADLINE = 25.0
SCENARIO_LIMIT = 45
#: ``read_topic``'s timeout under the blackhole.
READ_TIMEOUT = 3.0

MODES = ("cut", "stall", "blackhole")
ENTRIES = ("consume_iter", "consume_batch", "loop")


def scenario_pairs() -> list[tuple[str, str]]:
    """Every (scenario, entry point) of this module, in table order (the docs test reads it)."""
    groups = [(mode, entry) for mode in MODES for entry in ENTRIES]
    return [*groups, ("rebalance", "loop"), ("cut", "read_topic"), ("blackhole", "read_topic")]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ConsumerOutcome]]:
    """Collects every scenario's figures; written as JSON when the module ends."""
    collected: list[ConsumerOutcome] = []
    yield collected
    target = os.environ.get("FLOWODM_RELIABILITY_CONSUMERS_JSON")
    path = Path(target) if target else tmp_path_factory.mktemp("reliability") / "consumers.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    order = {pair: i for i, pair in enumerate(scenario_pairs())}
    collected.sort(key=lambda o: order.get((o.scenario, o.entry), len(order)))
    payload = {
        "kind": "consumers",
        "messages_per_scenario": MESSAGES,
        "margin_s": MARGIN,
        "outcomes": [o.to_json() for o in collected],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")


def _connection(proxy: FaultProxy) -> Connection:
    return Connection(build_config(bootstrap_servers=proxy.address, consumer_config=GROUP_CONFIG))


def _produce(conn: Connection, topic: str, numbers: range) -> None:
    """Produce rows ``numbers``, ``PRODUCE_BATCH`` per call (one record batch each)."""
    for start in range(numbers.start, numbers.stop, PRODUCE_BATCH):
        rows = [FaultRow(key=row_key(n), n=n) for n in range(start, start + PRODUCE_BATCH)]
        FaultRow.produce_many(rows, connection=conn, topic=topic, timeout=DEADLINE)


def _fill(stack: Stack, conn: Connection, messages: int = MESSAGES) -> tuple[str, ConsumerLedger]:
    """A fresh topic with ``messages`` rows (no fault) and the ledger of its scenario."""
    topic = stack.new_topic()
    _produce(conn, topic, range(messages))
    return topic, ConsumerLedger(messages)


def _locate(proxy: FaultProxy, ledger: ConsumerLedger, topic: str) -> None:
    """Tell the ledger each key's offset (read with no fault, on a connection of its own)."""
    with Connection(build_config(bootstrap_servers=proxy.address)) as conn:
        ledger.where = locate(conn, topic)


class _Feeder(threading.Thread):
    """Produces a scenario's rows: the first half now, the rest once the fault has started.

    Tansu answers a fetch with everything it has (it ignores ``max.partition.fetch.bytes``),
    so the rows produced after the fault started are what makes the consumers fetch through
    it; producing them waits out the fault (the idempotent producer retries, no duplicates).
    """

    def __init__(self, conn: Connection, topic: str, started: threading.Event) -> None:
        super().__init__(name=f"feeder-{topic}", daemon=True)
        self.conn, self.topic, self.started = conn, topic, started
        self.error: BaseException | None = None
        _produce(conn, topic, range(MESSAGES // 2))

    def run(self) -> None:
        try:
            self.started.wait(DEADLINE)
            _produce(self.conn, self.topic, range(MESSAGES // 2, MESSAGES))
        except BaseException as exc:  # re-raised by the test
            self.error = exc


class _Tap:
    """One entry point's view of the scenario: records hand-outs, holds at a quarter, probes.

    At a quarter of the messages the handler waits until the fault has started (the scenario
    applies it once every entry point got there), so it lands mid-stream on all three. At
    three quarters it samples the group's committed offsets once.
    """

    def __init__(self, scenario: _Scenario, ledger: ConsumerLedger, group: str, topic: str):
        self.scenario, self.ledger, self.group, self.topic = scenario, ledger, group, topic
        self.reached = threading.Event()
        self._probed = False

    def hand(self, key: str) -> None:
        """Record one processed message (call from the handler, after its work)."""
        time.sleep(WORK)
        self.ledger.hand(key)
        count = len(self.ledger.handed)
        if count >= MESSAGES // 4 and not self.reached.is_set():
            self.reached.set()
            self.scenario.started.wait(DEADLINE)
        if not self._probed and count >= 3 * MESSAGES // 4:
            self._probed = True
            self.ledger.probe(self.scenario.proxy.address, self.group, self.topic, PARTITIONS)


class _Scenario:
    """The fault of one mode, applied once to the streams of every entry point."""

    def __init__(self, proxy: FaultProxy, mode: str) -> None:
        self.proxy, self.mode = proxy, mode
        self.started = threading.Event()
        self.taps: list[_Tap] = []
        self._timer: threading.Timer | None = None

    def tap(self, ledger: ConsumerLedger, group: str, topic: str) -> _Tap:
        tap = _Tap(self, ledger, group, topic)
        self.taps.append(tap)
        return tap

    def apply_when_reached(self) -> None:
        """Wait until every stream is a quarter through, then start the fault."""
        for tap in self.taps:
            tap.reached.wait(DEADLINE)
        now = time.monotonic()
        if self.mode == "cut":
            self.proxy.cut()
            self._healed(now)
        elif self.mode == "stall":
            self.proxy.stall(STALL)
            self._healed(now + STALL)
        else:
            self.proxy.blackhole()

            def heal() -> None:
                self.proxy.pass_through()
                self._healed(time.monotonic())

            self._timer = threading.Timer(BLACKHOLE, heal)
            self._timer.start()
        for tap in self.taps:
            tap.ledger.fault_at = now
        self.started.set()

    def _healed(self, when: float) -> None:
        for tap in self.taps:
            tap.ledger.healed_at = when

    def close(self) -> None:
        self.started.set()  # no handler keeps waiting
        if self._timer is not None:
            self._timer.cancel()


def _via_consume_iter(conn: Connection, tap: _Tap) -> None:
    """``consume_iter`` with an idle timeout, called again if it ends before everything came."""
    ledger, group, topic = tap.ledger, tap.group, tap.topic
    deadline = time.monotonic() + DEADLINE
    while not ledger.done and time.monotonic() < deadline:
        for row in FaultRow.consume_iter(
            group_id=group, topic=topic, connection=conn, timeout=IDLE
        ):
            tap.hand(row.key)
            if ledger.done or time.monotonic() > deadline:
                break
    FaultRow.commit(group_id=group, topic=topic, connection=conn)  # the last one is processed


def _via_consume_batch(conn: Connection, tap: _Tap) -> None:
    """``consume_batch(20, timeout=1)`` until everything came; times every call."""
    ledger, group, topic = tap.ledger, tap.group, tap.topic
    deadline = time.monotonic() + DEADLINE
    longest = 0.0
    while not ledger.done and time.monotonic() < deadline:
        began = time.monotonic()
        rows = FaultRow.consume_batch(
            20, timeout=BATCH_TIMEOUT, group_id=group, topic=topic, connection=conn
        )
        # The first call includes the group join; later ones must keep to the timeout.
        if ledger.handed:
            longest = max(longest, time.monotonic() - began)
        for row in rows:
            tap.hand(row.key)
    ledger.longest_call_s = round(longest, 2)
    FaultRow.commit(group_id=group, topic=topic, connection=conn)


def _loop(conn: Connection, topic: str, group: str, handle: Callable[[FaultRow], None]) -> Any:
    return ConsumerLoop(
        FaultRow,
        handle,
        settings=LongRunningSettings(max_poll_records=10),
        group_id=group,
        topic=topic,
        consumer_config=GROUP_CONFIG,
        connection=conn,
        poll_timeout=0.2,
    )


def _wait_for(done: Callable[[], bool], limit: float = DEADLINE) -> None:
    deadline = time.monotonic() + limit
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)


def _via_loop(conn: Connection, tap: _Tap) -> None:
    """A ``ConsumerLoop`` on its thread, stopped once everything was handled."""
    loop = _loop(conn, tap.topic, tap.group, lambda row: tap.hand(row.key))
    loop.start()
    try:
        _wait_for(lambda: tap.ledger.done)
    finally:
        loop.stop()
        loop.join(10)


RUNS: dict[str, Callable[[Connection, _Tap], None]] = {
    "consume_iter": _via_consume_iter,
    "consume_batch": _via_consume_batch,
    "loop": _via_loop,
}


def _check(outcome: ConsumerOutcome) -> None:
    """The consumer guarantees (docs/reliability.md)."""
    assert outcome.missing == 0, outcome
    assert outcome.handed >= outcome.messages, outcome
    assert outcome.committed_unprocessed == 0, outcome
    assert outcome.probes == 2, outcome  # mid-stream and at the end
    assert outcome.committed == outcome.messages, outcome  # everything processed is committed


@pytest.mark.timeout(SCENARIO_LIMIT)
@pytest.mark.parametrize("mode", MODES)
def test_consumers_under_a_fault(
    mode: str,
    stack: Stack,
    proxy_reset: FaultProxy,
    outcomes: list[ConsumerOutcome],
) -> None:
    """Every entry point at once (own topic, group and connection), under one fault."""
    scenario = _Scenario(proxy_reset, mode)
    conns = {entry: _connection(proxy_reset) for entry in ENTRIES}
    errors: list[BaseException] = []

    def run(entry: str, tap: _Tap) -> None:
        try:
            RUNS[entry](conns[entry], tap)
        except BaseException as exc:  # re-raised on the test's thread
            errors.append(exc)
            tap.reached.set()

    threads: list[threading.Thread] = []
    feeders: list[_Feeder] = []
    try:
        for entry in ENTRIES:
            topic = stack.new_topic()
            feeders.append(_Feeder(conns[entry], topic, scenario.started))
            tap = scenario.tap(ConsumerLedger(MESSAGES), f"fault-{uuid.uuid4().hex[:10]}", topic)
            threads.append(threading.Thread(target=run, args=(entry, tap), name=entry))
        for thread in [*feeders, *threads]:
            thread.start()
        scenario.apply_when_reached()
        for thread in [*feeders, *threads]:
            thread.join(DEADLINE)
    finally:
        scenario.close()
        for conn in conns.values():
            conn.close(5)  # closes the model-level calls' shared consumers
    errors += [feeder.error for feeder in feeders if feeder.error is not None]
    assert not errors, errors
    assert not any(t.is_alive() for t in [*feeders, *threads]), "an entry point hung"
    proxy_reset.pass_through()
    for entry, tap in zip(ENTRIES, scenario.taps, strict=True):
        final = tap.ledger.probe(proxy_reset.address, tap.group, tap.topic, PARTITIONS)
        _locate(proxy_reset, tap.ledger, tap.topic)
        outcome = tap.ledger.outcome(mode, entry, final)
        outcomes.append(outcome)
        _check(outcome)
        assert outcome.recovered_s is not None, outcome
        if outcome.longest_call_s is not None:
            assert outcome.longest_call_s <= BATCH_TIMEOUT + MARGIN, outcome


@pytest.mark.timeout(SCENARIO_LIMIT)
def test_a_second_consumer_joining_mid_stream_loses_nothing(
    stack: Stack,
    proxy_reset: FaultProxy,
    outcomes: list[ConsumerOutcome],
) -> None:
    """Loop B joins A's group after an eighth; A is slow from then until B handled one.

    The join of B revokes A's partitions mid-stream (A commits what it processed on them) and
    splits them; across both, every message is processed at least once.
    """
    conn = _connection(proxy_reset)
    group = f"fault-{uuid.uuid4().hex[:10]}"
    by_b: list[str] = []
    b_started = threading.Event()
    scenario = _Scenario(proxy_reset, "none")
    scenario.started.set()  # no fault here; the probe at 3/4 still runs
    try:
        topic, ledger = _fill(stack, conn)
        tap = scenario.tap(ledger, group, topic)

        def handle_a(row: FaultRow) -> None:
            time.sleep(0.1 if b_started.is_set() and not by_b else 0)
            tap.hand(row.key)

        def handle_b(row: FaultRow) -> None:
            by_b.append(row.key)
            tap.hand(row.key)

        loop_a, loop_b = _loop(conn, topic, group, handle_a), _loop(conn, topic, group, handle_b)
        loop_a.start()
        try:
            _wait_for(lambda: len(ledger.handed) >= MESSAGES // 8)
            ledger.healed_at = time.monotonic()  # "recovered": from B's start to the next one
            b_started.set()
            loop_b.start()
            try:
                _wait_for(lambda: ledger.done)
            finally:
                loop_b.stop()
                loop_b.join(10)
        finally:
            loop_a.stop()
            loop_a.join(10)
    finally:
        conn.close(5)
    final = ledger.probe(proxy_reset.address, group, topic, PARTITIONS)
    _locate(proxy_reset, ledger, topic)
    outcome = ledger.outcome("rebalance", "loop", final)
    outcomes.append(outcome)
    _check(outcome)
    assert by_b, "the second consumer never got a partition: the rebalance did not happen"


class _FaultAtFirstFetch:
    """A progress "bar" for ``read_topic`` that starts ``action`` before the first fetch.

    The bar is made once the read's set-up (metadata, end offsets) is done, right before the
    messages are fetched. (After the first fetch would be too late: Tansu answers a fetch with
    every message it has.)
    """

    action: Callable[[], None] = staticmethod(lambda: None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.n = 0
        self.total = kwargs.get("total")
        type(self).action()

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        pass


@pytest.mark.timeout(SCENARIO_LIMIT)
@pytest.mark.parametrize("mode", ["cut", "blackhole"])
def test_read_topic_under_a_fault(
    mode: str,
    stack: Stack,
    proxy_reset: FaultProxy,
    outcomes: list[ConsumerOutcome],
) -> None:
    """A cut costs nothing; a blackhole ends the read at ``timeout`` with what it has."""
    conn = _connection(proxy_reset)
    try:
        topic, ledger = _fill(stack, conn)
        _locate(proxy_reset, ledger, topic)
        _FaultAtFirstFetch.action = proxy_reset.cut if mode == "cut" else proxy_reset.blackhole
        began = time.monotonic()
        frame = read_topic(
            FaultRow,
            topic=topic,
            connection=conn,
            timeout=READ_TIMEOUT if mode == "blackhole" else None,
            metadata=["_partition", "_offset"],
            consumer_config=SMALL_FETCHES,
            progress=_FaultAtFirstFetch,  # type: ignore[arg-type]
        )
        took = time.monotonic() - began
    finally:
        _FaultAtFirstFetch.action = staticmethod(lambda: None)
        proxy_reset.pass_through()
        conn.close(5)
    report = frame.attrs[REPORT_ATTR]
    for key in frame["key"]:
        ledger.hand(key)
    pairs = sorted(zip(frame["_partition"], frame["_offset"], strict=True))
    below_next = sorted((p.partition, o) for p in report.partitions for o in range(p.start, p.next))
    nexts = {p.partition: p.next for p in report.partitions}
    # A read commits nothing: its "committed at the end" are the offsets it reached.
    outcome = ledger.outcome(mode, "read_topic", nexts)
    outcome = ConsumerOutcome(**{**outcome.to_json(), "longest_call_s": round(took, 2)})
    outcomes.append(outcome)
    assert outcome.duplicates == 0, outcome
    assert pairs == below_next, "the rows are not exactly the offsets the report says were read"
    if mode == "cut":
        assert report.complete and outcome.missing == 0, (report, outcome)
    else:
        assert report.stopped == "timeout" and outcome.missing > 0, (report, outcome)
        assert not report.complete and "stopped at the timeout" in report.summary()
        assert took <= READ_TIMEOUT + MARGIN, outcome


# ---------------------------------------------------------------------- the committed table


def _reliability_table() -> Any:
    sys.path.insert(0, str(suite.ROOT / "scripts"))
    import reliability_table

    return reliability_table


def test_the_committed_consumer_table_has_one_row_per_scenario_and_keeps_the_promise() -> None:
    table = _reliability_table()
    rows = table.parse_table((suite.ROOT / "docs" / "reliability.md").read_text(), consumers=True)
    header, body = rows[0], rows[1:]
    assert tuple(header) == table.CONSUMER_HEADER
    assert [(row[0], row[1].strip("`")) for row in body] == scenario_pairs()
    group_rows = [row for row in body if row[1] != "`read_topic`"]
    for name in ("missing", "committed past unprocessed"):
        assert {row[header.index(name)] for row in group_rows} == {"0"}, name


def test_the_consumer_table_renders_into_its_own_markers(tmp_path: Path) -> None:
    table = _reliability_table()
    outcome = ConsumerOutcome("cut", "loop", 10, 12, 2, 0, 10, 0, 2, 0.5, None).to_json()
    source = tmp_path / "consumers.json"
    source.write_text(json.dumps({"kind": "consumers", "outcomes": [outcome]}))
    page = tmp_path / "page.md"
    producers = f"{table.START}\nproducers\n{table.END}"
    page.write_text(f"{producers}\n{table.CONSUMER_START}\nold\n{table.CONSUMER_END}\n")
    assert table.main([str(source), "--write", str(page)]) == 0
    text = page.read_text()
    assert producers in text and "old" not in text  # the producing table is left alone
    assert table.parse_table(text, consumers=True)[1] == [
        "cut", "`loop`", "10", "12", "2", "0", "10", "0", "0.50 s", table.NONE
    ]  # fmt: skip
