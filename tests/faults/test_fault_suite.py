"""The fault suite (issue 13): every produce entry point under every network fault, row by row.

A private Tansu broker advertises a ``FaultProxy``'s address, so every client connection passes
through the proxy. Each scenario sends ``ROWS`` uniquely keyed rows through one entry point
(``produce()`` from threads, ``aproduce()`` under ``gather``, ``produce_many``,
``df.flowodm.produce``, the backfill CLI as a subprocess). A quarter of the rows go first with
the proxy passing; then the fault is applied and the rest are sent. Afterwards the proxy passes
again and the topic is read back from offset 0 (the broker advertises only the proxy, so the
read-back goes through it too, in pass mode on fresh connections). ``tests.faults.ledger``
compares what was reported with what is on the topic.

Asserted in every scenario: no silent loss (delivered but missing, or never reported), no row
wrongly reported "not written", no row reported twice, no duplicates, the first error within
its documented bound plus ``MARGIN``, and no hang (``pytest.mark.timeout`` per scenario).
Faults that heal (a cut, a stall shorter than the timeout, latency) must deliver every row;
faults that last (refused, blackholed, replies dropped) must report failures.

Timeouts are short and set through the public options: ``message.timeout.ms`` 3000 in
``producer_config`` and ``produce_timeout`` 4 s for ``produce()``/``aproduce()``;
``timeout=3, stall_timeout=3`` for ``produce_many``/``df.flowodm.produce``; ``--timeout 3``
for the CLI. The figures go to a JSON file (``$FLOWODM_RELIABILITY_JSON``, else a pytest temp
dir) that ``scripts/reliability_table.py`` renders into ``docs/reliability.md``.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from confluent_kafka.admin import AdminClient

from flowodm.exceptions import (
    DeliveryTimeoutError,
    PartialDeliveryError,
    ProducerError,
    SchemaRegistryError,
)
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.kafka.errors import may_have_been_written
from flowodm.model import FlowBaseModel
from flowodm.pandas.reports import ProduceReport
from flowodm.produce.results import ProduceManyResult
from flowodm.sandbox import Sandbox
from flowodm.sandbox.topics import create_topic
from flowodm.testing import consume_all
from tests.faults.broker import AdvertisingBroker
from tests.faults.ledger import Ledger, Outcome, keys_of, read_keys
from tests.faults.proxy import FaultProxy
from tests.faults.rows import FaultRow, row_key

pytestmark = [pytest.mark.faults, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]

#: Rows per scenario; the first quarter goes before the fault.
ROWS = 400
#: ``message.timeout.ms`` of every producer in the suite, in seconds.
MESSAGE_TIMEOUT = 3.0
#: ``produce_timeout``: how long ``produce()``/``aproduce()`` wait (longer, so librdkafka reports).
CALL_TIMEOUT = 4.0
#: ``registry_timeout`` for the registry scenarios (each request; retried once).
REGISTRY_TIMEOUT = 1.0
#: Slack on every time bound: a loaded 2-core VM, a producer replaced after a lost broker.
MARGIN = 3.0
#: A stall shorter than the delivery timeout: the streams resume intact.
STALL = 1.5
#: A stall longer than it: rows time out on the client, then the held bytes reach the broker.
LONG_STALL = MESSAGE_TIMEOUT + 1.5
#: Added each way in the latency scenario.
LATENCY_MS = 30
#: Threads calling ``produce()``; ``aproduce()`` calls awaited together.
THREADS = 8
WAVE = 25
#: The backfill CLI reads and finishes this many rows at a time (its first chunk: pre-fault).
CHUNK = ROWS // 4
#: Rows sent one by one after the fault heals, until one is acknowledged.
RECOVERY_ATTEMPTS = 3
#: After a heal, the same connection delivers again within this: at most one attempt fails
#: (Tansu fences an idempotent producer that timed out; the next call gets a fresh one).
RECOVERY_BOUND = 2 * MESSAGE_TIMEOUT
#: How long a closed client may take to close its sockets (checked after each scenario).
LEAK_WAIT = 3.0
#: The module's admin client bootstraps at the broker itself and keeps one connection through
#: the proxy (to the advertised broker); it is the only client allowed to outlive a scenario.
ADMIN_CONNECTIONS = 1
#: No scenario may take longer (the suite's "no hang").
SCENARIO_LIMIT = 40

ENTRIES = ("produce", "aproduce", "produce_many", "dataframe", "cli")
HEALING = ("pass", "cut", "stall", "latency")
LASTING = ("refuse", "blackhole", "stall_long", "drop_replies")
MODES = HEALING + LASTING
REGISTRY_FAULTS = ("refuse", "blackhole", "http 500", "slow")
#: The scenario of tests/faults/test_broker_crash.py (its own broker, s3 storage, no proxy).
RESTART = "broker restart"

#: Where the bound of each entry point's first error comes from (docs/producing.md,
#: docs/dataframes.md, docs/backfill.md): ``message.timeout.ms`` (shorter than the call's
#: timeout) for single messages, the bulk ``timeout``/``stall_timeout`` for batches, the
#: ``--timeout`` of the chunk in flight for the CLI.
BOUNDS = {entry: MESSAGE_TIMEOUT for entry in ENTRIES}
REGISTRY_BOUND = 2 * REGISTRY_TIMEOUT


def scenario_pairs() -> list[tuple[str, str]]:
    """Every (scenario, entry point) pair of the suite, in table order (the docs test reads it).

    The broker restart rows come last: their module writes its own JSON, rendered after this one.
    """
    broker = [(mode, entry) for mode in MODES for entry in ENTRIES]
    registry = [(f"registry {kind}", "produce") for kind in REGISTRY_FAULTS]
    return broker + registry + [(RESTART, entry) for entry in ENTRIES]


# ---------------------------------------------------------------------- fixtures


@dataclass
class Stack:
    """The proxy, the broker behind it, and one admin client to create topics with."""

    proxy: FaultProxy
    broker: AdvertisingBroker
    admin: AdminClient | None

    def new_topic(self) -> str:
        """A fresh 2-partition topic (created through the proxy, which must pass)."""
        assert self.admin is not None
        name = f"fault-{uuid.uuid4().hex[:12]}"
        create_topic(self.admin, name, 2)
        return name


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A proxy and a private broker advertising it, both stopped at the end."""
    proxy = FaultProxy(upstream_port=0)
    broker = AdvertisingBroker(tmp_path_factory.mktemp("fault-broker"), proxy.port)
    proxy.upstream_port = broker.port
    proxy.start()
    stack = Stack(proxy, broker, admin=None)
    try:
        broker.start()
        # One admin client for the module, logging to Python (not stderr) and freed before the
        # broker stops: a leftover client would log refused connections at interpreter exit.
        stack.admin = AdminClient(
            {"bootstrap.servers": broker.bootstrap}, logger=logging.getLogger(__name__)
        )
        yield stack
    finally:
        stack.admin = None
        gc.collect()
        broker.stop()
        proxy.close()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Outcome]]:
    """Collects every scenario's figures; written as JSON when the module ends."""
    collected: list[Outcome] = []
    yield collected
    write_outcomes(collected, "FLOWODM_RELIABILITY_JSON", tmp_path_factory)


