"""Creating confluent clients, with configuration errors that name the user's own setting.

``FlowProducer`` is confluent's ``Producer`` with ``flush(timeout=None)``/``poll(None)`` and a
quiet ``close_quietly()``; every producer FlowODM makes is one. ``callback_failed(exc)`` is
where FlowODM's delivery-callback wrappers report a user callback's exception: it is logged on
``flowodm.connection`` (secrets masked) and counted in ``callback_errors``, never re-raised.

librdkafka refuses a bad setting with its canonical name (``linger.ms`` is reported as
``queue.buffering.max.ms``) and without saying where it came from. ``create_client`` finds the
setting the user actually wrote by checking the settings one at a time (a check that stops
before any client is created) and says which argument or config dict holds it, with its value
unless that is a secret.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from flowodm._secrets import MASK, is_secret_key, scrub
from flowodm.exceptions import ConfigurationError

if TYPE_CHECKING:
    from flowodm.kafka.logs import ClientErrorLog, LibrdkafkaLog
    from flowodm.kafka.recovery import BrokerWatch

__all__ = ["CONFIG_DOCS", "FlowProducer", "create_client", "kafka_reason"]

CONFIG_DOCS = "https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md"

# Where delivery-callback exceptions are logged (documented in docs/producing.md).
logger = logging.getLogger("flowodm.connection")
_CALLBACK_ERRORS_LOCK = threading.Lock()

_NO_SUCH_PROPERTY = re.compile(r'No such configuration property: "([^"]+)"')
_INVALID_VALUE = re.compile(r'Invalid value (?:"[^"]*" )?for configuration property "([^"]+)"')
# A property no librdkafka version has: a check of one setting stops at it, creating no client.
_PROBE_KEY = "flowodm.kafka.config.check"
# librdkafka settings that connect() arguments become.
_ARGUMENT_OF = {
    "bootstrap.servers": "bootstrap_servers",
    "security.protocol": "security_protocol",
    "sasl.mechanism": "sasl_mechanism",
    "sasl.username": "sasl_username",
    "sasl.password": "sasl_password",
    "ssl.ca.location": "ssl_ca_location",
    "ssl.certificate.location": "ssl_certificate_location",
    "ssl.key.location": "ssl_key_location",
    "ssl.key.password": "ssl_key_password",
    "client.id": "client_id",
}

ClientFactory = type[Producer] | type[Consumer]


def create_client(
    factory: ClientFactory,
    settings: dict[str, Any],
    *,
    user_section: tuple[str, Mapping[str, Any]],
    extra: Mapping[str, Any],
    secrets: Iterable[str],
) -> Any:
    """Instantiate a confluent client, turning config errors into ``ConfigurationError``.

    Args:
        factory: ``Producer`` (or a subclass) or ``Consumer``.
        settings: The merged librdkafka settings.
        user_section: The name and contents of the user's dict (``"producer_config"`` …).
        extra: FlowODM's internal overrides, named as such in errors.
        secrets: Values masked in any message.

    Raises:
        ConfigurationError: librdkafka refused a setting; the message names it the way the
            user gave it, and where.
    """
    try:
        return factory(settings)
    except (KafkaException, TypeError, ValueError) as exc:
        message = _explain(factory, kafka_reason(exc), settings, user_section, extra)
        raise ConfigurationError(scrub(message, secrets)) from None


def kafka_reason(exc: BaseException) -> str:
    """librdkafka's text of a client exception (the ``KafkaError``'s, when there is one)."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return str(exc.args[0].str())
    return str(exc)


def _explain(
    factory: ClientFactory,
    reason: str,
    settings: Mapping[str, Any],
    user_section: tuple[str, Mapping[str, Any]],
    extra: Mapping[str, Any],
) -> str:
    """Say which setting librdkafka refused, by the name and in the place the user gave it."""
    section, _ = user_section
    unknown = _NO_SUCH_PROPERTY.search(reason)
    if unknown:
        key = unknown.group(1)
        origin = "an internal override" if key in extra else section
        return (
            f"unknown librdkafka property {key!r} in {origin}; check its spelling against "
            f"{CONFIG_DOCS}"
        )
    for key, value in settings.items():
        refused = _refusal(factory, key, value)
        if refused is None:
            continue
        shown = MASK if _not_shown(key, value) else repr(value)
        canonical = _INVALID_VALUE.search(refused)
        alias = (
            f" (librdkafka calls it {canonical.group(1)!r})"
            if canonical and canonical.group(1) != key
            else ""
        )
        origin = _origin(key, user_section, extra)
        return f"invalid value {shown} for {key!r}{alias} in {origin}; see {CONFIG_DOCS}"
    return f"invalid Kafka client configuration: {reason}"


def _refusal(factory: ClientFactory, key: str, value: Any) -> str | None:
    """librdkafka's objection to ``key=value`` on its own, or ``None`` if it accepts it.

    The probe key after it makes confluent stop before a client is created (a consumer checks
    for a ``group.id`` before anything else, so it gets one).
    """
    probe: dict[str, Any] = {"group.id": _PROBE_KEY} if factory is Consumer else {}
    try:
        factory({**probe, key: value, _PROBE_KEY: "1"})
    except (KafkaException, TypeError, ValueError) as exc:
        reason = kafka_reason(exc)
        return None if _PROBE_KEY in reason else reason
    return None  # pragma: no cover - the probe key is always refused


def _origin(key: str, user_section: tuple[str, Mapping[str, Any]], extra: Mapping[str, Any]) -> str:
    """Where a librdkafka setting came from, in the user's terms."""
    section, given = user_section
    if key in extra:
        return "an internal override"
    if key in given:
        return section
    argument = _ARGUMENT_OF.get(key)
    if argument is not None:
        return f"connect({argument}=...)"
    return "FlowODM's defaults"


def _not_shown(key: str, value: Any) -> bool:
    """Whether an error must not echo this setting's value (a secret, or an object)."""
    return is_secret_key(key) or not isinstance(value, str | int | float | bool)


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
    #: Notes when the producer lost every broker (``flowodm.kafka.recovery``); ``None`` for a
    #: producer that holds no producer id a restarted broker could have forgotten.
    broker_watch: BrokerWatch | None = None
    #: Values masked in logged callback exceptions (``Connection.new_producer`` sets them).
    secrets: tuple[str, ...] = ()
    #: How many delivery callbacks served by this producer raised an exception (logged).
    callback_errors: int = 0

    def flush(self, timeout: float | None = None) -> int:
        """Wait until queued messages are delivered (or failed); return how many are left."""
        return super().flush(-1 if timeout is None else timeout)

    def poll(self, timeout: float | None = None) -> int:
        """Serve delivery callbacks for up to ``timeout`` seconds; return how many ran."""
        return super().poll(-1 if timeout is None else timeout)

    def callback_failed(self, exc: BaseException) -> None:
        """Count and log an exception a delivery callback raised, with secrets masked.

        Called by FlowODM's callback wrappers (``produce_nowait``'s), which catch the exception
        before confluent-kafka would re-raise it from the ``poll()``/``flush()`` that served the
        report. The traceback is formatted here (not with ``exc_info``) so that known secrets in
        the exception's text are masked before anything reaches a handler.
        """
        with _CALLBACK_ERRORS_LOCK:  # the poller and a flush() may serve reports at once
            self.callback_errors += 1
        text = scrub("".join(traceback.format_exception(exc)).rstrip(), self.secrets)
        logger.error(
            "a Kafka delivery callback raised an exception (not re-raised; %d so far on this "
            "producer):\n%s",
            self.callback_errors,
            text,
        )

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
