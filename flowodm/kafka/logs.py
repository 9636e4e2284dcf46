"""Where a client's errors and log lines go: kept for error messages, logged once, secrets masked.

- ``ClientErrorLog`` is every producer's ``error_cb``: it keeps the last client-level error
  (``last``, a ``ClientErrorReport`` that timeout errors quote) and logs each kind at most every
  30 s per connection on ``flowodm.connection``, or hands it to the user's own ``error_cb``
  instead.
- ``LibrdkafkaLog`` is every producer's ``logger``: librdkafka's own log lines (otherwise
  ``%3|…|FAIL|…`` on stderr) go to the ``flowodm.librdkafka`` logger when the producer is
  polled. A line that repeats a client error (facility ``FAIL``, ``ERROR`` or ``FATAL``) is
  demoted to DEBUG, since ``ClientErrorLog`` already logged it: each error is logged once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from confluent_kafka import KafkaError

from flowodm._secrets import scrub
from flowodm.kafka.errors import ClientErrorReport

__all__ = ["LIBRDKAFKA_LOGGER", "ClientErrorLog", "LibrdkafkaLog"]

# The logger name users configure for client errors (kept from before the kafka/ package).
logger = logging.getLogger("flowodm.connection")

#: Name of the logger that receives librdkafka's own log lines.
LIBRDKAFKA_LOGGER = "flowodm.librdkafka"

_ERROR_LOG_INTERVAL = 30.0
# librdkafka facilities whose lines repeat what the error callback reports.
_ERROR_FACILITIES = frozenset({"FAIL", "ERROR", "FATAL"})


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
