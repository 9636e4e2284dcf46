"""The poller thread that serves a shared producer's delivery callbacks, and ends its life.

``Poller`` is the daemon thread (``flowodm-poller``) that serves a producer's delivery
callbacks, so nobody has to call ``flush()`` for ``produce_nowait`` callbacks or
``produce``/``aproduce`` completions to run. ``retire(timeout, stall=None)`` lets it drain what
is queued for at most ``timeout`` seconds (and, with ``stall``, only while some report keeps
arriving at least every ``stall`` seconds), then purges the rest (those callbacks report
``_PURGE_QUEUE``/``_PURGE_INFLIGHT``) and closes it, on the poller thread, so callbacks never
run on two threads at once. The stall bound is what keeps interpreter exit short when no
broker answers: a healthy broker acknowledges within milliseconds, a dead one never does.
"""

from __future__ import annotations

import logging
import threading
import time

from confluent_kafka import Producer

__all__ = ["POLLER_THREAD_NAME", "Poller"]

logger = logging.getLogger("flowodm.connection")

#: Name of every thread that serves a shared producer's delivery callbacks.
POLLER_THREAD_NAME = "flowodm-poller"
_POLL_INTERVAL = 0.1
# After a purge, how long to serve the purge reports before closing.
_PURGE_REPORT_WAIT = 1.0


class Poller:
    """A daemon thread serving one producer's delivery callbacks until it is retired.

    Args:
        producer: The producer to serve; the poller closes it when it finishes.
    """

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self._deadline: float | None = None
        self._stall: float | None = None
        self._waited = 0.0
        self._undelivered = 0
        self._thread = threading.Thread(target=self._run, name=POLLER_THREAD_NAME, daemon=True)
        self._thread.start()

    @property
    def finished(self) -> bool:
        """Whether the producer was drained (or purged) and closed."""
        return not self._thread.is_alive()

    def retire(self, timeout: float, stall: float | None = None) -> None:
        """Drain for at most ``timeout`` more seconds, then purge and close (returns at once).

        Args:
            timeout: The longest the drain may take.
            stall: Also give up once the queue has not shrunk for this many seconds (no
                delivery report arrived: the broker is unreachable), or ``None`` for no limit.

        Calling it again can only bring the deadline (and the stall bound) closer.
        """
        if stall is not None and (self._stall is None or stall < self._stall):
            self._stall = max(0.0, stall)
        deadline = time.monotonic() + max(0.0, timeout)
        if self._deadline is None or deadline < self._deadline:
            self._waited = max(0.0, timeout)
            self._deadline = deadline

    def join(self) -> int:
        """Wait until the retired producer is closed; return how many messages were purged.

        Called on the poller thread itself (from a delivery callback) it returns at once with
        the number still queued.
        """
        if self._thread is threading.current_thread():
            return len(self.producer)
        self._thread.join()
        return self._undelivered

    def _run(self) -> None:
        producer = self.producer
        # The queue length at the last time it shrank, and when that was (for ``stall``).
        fewest, shrank_at = len(producer), time.monotonic()
        why = ""
        while True:
            self._serve(_POLL_INTERVAL)
            deadline = self._deadline
            if deadline is None:
                fewest, shrank_at = len(producer), time.monotonic()
                continue
            left, now = len(producer), time.monotonic()
            if left < fewest:
                fewest, shrank_at = left, now
            if left == 0 or now >= deadline:
                why = f"after {self._waited:.1f} s"
                break
            stall = self._stall
            if stall is not None and now - shrank_at >= stall:
                why = f"with no delivery report for {stall:.1f} s (is the broker reachable?)"
                break
        self._undelivered = len(producer)
        if self._undelivered:
            logger.warning(
                "closing a Kafka producer with %d message(s) not acknowledged %s; they are "
                "purged (their delivery callbacks report _PURGE_QUEUE or _PURGE_INFLIGHT)",
                self._undelivered,
                why,
            )
            producer.purge(in_queue=True, in_flight=True, blocking=False)
            end = time.monotonic() + _PURGE_REPORT_WAIT
            while len(producer) and time.monotonic() < end:
                self._serve(_POLL_INTERVAL)
        producer.close()

    def _serve(self, timeout: float) -> None:
        try:
            self.producer.poll(timeout)
        except Exception:
            # A user callback raised; keep serving the others.
            logger.exception("a Kafka delivery callback raised an exception")
