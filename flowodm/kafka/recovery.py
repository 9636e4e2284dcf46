"""When a producer must be replaced because it lost every broker, and how often that may happen.

Why: an idempotent producer holds a producer id (PID) the broker assigned. librdkafka keeps it
across a reconnect. A broker that lost its producer state (Tansu with memory storage after a
restart, measured: every later Produce is answered ``UNKNOWN_PRODUCER_ID``) makes librdkafka bump
the epoch locally and retry, and Tansu 0.6 refuses every bumped epoch too. The producer then
retries in a loop until ``message.timeout.ms`` and every message fails with ``_MSG_TIMED_OUT``,
with no client error that says why; a new producer (a new PID) works at once.

So a producer must be replaced when it (1) reported librdkafka's ``_ALL_BROKERS_DOWN`` client
error (it lost its connection to every broker: the one it reconnects to may not know its PID)
and (2) held a PID then. (2) keeps a producer that never reached a broker (``connect()`` before
the sandbox started, or a fresh producer during an outage, which reports ``_ALL_BROKERS_DOWN``
on its first failed connection) from being replaced over and over: it has no PID to lose, and
its queue must keep filling up (a full queue is what bounds memory during an outage). Whether it
holds a PID is read from librdkafka's statistics (``eos.producer_id``, ``-1`` until assigned;
librdkafka keeps a stale one after a disconnect), emitted every ``STATS_INTERVAL_MS``: decided
at once if an earlier report showed one, else by the first report after the loss.

Contract (used by ``Connection.producer`` for the shared producer and by ``kafka.pool`` for
idle bulk producers; ``produce_many``'s fenced-producer replacement is the other trigger):

- ``watch_brokers(settings, error_cb)`` installs a ``BrokerWatch`` as the producer's
  ``error_cb`` and ``stats_cb`` (the user's own ``stats_cb`` still gets every report, and a
  ``statistics.interval.ms`` the user set is kept) on idempotent, non-transactional producers;
  other producers hold no PID to lose, and get ``error_cb`` unchanged.
- ``lost_its_broker(producer, wait)`` tells whether a producer must be replaced before its next
  message. Between the ``_ALL_BROKERS_DOWN`` and the next statistics it is undecided; it then
  waits up to ``wait`` s for them (the caller must make sure someone polls the producer: the
  poller thread does for the shared producer, ``settle()`` polls an idle one). With statistics
  switched off (``statistics.interval.ms=0``) a lost broker is taken as a lost PID.
- ``ReplacementBudget`` spaces out replacements for a lost broker, as a second guard: the first
  is always allowed, later ones at most every ``LOST_BROKER_BACKOFF`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError, Producer

__all__ = [
    "LOST_BROKER_BACKOFF",
    "STATS_INTERVAL_MS",
    "STATS_WAIT",
    "BrokerWatch",
    "ReplacementBudget",
    "lost_its_broker",
    "settle",
    "watch_brokers",
    "watches_brokers",
]

#: Seconds between two replacements of a producer that lost every broker (per owner).
LOST_BROKER_BACKOFF = 3.0
#: ``statistics.interval.ms`` FlowODM sets on watched producers (unless the user set one).
STATS_INTERVAL_MS = 1000
#: Seconds a caller waits for the statistics that decide whether a lost broker took a PID.
STATS_WAIT = 2.0

_TRUE = frozenset({"true", "1", "yes", "on"})
_PRODUCER_ID = '"producer_id":'
# Seconds between two warnings that a producer which lost every broker was replaced.
_ANNOUNCE_INTERVAL = 30.0
_SETTLE_STEP = 0.05

logger = logging.getLogger("flowodm.connection")


class BrokerWatch:
    """A producer's ``error_cb`` and ``stats_cb``: notes a lost broker and whether a PID went.

    Args:
        forward: The error callback that handles each error (FlowODM's ``ClientErrorLog``).
        forward_stats: The user's own ``stats_cb``, if any; it receives every report.
        has_stats: Whether librdkafka emits statistics for this producer.
    """

    __slots__ = (
        "_decided",
        "_down_at",
        "_forward",
        "_forward_stats",
        "_had_pid",
        "has_stats",
        "lost_at",
    )

    def __init__(
        self,
        forward: Callable[[KafkaError], object],
        forward_stats: Callable[[str], object] | None = None,
        *,
        has_stats: bool = True,
    ) -> None:
        self._forward = forward
        self._forward_stats = forward_stats
        self.has_stats = has_stats
        self._down_at: float | None = None  # an _ALL_BROKERS_DOWN not yet decided on
        self._decided = threading.Event()
        self._had_pid = False  # an earlier report showed a PID (librdkafka keeps it)
        #: ``time.monotonic()`` of the broker loss that took the PID, or ``None``.
        self.lost_at: float | None = None

    def __call__(self, error: KafkaError) -> None:
        """The ``error_cb``: note ``_ALL_BROKERS_DOWN``, then forward the error."""
        if error.code() == KafkaError._ALL_BROKERS_DOWN and self._down_at is None:
            self._decided.clear()
            self._down_at = time.monotonic()
            if self._had_pid:  # decided at once: no need to wait for the next report
                self.lost_at = self._down_at
                self._decided.set()
        self._forward(error)

    def stats(self, report: str) -> None:
        """The ``stats_cb``: decide a pending broker loss by the PID held, then forward."""
        down_at = self._down_at
        has_pid = _producer_id(report) >= 0
        self._had_pid = self._had_pid or has_pid
        if down_at is not None and self.lost_at is None:
            if has_pid:
                self.lost_at = down_at
            else:  # it never got a PID (never reached a broker): nothing was lost
                self._down_at = None
            self._decided.set()
        if self._forward_stats is not None:
            self._forward_stats(report)

    @property
    def undecided(self) -> bool:
        """Whether a broker loss waits for the statistics that tell if a PID went with it."""
        return self._down_at is not None and self.lost_at is None and self.has_stats

    def lost(self, wait: float = 0.0) -> bool:
        """Whether the producer lost every broker while it held a PID (waits if undecided)."""
        if self.lost_at is not None:
            return True
        if self._down_at is None:
            return False
        if not self.has_stats:
            return True
        if wait > 0:
            self._decided.wait(wait)
        return self.lost_at is not None


def watches_brokers(settings: Mapping[str, Any]) -> bool:
    """Whether a producer with these librdkafka settings holds a PID that a restart can lose.

    Idempotent producers do (FlowODM's default). A transactional producer is left alone: its
    transactional id, not a new producer, is how it recovers, and replacing it would abort
    its transaction.
    """
    if settings.get("transactional.id"):
        return False
    idempotent = settings.get("enable.idempotence", False)
    if isinstance(idempotent, str):
        return idempotent.strip().lower() in _TRUE
    return bool(idempotent)


def watch_brokers(
    settings: dict[str, Any], error_cb: Callable[[KafkaError], object]
) -> BrokerWatch | None:
    """Install ``error_cb`` in ``settings``, behind a ``BrokerWatch`` if the producer needs one.

    Returns:
        The watch (to keep as ``FlowProducer.broker_watch``), or ``None`` for a producer
        that holds no PID (``error_cb`` is then installed as it is).
    """
    if not watches_brokers(settings):
        settings["error_cb"] = error_cb
        return None
    interval = settings.setdefault("statistics.interval.ms", STATS_INTERVAL_MS)
    watch = BrokerWatch(error_cb, settings.get("stats_cb"), has_stats=_positive(interval))
    settings["error_cb"] = watch
    settings["stats_cb"] = watch.stats
    return watch


def lost_its_broker(producer: Producer, wait: float = 0.0) -> bool:
    """Whether ``producer`` lost every broker while holding a PID, so it must be replaced.

    Waits up to ``wait`` s when that is still undecided (someone must poll the producer).
    """
    watch = getattr(producer, "broker_watch", None)
    return watch is not None and watch.lost(wait)


def settle(producer: Producer, wait: float = STATS_WAIT) -> None:
    """Poll an idle producer until its watch decided on a broker loss (at most ``wait`` s).

    For a producer nobody else polls (an idle pooled one): serves its queued client errors
    and statistics, waiting for the next statistics if a loss is still undecided.
    """
    watch = getattr(producer, "broker_watch", None)
    producer.poll(0)
    deadline = time.monotonic() + wait
    while watch is not None and watch.undecided and time.monotonic() < deadline:
        producer.poll(_SETTLE_STEP)


class ReplacementBudget:
    """Allows the first replacement for a lost broker, then one per ``backoff`` seconds.

    Args:
        backoff: Seconds between two allowed replacements.
    """

    def __init__(self, backoff: float = LOST_BROKER_BACKOFF) -> None:
        self.backoff = backoff
        self._last: float | None = None
        self._warned: float | None = None
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Use up the budget if a replacement is allowed now; return whether it is."""
        now = time.monotonic()
        with self._lock:
            if self._last is not None and now - self._last < self.backoff:
                return False
            self._last = now
            return True

    def announce(self) -> None:
        """Log that a producer which lost every broker was replaced (a warning every 30 s).

        Should the broker restart again and again, one warning per interval says it, the
        others go to DEBUG.
        """
        now = time.monotonic()
        with self._lock:
            warned, self._warned = self._warned, now
        quiet = warned is not None and now - warned < _ANNOUNCE_INTERVAL
        logger.log(
            logging.DEBUG if quiet else logging.WARNING,
            "the Kafka producer lost its connection to every broker; a new producer replaces "
            "it, because a restarted broker may no longer know the old one's producer id and "
            "would refuse everything it sends (messages already queued on the old one are "
            "reported as they succeed or fail)",
        )

    @property
    def last(self) -> float | None:
        """``time.monotonic()`` of the last allowed replacement, or ``None``."""
        return self._last


def _producer_id(report: str) -> int:
    """``eos.producer_id`` of a librdkafka statistics report (``-1`` if absent)."""
    # The eos object comes last in a producer's report: search from the end, no JSON parse
    # (a report lists every partition, which can make it large).
    at = report.rfind(_PRODUCER_ID)
    if at < 0:
        return -1
    digits = report[at + len(_PRODUCER_ID) :].lstrip()
    end = 0
    while end < len(digits) and (digits[end].isdigit() or (end == 0 and digits[end] == "-")):
        end += 1
    try:
        return int(digits[:end])
    except ValueError:
        return -1


def _positive(value: object) -> bool:
    try:
        return int(str(value)) > 0
    except ValueError:
        return False
