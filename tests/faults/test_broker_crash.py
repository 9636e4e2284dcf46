"""The broker crashes and comes back, with durable storage (issue 13): each entry point, per row.

A private Tansu broker keeps its data in S3 (``moto_server``, ``tests.faults.s3``), so topics,
rows and producer state survive a restart; with memory storage a restart loses acknowledged
rows, and "delivered ⊆ on the topic" could not be checked. Each scenario runs an entry point
of the fault suite (``run_entry``: the same rows, short timeouts and ledger): once the first
quarter is acknowledged the broker gets SIGKILL, and ``DOWNTIME`` s later it starts again on
the same port while the rest are being sent. The entry point finishes or fails; then every
partition is read back and the ledger checked with the suite's own guarantees (no silent loss,
no "not written" row on the topic, no duplicates, the first error within its bound, and the
same connection delivering again after the restart: defect 1's recovery,
``flowodm.kafka.recovery``). The figures go to ``$FLOWODM_RELIABILITY_RESTART_JSON``, rendered
as the "broker restart" rows of docs/reliability.md.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.ledger import Outcome, read_keys
from tests.faults.s3 import MotoS3
from tests.faults.test_fault_suite import (
    BOUNDS,
    ENTRIES,
    RESTART,
    SCENARIO_LIMIT,
    check_guarantees,
    run_entry,
    write_outcomes,
)
from tests.kafka.private_broker import PrivateBroker

pytestmark = [pytest.mark.faults, pytest.mark.integration]

#: Seconds between the SIGKILL and the start of the new broker on the same port.
DOWNTIME = 1.5
#: How long the restart (and the wait for it) may take at most.
RESTART_LIMIT = 20.0


class CrashRestart:
    """The fault: SIGKILL the broker now, start it again ``downtime`` s later on its own thread.

    The entry point goes on sending while the broker is down and after it is back; ``join()``
    (the heal) waits until it answers again and re-raises a failed start.
    """

    def __init__(self, broker: PrivateBroker, downtime: float) -> None:
        self.broker = broker
        self.downtime = downtime
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __call__(self) -> None:
        self.broker.kill()
        self._thread = threading.Thread(target=self._restart, name="broker-restart", daemon=True)
        self._thread.start()

    def _restart(self) -> None:
        time.sleep(self.downtime)
        try:
            self.broker.start()
        except BaseException as error:  # re-raised by join() in the test's thread
            self._error = error

    def join(self) -> None:
        """Wait for the restart (if the fault was applied); raise if the broker did not start."""
        if self._thread is None:
            return
        self._thread.join(RESTART_LIMIT)
        assert not self._thread.is_alive(), "the broker restart did not finish"
        if self._error is not None:
            raise self._error


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    """A private broker on s3 storage (one moto server), both stopped at the end."""
    log_dir = tmp_path_factory.mktemp("crash-broker")
    s3 = MotoS3(log_dir)
    private = PrivateBroker(log_dir, storage=s3.storage, env=s3.broker_env())
    try:
        s3.start()
        private.start()
        yield private
    finally:
        try:
            private.stop()
        finally:
            s3.stop()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Outcome]]:
    """Collects every scenario's figures; written as JSON when the module ends."""
    collected: list[Outcome] = []
    yield collected
    write_outcomes(collected, "FLOWODM_RELIABILITY_RESTART_JSON", tmp_path_factory)


@pytest.mark.timeout(SCENARIO_LIMIT)
@pytest.mark.parametrize("entry", ENTRIES)
def test_broker_restart(
    entry: str, broker: PrivateBroker, outcomes: list[Outcome], tmp_path: Path
) -> None:
    topic = f"crash-{uuid.uuid4().hex[:12]}"
    broker.create_topic(topic, partitions=2)
    crash = CrashRestart(broker, DOWNTIME)
    try:
        ledger = run_entry(entry, broker.bootstrap, topic, crash, crash.join, tmp_path)
    finally:
        crash.join()  # the next scenario needs the broker up, whatever happened here
    on_topic = read_keys(broker.bootstrap, topic, len(ledger.delivered))
    outcome = ledger.outcome(RESTART, entry, on_topic, BOUNDS[entry])
    outcomes.append(outcome)
    assert ledger.fault_at is not None  # the broker was killed mid-run
    check_guarantees(outcome)  # delivered ⊆ on the topic: the acknowledged rows survived