def write_outcomes(
    collected: list[Outcome], variable: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Write a module's figures, in table order, to ``$variable`` (else a pytest temp dir)."""
    target = os.environ.get(variable)
    path = Path(target) if target else tmp_path_factory.mktemp("reliability") / "outcomes.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    order = {pair: i for i, pair in enumerate(scenario_pairs())}
    collected.sort(key=lambda o: order.get((o.scenario, o.entry), len(order)))
    payload = {
        "rows_per_scenario": ROWS,
        "message_timeout_s": MESSAGE_TIMEOUT,
        "registry_timeout_s": REGISTRY_TIMEOUT,
        "margin_s": MARGIN,
        "outcomes": [o.to_json() for o in collected],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")


@pytest.fixture
def proxy_reset(stack: Stack) -> Iterator[FaultProxy]:
    """The proxy, passing at the start and again at the end of each scenario.

    At the end, every connection the scenario opened must be closed again (its producers,
    consumers and CLI process are gone): only the module's admin client may stay connected.
    """
    stack.proxy.pass_through()
    yield stack.proxy
    stack.proxy.pass_through()
    deadline = time.monotonic() + LEAK_WAIT
    while stack.proxy.open_connections > ADMIN_CONNECTIONS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stack.proxy.open_connections <= ADMIN_CONNECTIONS, "a scenario's client is still open"


def _connection(bootstrap: str) -> Connection:
    return Connection(
        build_config(
            bootstrap_servers=bootstrap,
            produce_timeout=CALL_TIMEOUT,
            producer_config={"message.timeout.ms": int(MESSAGE_TIMEOUT * 1000)},
        )
    )


# ---------------------------------------------------------------------- faults


def _apply(proxy: FaultProxy, mode: str) -> None:
    """Start the fault of ``mode`` (healing ones end by themselves or need no end)."""
    actions: dict[str, Callable[[], None]] = {
        "pass": lambda: None,
        "cut": proxy.cut,
        "stall": lambda: proxy.stall(STALL),
        "stall_long": lambda: proxy.stall(LONG_STALL),
        "latency": lambda: proxy.latency(LATENCY_MS),
        "refuse": proxy.refuse,
        "blackhole": proxy.blackhole,
        "drop_replies": proxy.drop_replies,
    }
    actions[mode]()


def _rows(numbers: range) -> list[FaultRow]:
    return [FaultRow(key=row_key(n), n=n) for n in numbers]


def _error_name(error: BaseException) -> str:
    kafka_error = getattr(error, "kafka_error", None)
    if kafka_error is not None:
        return str(kafka_error.name())
    return type(error).__name__


def _single_failure(ledger: Ledger, key: str, error: ProducerError) -> None:
    """Record a failed ``produce()``/``aproduce()`` with the status its error implies."""
    ledger.error_seen(_error_name(error))
    if isinstance(error, DeliveryTimeoutError) or error.kafka_error is None:
        ledger.fail(key, maybe_written=True)
    else:
        ledger.fail(key, maybe_written=may_have_been_written(error.kafka_error))


# ---------------------------------------------------------------------- entry points


def _via_produce(conn: Connection, topic: str, fault: Callable[[], None]) -> Ledger:
    """``produce()`` per row: the first quarter in order, then ``THREADS`` threads.

    Each thread stops at its first error, as a loop that does not catch would; the rows it
    never reached are not handed.
    """
    ledger = Ledger()
    lock = threading.Lock()

    def send(numbers: range) -> None:
        for n in numbers:
            key = row_key(n)
            with lock:
                ledger.handed.append(key)
            try:
                FaultRow(key=key, n=n).produce(connection=conn, topic=topic)
            except ProducerError as error:
                with lock:
                    _single_failure(ledger, key, error)
                return
            with lock:
                ledger.delivered.add(key)

    send(range(ROWS // 4))
    fault()
    ledger.fault_at = time.monotonic()
    rest = range(ROWS // 4, ROWS)
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(send, [rest[i::THREADS] for i in range(THREADS)]))
    return ledger


def _via_aproduce(conn: Connection, topic: str, fault: Callable[[], None]) -> Ledger:
    """``aproduce()`` in waves of ``WAVE`` concurrent calls; stops after a wave with an error."""
    ledger = Ledger()

    async def wave(numbers: range) -> bool:
        keys = [row_key(n) for n in numbers]
        ledger.handed.extend(keys)
        calls = [
            FaultRow(key=k, n=n).aproduce(connection=conn, topic=topic)
            for k, n in zip(keys, numbers, strict=True)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        ok = True
        for key, result in zip(keys, results, strict=True):
            if isinstance(result, ProducerError):
                _single_failure(ledger, key, result)
                ok = False
            elif isinstance(result, BaseException):
                raise result
            else:
                ledger.delivered.add(key)
        return ok

    async def run() -> None:
        for start in range(0, ROWS // 4, WAVE):
            await wave(range(start, min(start + WAVE, ROWS // 4)))
        fault()
        ledger.fault_at = time.monotonic()
        for start in range(ROWS // 4, ROWS, WAVE):
            if not await wave(range(start, min(start + WAVE, ROWS))):
                return

    asyncio.run(run())
    return ledger


def _record_many(ledger: Ledger, numbers: range, result: ProduceManyResult[FaultRow]) -> None:
    failed = {f.index for f in result.failed}
    for failure in result.failed:
        ledger.fail(row_key(numbers[failure.index]), failure.maybe_written)
        ledger.errors.add(str(failure.kafka_error.name()))
    ledger.delivered.update(row_key(n) for i, n in enumerate(numbers) if i not in failed)
    ledger.unreported += max(0, len(numbers) - result.delivered - len(result.failed))


def _via_produce_many(conn: Connection, topic: str, fault: Callable[[], None]) -> Ledger:
    """Two ``produce_many`` calls: the first quarter, then (under the fault) the rest."""
    ledger = Ledger()
    for numbers, faulty in ((range(ROWS // 4), False), (range(ROWS // 4, ROWS), True)):
        if faulty:
            fault()
            ledger.fault_at = time.monotonic()
        ledger.handed.extend(keys_of(numbers))
        try:
            result = FaultRow.produce_many(
                _rows(numbers),
                connection=conn,
                topic=topic,
                timeout=MESSAGE_TIMEOUT,
                stall_timeout=MESSAGE_TIMEOUT,
            )
        except PartialDeliveryError as error:  # BulkDeliveryTimeoutError included
            ledger.error_seen(type(error).__name__)
            result = error.result
        _record_many(ledger, numbers, result)
    return ledger


def _record_report(ledger: Ledger, numbers: range, report: ProduceReport) -> None:
    failed: set[Any] = set()
    for failure in report.failed:
        failed.add(failure.index)
        ledger.fail(row_key(int(failure.index)), failure.maybe_written)  # type: ignore[call-overload]
        ledger.errors.add(failure.error.split(":", 1)[0])
    ledger.delivered.update(row_key(n) for n in numbers if n not in failed)
    ledger.unreported += max(0, len(numbers) - report.delivered - len(report.failed))


def _via_dataframe(conn: Connection, topic: str, fault: Callable[[], None]) -> Ledger:
    """Two ``df.flowodm.produce`` calls (index = row number), the second under the fault."""
    ledger = Ledger()
    for numbers, faulty in ((range(ROWS // 4), False), (range(ROWS // 4, ROWS), True)):
        if faulty:
            fault()
            ledger.fault_at = time.monotonic()
        ledger.handed.extend(keys_of(numbers))
        frame = pd.DataFrame({"key": keys_of(numbers), "n": list(numbers)}, index=list(numbers))
        try:
            report = frame.flowodm.produce(
                FaultRow,
                connection=conn,
                topic=topic,
                timeout=MESSAGE_TIMEOUT,
                stall_timeout=MESSAGE_TIMEOUT,
            )
        except PartialDeliveryError as error:  # BulkDeliveryTimeoutError included
            ledger.error_seen(type(error).__name__)
            report = error.result
        _record_report(ledger, numbers, report)
    return ledger


_READ = re.compile(r"^Read ([\d,]+) rows?", re.MULTILINE)
_NOT_SENT = re.compile(r"read but not sent \(the run stopped\)\s+([\d,]+)")
_DELIVERED = re.compile(r"rows delivered to '[^']*'\s+([\d,]+)")


def _number(pattern: re.Pattern[str], text: str) -> int:
    found = pattern.search(text)
    return int(found.group(1).replace(",", "")) if found else 0


def _via_cli(bootstrap: str, topic: str, fault: Callable[[], None], workdir: Path) -> Ledger:
    """``flowodm produce - --report … --progress`` fed through stdin, the fault mid-input.

    The first chunk (a quarter of the rows) is written; once it is on the topic the fault is
    applied and the rest is written. A chunk that stalls stops the run: the rows read after it
    are "read but not sent", so not handed. The first error is when the progress bar (stderr,
    updated per chunk) first shows ``failed=``. The report lists each failed row's status.
    """
    ledger = Ledger()
    report = workdir / "report.jsonl"
    argv = [
        sys.executable, "-m", "flowodm", "produce", "-",
        "--model", "tests/faults/rows.py:FaultRow",
        "--topic", topic,
        "--bootstrap-servers", bootstrap,
        "--timeout", str(MESSAGE_TIMEOUT),
        "--chunk-size", str(CHUNK),
        "--report", str(report),
        "--progress",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWODM_", "KAFKA_"))}
    env["SCHEMA_REGISTRY_URL"] = ""
    lines = [json.dumps({"key": row_key(n), "n": n}) + "\n" for n in range(ROWS)]
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []

    def watch_progress() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            stderr.append(line)
            if re.search(r"failed=[1-9]", line):
                ledger.error_seen()

    watcher = threading.Thread(target=watch_progress, name="cli-stderr", daemon=True)
    watcher.start()
    stdout = ""
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.writelines(lines[:CHUNK])
        process.stdin.flush()
        consume_all(bootstrap, topic, CHUNK, timeout=SCENARIO_LIMIT / 2)
        fault()
        ledger.fault_at = time.monotonic()
        try:
            process.stdin.writelines(lines[CHUNK:])
            process.stdin.close()
        except BrokenPipeError:  # the run stopped early and stopped reading
            pass
        stdout = process.stdout.read()
        process.wait(SCENARIO_LIMIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        watcher.join(5)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert process.returncode in (0, 1), f"exit {process.returncode}:\n{stdout}\n{stderr}"
    handed = _number(_READ, stdout) - _number(_NOT_SENT, stdout)
    ledger.handed = keys_of(range(handed))
    failed: set[str] = set()
    if report.exists():
        for line in report.read_text().splitlines():
            problem = json.loads(line)
            key = row_key(int(problem["row"]))
            failed.add(key)
            ledger.fail(key, maybe_written=problem["status"] == "failed, may have been written")
            ledger.errors.add(str(problem["message"]).split(":", 1)[0])
    if process.returncode != 0:
        ledger.error_seen()
    delivered = _number(_DELIVERED, stdout)
    ledger.delivered = {k for k in ledger.handed if k not in failed}
    ledger.unreported = max(0, handed - delivered - len(failed))
    return ledger


def _send_one(entry: str, conn: Connection, topic: str, ledger: Ledger, n: int) -> bool:
    """Send row ``n`` alone through ``entry``, record its outcome, tell whether it was acked."""
    key = row_key(n)
    ledger.handed.append(key)
    row = FaultRow(key=key, n=n)
    if entry in ("produce", "aproduce"):
        try:
            if entry == "produce":
                row.produce(connection=conn, topic=topic)
            else:
                asyncio.run(row.aproduce(connection=conn, topic=topic))
        except ProducerError as error:
            _single_failure(ledger, key, error)
            return False
        ledger.delivered.add(key)
        return True
    numbers = range(n, n + 1)
    options: dict[str, Any] = {
        "connection": conn,
        "topic": topic,
        "timeout": MESSAGE_TIMEOUT,
        "stall_timeout": MESSAGE_TIMEOUT,
        "raise_on_error": False,
    }
    try:
        if entry == "produce_many":
            result = FaultRow.produce_many([row], **options)
            _record_many(ledger, numbers, result)
            return result.delivered == 1
        report = pd.DataFrame({"key": [key], "n": [n]}, index=[n]).flowodm.produce(
            FaultRow, **options
        )
    except PartialDeliveryError as error:  # a stall raises whatever raise_on_error says
        ledger.error_seen(type(error).__name__)
        if entry == "produce_many":
            _record_many(ledger, numbers, error.result)
        else:
            _record_report(ledger, numbers, error.result)
        return False
    _record_report(ledger, numbers, report)
    return bool(report.delivered == 1)


def _recover(entry: str, conn: Connection, topic: str, ledger: Ledger) -> float | None:
    """After the heal, send single rows on the same connection until one is acknowledged.

    Returns the seconds from the heal to that acknowledgement, or ``None`` if none was within
    ``RECOVERY_ATTEMPTS``. Each attempt is a row of the ledger like any other.
    """
    healed = time.monotonic()
    for attempt in range(RECOVERY_ATTEMPTS):
        if _send_one(entry, conn, topic, ledger, ROWS + attempt):
            return round(time.monotonic() - healed, 2)
    return None


def run_entry(
    entry: str,
    bootstrap: str,
    topic: str,
    fault: Callable[[], None],
    heal: Callable[[], None],
    workdir: Path,
) -> Ledger:
    """One scenario through ``entry``: rows, ``fault()`` after the first quarter, the rest.

    Then ``heal()`` ends the fault and, on the same connection (not for the CLI, a new
    process each run), single rows are sent until one is acknowledged (``recovered_s``).
    """
    if entry == "cli":
        ledger = _via_cli(bootstrap, topic, fault, workdir)
        heal()
        return ledger
    conn = _connection(bootstrap)
    try:
        run = {
            "produce": _via_produce,
            "aproduce": _via_aproduce,
            "produce_many": _via_produce_many,
            "dataframe": _via_dataframe,
        }[entry]
        ledger = run(conn, topic, fault)
        heal()
        ledger.recovered_s = _recover(entry, conn, topic, ledger)
    finally:
        conn.close(1)
    return ledger


# ---------------------------------------------------------------------- the scenarios


def check_guarantees(outcome: Outcome) -> None:
    """The guarantees every broker scenario must keep, whatever the fault (docs/reliability.md)."""
    assert outcome.rows > 0
    assert outcome.silent_losses == 0, outcome
    assert outcome.wrongly_not_written == 0, outcome
    assert outcome.double_reported == 0, outcome
    assert outcome.duplicates == 0, outcome
    assert outcome.strangers == 0, outcome
    if outcome.first_error_s is not None:
        assert outcome.first_error_s <= outcome.bound_s + MARGIN, outcome
    if outcome.entry != "cli":  # each CLI run is a fresh process: nothing to recover
        assert outcome.recovered_s is not None, outcome
        assert outcome.recovered_s <= RECOVERY_BOUND + MARGIN, outcome


def _check(outcome: Outcome, mode: str) -> None:
    """``check_guarantees``, and what a healing or a lasting fault must do to the rows."""
    check_guarantees(outcome)
    if mode in HEALING:
        assert outcome.delivered == outcome.rows, outcome
        assert outcome.rows == ROWS + (outcome.entry != "cli"), outcome
    else:
        assert outcome.failed_not_written + outcome.failed_maybe_written > 0, outcome


@pytest.mark.timeout(SCENARIO_LIMIT)
@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("mode", MODES)
def test_broker_fault(
    mode: str,
    entry: str,
    stack: Stack,
    proxy_reset: FaultProxy,
    outcomes: list[Outcome],
    tmp_path: Path,
) -> None:
    topic = stack.new_topic()
    fault = functools.partial(_apply, proxy_reset, mode)
    ledger = run_entry(entry, proxy_reset.address, topic, fault, proxy_reset.pass_through, tmp_path)
    proxy_reset.pass_through()
    on_topic = read_keys(stack.proxy.address, topic, len(ledger.delivered))
    outcome = ledger.outcome(mode, entry, on_topic, BOUNDS[entry])
    outcomes.append(outcome)
    _check(outcome, mode)


# ---------------------------------------------------------------------- registry faults


class Registered(FlowBaseModel):
    """A model whose schema must be registered before its first message (wire format on)."""

    class Settings:
        topic = "fault-registry"

    n: int


_SECRET = "s3cret-pw"
_HTTP_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
    b"Content-Length: 49\r\nConnection: close\r\n\r\n"
    b'{"error_code":50001,"message":"injected failure"}'
)


@pytest.fixture
def registry_proxy(sandbox: Sandbox) -> Iterator[FaultProxy]:
    """A fault proxy in front of the sandbox registry, closed at the end."""
    port = int(sandbox.schema_registry_url.rsplit(":", 1)[1].split("/", 1)[0])
    with FaultProxy(upstream_port=port) as proxy:
        yield proxy


@pytest.mark.timeout(SCENARIO_LIMIT)
@pytest.mark.parametrize("kind", REGISTRY_FAULTS)
def test_registry_fault(
    kind: str,
    sandbox: Sandbox,
    registry_proxy: FaultProxy,
    make_topic: Callable[..., str],
    outcomes: list[Outcome],
) -> None:
    topic = make_topic(prefix="fault-registry")
    actions: dict[str, Callable[[], None]] = {
        "refuse": registry_proxy.refuse,
        "blackhole": registry_proxy.blackhole,
        "http 500": lambda: registry_proxy.answer(_HTTP_500),
        "slow": lambda: registry_proxy.latency(REGISTRY_TIMEOUT * 3000),
    }
    actions[kind]()
    conn = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=f"http://fault:{_SECRET}@{registry_proxy.address}",
            registry_timeout=REGISTRY_TIMEOUT,
            produce_timeout=CALL_TIMEOUT,
        )
    )
    ledger = Ledger(handed=["registry-row"])
    ledger.fault_at = time.monotonic()
    try:
        with pytest.raises(SchemaRegistryError) as raised:
            Registered(n=1).produce(connection=conn, topic=topic)
        ledger.error_seen("SchemaRegistryError")
        ledger.fail("registry-row", maybe_written=False)
    finally:
        conn.close(1)
    registry_proxy.pass_through()

    error = raised.value
    assert registry_proxy.address in str(error) and registry_proxy.address in (error.url or "")
    assert _SECRET not in str(error) and _SECRET not in repr(error.url)
    assert error.subject == f"{topic}-value"
    if kind == "http 500":
        assert error.http_status == 500
    # Nothing was produced, framed or not: the topic stays empty.
    on_topic = read_keys(sandbox.bootstrap_servers, topic, 0)
    outcome = ledger.outcome(f"registry {kind}", "produce", on_topic, REGISTRY_BOUND)
    outcomes.append(outcome)
    assert sum(on_topic.values()) == 0
    assert outcome.first_error_s is not None
    assert outcome.first_error_s <= REGISTRY_BOUND + MARGIN, outcome
    assert outcome.silent_losses == 0


def test_scenarios_cover_every_mode_and_entry_point() -> None:
    """The table's scenario list: modes times entry points, registry, restart per entry point."""
    pairs = scenario_pairs()
    expected = (len(MODES) + 1) * len(ENTRIES) + len(REGISTRY_FAULTS)
    assert len(pairs) == len(set(pairs)) == expected
    assert {m for m, _ in pairs} >= set(MODES)
