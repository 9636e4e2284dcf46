"""The shared producer's machinery: ``FlowProducer``, its poller thread and its error log.

- ``FlowProducer`` is confluent's ``Producer`` with ``flush(timeout=None)``/``poll(None)``.
- ``Poller`` is the daemon thread (``flowodm-poller``) that serves a producer's delivery
  callbacks, so nobody has to call ``flush()`` for ``produce_nowait`` callbacks or
  ``produce``/``aproduce`` completions to run. It also ends the producer's life:
  ``retire(timeout)`` lets it drain what is queued for at most ``timeout`` seconds, then purges
  the rest (those callbacks report ``_PURGE_QUEUE``/``_PURGE_INFLIGHT``) and closes it, on the
  poller thread, so callbacks never run on two threads at once.
- ``ClientErrorLog`` is every producer's ``error_cb``: it keeps the last client-level error
  (``last``, a ``ClientErrorReport`` that timeout errors quote) and logs each kind at most every
  30 s per connection on ``flowodm.connection``, or hands it to the user's own ``error_cb``
  instead. ``FlowProducer.close_quietly()`` silences it (and ``LibrdkafkaLog``) first:
  confluent's ``close()`` serves the queue, and errors queued while nobody used the producer (a
  broker that went away, e.g. a test sandbox that stopped) are noise on the way out.
- ``LibrdkafkaLog`` is every producer's ``logger``: librdkafka's own log lines (otherwise
  ``%3|…|FAIL|…`` on stderr) go to the ``flowodm.librdkafka`` logger when the producer is
  polled. A line that repeats a client error (facility ``FAIL``, ``ERROR`` or ``FATAL``) is
  demoted to DEBUG, since ``ClientErrorLog`` already logged it: each error is logged once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from confluent_kafka import KafkaError, Producer

from flowodm.config import scrub
from flowodm.delivery import ClientErrorReport

__all__ = [
    "LIBRDKAFKA_LOGGER",
    "POLLER_THREAD_NAME",
    "ClientErrorLog",
    "FlowProducer",
    "LibrdkafkaLog",
    "Poller",
]

logger = logging.getLogger("flowodm.connection")

#: Name of the logger that receives librdkafka's own log lines.
LIBRDKAFKA_LOGGER = "flowodm.librdkafka"

#: Name of every thread that serves a shared producer's delivery callbacks.
POLLER_THREAD_NAME = "flowodm-poller"
_POLL_INTERVAL = 0.1
_ERROR_LOG_INTERVAL = 30.0
# After a purge, how long to serve the purge reports before closing.
_PURGE_REPORT_WAIT = 1.0
# librdkafka facilities whose lines repeat what the error callback reports.
_ERROR_FACILITIES = frozenset({"FAIL", "ERROR", "FATAL"})


class FlowProducer(Producer):
    """confluent's ``Producer`` whose ``flush``/``poll`` also accept ``timeout=None`` (no limit).

    Everything else is confluent's API unchanged: ``flush`` returns the number of messages
    still queued, ``len(producer)`` the number in flight or queued plus the events (delivery
    reports, client errors) not served yet.
    """

    #: The error callback ``Connection.new_producer`` installed (it keeps the last error).
    error_log: ClientErrorLog | None = None
    #: The ``logger`` ``Connection.new_producer`` installed, unless the user gave one.
    librdkafka_log: LibrdkafkaLog | None = None

    def flush(self, timeout: float | None = None) -> int:
        """Wait until queued messages are delivered (or failed); return how many are left."""
        return super().flush(-1 if timeout is None else timeout)

    def poll(self, timeout: float | None = None) -> int:
        """Serve delivery callbacks for up to ``timeout`` seconds; return how many ran."""
        return super().poll(-1 if timeout is None else timeout)

    def close_quietly(self) -> None:
        """Close an idle producer without logging the client errors still queued on it.

        Only FlowODM's own logging is silenced; a user's ``error_cb`` still sees them.
        Meant for producers holding no messages (``close()`` waits for queued messages).
        """
        if self.error_log is not None:
            self.error_log.silence()
        if self.librdkafka_log is not None:
            self.librdkafka_log.silence()
        self.close()


class Poller:
    """A daemon thread serving one producer's delivery callbacks until it is retired.

    Args:
        producer: The producer to serve; the poller closes it when it finishes.
    """

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self._deadline: float | None = None
        self._waited = 0.0
        self._undelivered = 0
        self._thread = threading.Thread(target=self._run, name=POLLER_THREAD_NAME, daemon=True)
        self._thread.start()

    @property
    def finished(self) -> bool:
        """Whether the producer was drained (or purged) and closed."""
        return not self._thread.is_alive()

    def retire(self, timeout: float) -> None:
        """Drain for at most ``timeout`` more seconds, then purge and close (returns at once).

        Calling it again can only bring the deadline closer.
        """
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
        while True:
            self._serve(_POLL_INTERVAL)
            deadline = self._deadline
            if deadline is not None and (len(producer) == 0 or time.monotonic() >= deadline):
                break
        self._undelivered = len(producer)
        if self._undelivered:
            logger.warning(
                "closing a Kafka producer with %d message(s) not delivered after %.1f s; they "
                "are purged (their delivery callbacks report _PURGE_QUEUE or _PURGE_INFLIGHT)",
                self._undelivered,
                self._waited,
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


class ClientErrorLog:
    """A producer's ``error_cb``: keeps the last client error and logs each kind every 30 s.

    librdkafka reports a refused connection on every reconnect attempt; one line per kind and
    interval says the same without flooding a notebook. Fatal errors are always logged. Known
    secrets (e.g. a password pasted into ``bootstrap_servers``) are masked in what is kept and
    logged.

    Args:
        secrets: Values to mask in error texts.
        forward: The user's own ``error_cb``; when given it receives every error instead of
            the log (the last error is still kept).
        interval: Seconds between two log lines of the same kind.
        logged: When each kind was last logged, shared by the producers of one connection so
            that an error they all hit (the broker is down) is logged once, not per producer.
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        forward: Callable[[KafkaError], object] | None = None,
        interval: float = _ERROR_LOG_INTERVAL,
        logged: dict[int, float] | None = None,
    ) -> None:
        self._secrets = [secret for secret in secrets if secret]
        self._forward = forward
        self._interval = interval
        self._last_logged: dict[int, float] = {} if logged is None else logged
        self._silent = False
        self.last: ClientErrorReport | None = None

    def silence(self) -> None:
        """Log no later report (the user's ``error_cb`` still gets it): closing on purpose."""
        self._silent = True

    def __call__(self, error: KafkaError) -> None:
        if self._silent:
            if self._forward is not None:
                self._forward(error)
            return
        now = time.monotonic()
        code, fatal = error.code(), bool(error.fatal())
        reason = scrub(str(error.str()), self._secrets)
        self.last = ClientErrorReport(code, str(error.name()), reason, fatal, now)
        if self._forward is not None:
            self._forward(error)
            return
        if not fatal and now - self._last_logged.get(code, -self._interval) < self._interval:
            return
        self._last_logged[code] = now
        level = logging.ERROR if fatal else logging.WARNING
        logger.log(level, "Kafka client error (%s): %s", error.name(), reason)


class LibrdkafkaLog:
    """A producer's ``logger``: librdkafka's log lines into Python logging, secrets masked.

    confluent-kafka calls ``log(level, "%s [%s] %s", facility, client_name, text)`` while the
    producer is polled. Lines of the error facilities go to DEBUG: the producer's
    ``ClientErrorLog`` reports the same error once, with its code.

    Args:
        secrets: Values to mask in log texts.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = [secret for secret in secrets if secret]
        self._logger = logging.getLogger(LIBRDKAFKA_LOGGER)
        self._silent = False

    def silence(self) -> None:
        """Drop every later line: the client is being closed on purpose."""
        self._silent = True

    def log(self, level: int, msg: str, *args: object) -> None:
        """Log one librdkafka line (confluent-kafka's ``logger`` protocol)."""
        if self._silent:
            return
        if args and args[0] in _ERROR_FACILITIES:
            level = logging.DEBUG
        if not self._logger.isEnabledFor(level):
            return
        text = scrub(msg % args if args else msg, self._secrets)
        self._logger.log(level, "%s", text)
