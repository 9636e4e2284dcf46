"""The process-wide connection: config, the shared producer and its poller, the registry.

Contract (used by ``flowodm.produce``, the DataFrame kit, the CLI and the sandbox):

- ``connect(...) -> Connection`` builds a ``ConnectionConfig`` (arguments over environment;
  ``None`` = not given, ``""`` = clear), validates it eagerly (the shared producer is created,
  so an unknown librdkafka key in ``producer_config``/``consumer_config`` raises
  ``ConfigurationError`` naming it) and makes it current. Calling it again replaces the current
  connection; the old producer is flushed (at most ``REPLACE_FLUSH_TIMEOUT`` s) and closed.
- ``get_connection()`` returns the current connection, building one from the environment the
  first time (``ConfigurationError`` with the fix when no bootstrap servers are configured).
  ``get_producer()`` is ``get_connection().producer``: a ``FlowProducer``, i.e. confluent's
  ``Producer`` whose ``flush(timeout=None)`` returns the number of messages left.
  ``disconnect()`` closes the current one (``disconnect(bootstrap_servers=…)`` only if it
  uses those servers).
- ``Connection.producer`` is created lazily under a lock, together with a daemon poller thread
  (``flowodm.kafka.poller``) that calls ``poll(0.1)`` so delivery callbacks run without anybody
  calling ``flush()``: ``produce_nowait(callback=…)`` callbacks and ``produce()``/``aproduce()``
  completions run on that thread (``flowodm-poller``). An exception raised by a callback is
  logged, not fatal.
- ``Connection.replace_producer(broken)`` swaps in a fresh shared producer if the current one
  is still ``broken`` (fenced or fatal); the old one keeps its poller until its queue drains
  (at most its ``message.timeout.ms``) and is then closed. ``Connection.producer`` does the
  same by itself for a shared producer that reported losing every broker (a restarted broker
  may have forgotten its producer id; ``flowodm.kafka.recovery``), at most every
  ``LOST_BROKER_BACKOFF`` s while the broker stays down.
- ``Connection.producer_settings(extra, **overrides)`` is the merged librdkafka dict:
  ``PRODUCER_DEFAULTS`` < security and ``client.id`` < the user's ``producer_config`` < ``extra``
  < ``overrides``. ``new_producer(extra)`` builds a separate producer from it (no poller; the
  caller polls) whose ``error_cb`` keeps the last client error and logs it (or forwards it
  to the user's ``error_cb``), and whose librdkafka log lines go to ``flowodm.librdkafka``.
- ``Connection.registry`` is a lazily built ``RegistryAdapter`` or ``None`` without a URL.
- ``Connection.close(timeout)`` drains every producer it owns for at most ``timeout`` s,
  purges what is left (its delivery callbacks report ``_PURGE_QUEUE``), closes them and the
  idle bulk producers pooled for it, and returns how many messages were not delivered.
- ``codec_host()`` is what model codecs use without an explicit connection: the current one,
  or ``OFFLINE`` when nothing is configured (``serialize()`` works offline for values that need
  no registry).
- At interpreter exit the current connection is closed, registered once: the flush takes at
  most ``EXIT_FLUSH_TIMEOUT`` s, and gives up after ``EXIT_STALL_TIMEOUT`` s without any
  delivery report (no broker answers), so exit is never held for long; a warning then says
  how many messages were not acknowledged.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import Consumer, Producer

from flowodm._secrets import safe_servers, safe_url, secrets_in_config
from flowodm.exceptions import ConfigurationError
from flowodm.kafka.clients import FlowProducer, create_client
from flowodm.kafka.config import PRODUCER_DEFAULTS, ConnectionConfig, build_config
from flowodm.kafka.logs import ClientErrorLog, LibrdkafkaLog
from flowodm.kafka.poller import POLLER_THREAD_NAME, Poller
from flowodm.kafka.pool import discard_pooled_producers
from flowodm.kafka.recovery import STATS_WAIT, ReplacementBudget, lost_its_broker, watch_brokers
from flowodm.serde import model_codec as _model_codec
from flowodm.serde.registry import RegistryAdapter

__all__ = [
    "EXIT_FLUSH_TIMEOUT",
    "EXIT_STALL_TIMEOUT",
    "REPLACE_FLUSH_TIMEOUT",
    "Connection",
    "FlowProducer",
    "codec_host",
    "connect",
    "disconnect",
    "get_connection",
    "get_producer",
]

logger = logging.getLogger("flowodm.connection")


REPLACE_FLUSH_TIMEOUT = 10.0
EXIT_FLUSH_TIMEOUT = 10.0
# At exit, seconds without any delivery report after which the flush gives up: a reachable
# broker acknowledges within milliseconds, so only an unreachable one hits this.
EXIT_STALL_TIMEOUT = 2.0
_NO_SERVERS = (
    "no Kafka bootstrap servers configured: call flowodm.connect(bootstrap_servers="
    "'host:9092') or set KAFKA_BOOTSTRAP_SERVERS (or FLOWODM_BOOTSTRAP_SERVERS)"
)


class Connection:
    """One Kafka + Schema Registry configuration with its lazily created clients.

    Most code uses the current connection through ``connect()``/``get_connection()``; tests and
    multi-cluster code may build one directly and pass it around.
    """

    def __init__(self, config: ConnectionConfig) -> None:
        """Wrap ``config``; no client is created until first use (or ``validate()``)."""
        self._config = config
        self._lock = threading.RLock()
        self._producer: FlowProducer | None = None
        self._poller: Poller | None = None
        self._retired: list[Poller] = []  # replaced producers, still draining
        self._registry: RegistryAdapter | None = None
        self._registry_built = False
        self._closed = False
        # When each kind of client error was last logged, across this connection's producers.
        self._errors_logged: dict[int, float] = {}
        self._close_callbacks: list[Callable[[], object]] = []
        # Spaces out replacements of a shared producer that lost every broker (recovery.py).
        self._lost_broker_budget = ReplacementBudget()

    @property
    def config(self) -> ConnectionConfig:
        """The validated configuration (secrets masked in its repr)."""
        return self._config

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called (by ``connect()`` replacing it, or explicitly)."""
        return self._closed

    @property
    def producer(self) -> FlowProducer:
        """The shared producer, created on first use with its background poller.

        A shared producer that reported losing every broker (``_ALL_BROKERS_DOWN``: the broker
        restarted or went away) while it held a producer id is replaced here by a fresh one
        before it is handed out, since
        a restarted broker may have forgotten its producer id and then refuses all it sends
        (``flowodm.kafka.recovery``). While the broker stays down, that happens at most every
        ``LOST_BROKER_BACKOFF`` seconds.

        Raises:
            ConfigurationError: no bootstrap servers, an invalid producer setting, or the
                connection was closed.
        """
        producer = self._producer
        if producer is not None and not _must_replace(producer):
            return producer
        with self._lock:
            self._check_open()
            if self._producer is None:
                self._producer = self.new_producer()
                self._poller = Poller(self._producer)
            elif lost_its_broker(self._producer) and self._lost_broker_budget.take():
                self._swap_producer(lost_broker=True)
            return self._producer

    @property
    def registry(self) -> RegistryAdapter | None:
        """The Schema Registry adapter, or ``None`` when no registry URL is configured.

        Raises:
            ConfigurationError: invalid ``schema_registry_config``, or the connection was closed.
        """
        if self._registry_built:
            return self._registry
        with self._lock:
            self._check_open()
            if not self._registry_built:
                url = self._config.schema_registry_url
                if url is not None:
                    self._registry = RegistryAdapter(
                        url,
                        config={
                            **self._config.registry_auth(),
                            **self._config.schema_registry_config,
                        },
                        timeout=self._config.registry_timeout,
                    )
                self._registry_built = True
            return self._registry

    def producer_settings(
        self, extra: Mapping[str, Any] | None = None, /, **overrides: Any
    ) -> dict[str, Any]:
        """Return the merged librdkafka producer config (contains secrets: never log it raw).

        Order, later wins: FlowODM's defaults (``acks=all``, idempotence,
        ``message.timeout.ms=30000``, ``linger.ms=5``), security and ``client.id``, the user's
        ``producer_config``, then ``extra`` and ``overrides`` (keys used as given, e.g.
        ``**{"linger.ms": 50}``).

        Raises:
            ConfigurationError: no bootstrap servers are configured.
        """
        if self._config.bootstrap_servers is None:
            raise ConfigurationError(_NO_SERVERS)
        return {
            **PRODUCER_DEFAULTS,
            **self._config.kafka_settings(),
            **self._config.producer_config,
            **(extra or {}),
            **overrides,
        }

    def consumer_settings(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return security, ``client.id`` and the user's ``consumer_config``, then ``extra``.

        Raises:
            ConfigurationError: no bootstrap servers are configured.
        """
        if self._config.bootstrap_servers is None:
            raise ConfigurationError(_NO_SERVERS)
        return {**self._config.kafka_settings(), **self._config.consumer_config, **(extra or {})}

    def new_producer(self, extra: Mapping[str, Any] | None = None) -> FlowProducer:
        """Create a separate producer from ``producer_settings(extra)``; the caller polls it.

        Its ``error_cb`` is a ``ClientErrorLog`` (kept as ``producer.error_log``; a user's
        ``error_cb`` still receives every error through it) and, unless the settings name a
        ``logger``, librdkafka's log lines go to the ``flowodm.librdkafka`` logger while the
        producer is polled, instead of stderr.

        Raises:
            ConfigurationError: an unknown or invalid librdkafka property (named in the message).
        """
        settings = self.producer_settings(extra)
        secrets = self._config.secret_values()
        error_log = ClientErrorLog(
            secrets, forward=settings.get("error_cb"), logged=self._errors_logged
        )
        # On idempotent producers, error_cb and stats_cb also tell whether a lost broker took
        # the producer id with it (flowodm.kafka.recovery).
        watch = watch_brokers(settings, error_log)
        librdkafka_log = None
        if "logger" not in settings:
            librdkafka_log = settings["logger"] = LibrdkafkaLog(secrets)
        producer: FlowProducer = self._create(
            FlowProducer, settings, extra or {}, "producer_config"
        )
        producer.error_log, producer.librdkafka_log = error_log, librdkafka_log
        producer.broker_watch = watch
        producer.secrets = tuple(secrets)  # masked in logged delivery-callback exceptions
        return producer

    def new_consumer(self, settings: Mapping[str, Any]) -> Consumer:
        """Create a consumer from ``settings`` (already merged by the caller) with FlowODM's logs.

        Like ``new_producer``: client errors go through a ``ClientErrorLog`` (or the user's
        ``error_cb``) and librdkafka's lines to ``flowodm.librdkafka``, with secrets masked.
        The consumer is the caller's to close; ``on_close`` callbacks let it know when this
        connection closes.

        Raises:
            ConfigurationError: an unknown or invalid librdkafka property (named in the message),
                or the connection was closed.
        """
        self._check_open()
        merged = dict(settings)
        secrets = self._config.secret_values()
        merged["error_cb"] = ClientErrorLog(
            secrets, forward=merged.get("error_cb"), logged=self._errors_logged
        )
        merged.setdefault("logger", LibrdkafkaLog(secrets))
        user = self._config.consumer_config
        extra = {k: v for k, v in settings.items() if k not in user}
        return self._create(Consumer, merged, extra, "consumer_config")  # type: ignore[no-any-return]

    def on_close(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` (once) when this connection closes: consumers made from it close."""
        with self._lock:
            if not self._closed:
                self._close_callbacks.append(callback)
                return
        callback()

    def validate(self) -> None:
        """Create the shared producer and the registry client now, so bad settings fail here.

        Consumer settings are checked by creating (and at once closing) an unsubscribed
        consumer. Nothing is sent to the brokers or the registry.

        Raises:
            ConfigurationError: an unknown or invalid producer, consumer or registry setting.
        """
        if self._config.bootstrap_servers is not None:
            _ = self.producer
            if self._config.consumer_config:
                settings = {"group.id": "flowodm-config-check", **self.consumer_settings()}
                # librdkafka's warnings about the settings (CONFWARN) go to logging, not stderr.
                settings.setdefault("logger", LibrdkafkaLog(self._config.secret_values()))
                consumer = self._create(Consumer, settings, {}, "consumer_config")
                consumer.poll(0)  # serves the log lines queued at creation
                consumer.close()
        _ = self.registry

    def replace_producer(self, broken: Producer) -> FlowProducer:
        """Swap in a fresh shared producer if the current one is still ``broken``.

        Called by the produce functions after the shared producer reported ``PRODUCER_FENCED``
        or a fatal error (Tansu 0.6 fences an idempotent producer after any message timeout and
        never accepts it again). The old producer keeps its poller: messages already queued on
        it still get their delivery reports, for at most its ``message.timeout.ms``, and then it
        is closed. If another thread replaced it first, nothing happens.

        Returns:
            The shared producer to use from now on.

        Raises:
            ConfigurationError: the connection was closed.
        """
        with self._lock:
            self._check_open()
            if self._producer is not broken or self._poller is None:
                return self.producer
            return self._swap_producer(lost_broker=False)

    def _swap_producer(self, *, lost_broker: bool) -> FlowProducer:
        """Replace the shared producer by a fresh one and retire the old one (lock held).

        The old producer keeps its poller until its queue drains, for at most its
        ``message.timeout.ms``, so messages already queued on it still get their reports.
        """
        old = self._poller
        assert old is not None  # the caller checked that a shared producer exists
        self._producer = self.new_producer()
        self._poller = Poller(self._producer)
        self._retired = [p for p in self._retired if not p.finished] + [old]
        old.retire(_message_timeout(self.producer_settings()))
        if not lost_broker:
            logger.warning(
                "the shared Kafka producer was fenced or hit a fatal error; a new producer "
                "replaces it (messages already queued on the old one are reported as they fail)"
            )
        else:
            self._lost_broker_budget.announce()
        return self._producer

    def close(
        self, timeout: float = REPLACE_FLUSH_TIMEOUT, *, stall_timeout: float | None = None
    ) -> int:
        """Flush (at most ``timeout`` s) and close the shared producer and the registry client.

        Messages still queued afterwards are purged, so their delivery callbacks report
        ``_PURGE_QUEUE`` instead of waiting forever. With ``stall_timeout``, the flush also
        gives up once no delivery report arrived for that long (interpreter exit uses it).
        Idle bulk producers kept for this connection (``produce_many``) are closed too. Safe to
        call twice.

        Returns:
            The number of messages that were not delivered.
        """
        with self._lock:
            if self._closed:
                return 0
            self._closed = True
            pollers = [*self._retired, *([self._poller] if self._poller is not None else [])]
            registry = self._registry
            # Drop the references so the lock-free fast paths see the closed state.
            self._producer = self._poller = self._registry = None
            self._retired = []
            self._registry_built = False
            callbacks, self._close_callbacks = self._close_callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # one consumer failing to close must not keep others open
                logger.exception("closing a consumer of the connection failed")
        for poller in pollers:  # they drain at the same time
            poller.retire(timeout, stall_timeout)
        left = sum(poller.join() for poller in pollers)
        discard_pooled_producers(self)
        if registry is not None:
            registry.close()
        return left

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        url = self._config.schema_registry_url
        state = "closed" if self._closed else "open"
        servers = self._config.bootstrap_servers
        return (
            f"Connection(bootstrap_servers={safe_servers(servers) if servers else None!r}, "
            f"schema_registry_url={safe_url(url) if url else None!r}, {state})"
        )

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError(
                "this Connection is closed (connect() replaced it or it was closed); "
                "use flowodm.get_connection() for the current one"
            )

    def _create(
        self,
        factory: type[Producer] | type[Consumer],
        settings: dict[str, Any],
        extra: Mapping[str, Any],
        section: str,
    ) -> Any:
        """Instantiate a confluent client, turning config errors into ``ConfigurationError``."""
        return create_client(
            factory,
            settings,
            user_section=(section, getattr(self._config, section, {})),
            extra=extra,
            secrets=[*self._config.secret_values(), *secrets_in_config(extra)],
        )


_current: Connection | None = None
_current_lock = threading.Lock()


def connect(
    bootstrap_servers: str | None = None,
    *,
    producer_config: Mapping[str, Any] | None = None,
    consumer_config: Mapping[str, Any] | None = None,
    schema_registry_url: str | None = None,
    schema_registry_config: Mapping[str, Any] | None = None,
    security_protocol: str | None = None,
    sasl_mechanism: str | None = None,
    sasl_username: str | None = None,
    sasl_password: str | None = None,
    ssl_ca_location: str | None = None,
    ssl_certificate_location: str | None = None,
    ssl_key_location: str | None = None,
    ssl_key_password: str | None = None,
    schema_registry_basic_auth_user_info: str | None = None,
    schema_registry_api_key: str | None = None,
    schema_registry_api_secret: str | None = None,
    client_id: str | None = None,
    registry_timeout: float | None = None,
    produce_timeout: float | None = None,
) -> Connection:
    """Configure Kafka and the Schema Registry for this process and return the connection.

    Arguments override the environment (``KAFKA_BOOTSTRAP_SERVERS``, ``SCHEMA_REGISTRY_URL``,
    ``FLOWODM_*`` …). ``None`` means "not given"; pass ``""`` (or ``{}`` for a dict) to clear a
    value the environment sets. Calling ``connect()`` again replaces the current connection:
    the old producer is flushed (at most 10 s) and closed.

    Args:
        bootstrap_servers: ``host:port[,host:port…]`` of the Kafka brokers.
        producer_config: librdkafka producer properties, applied over FlowODM's defaults.
        consumer_config: librdkafka consumer properties.
        schema_registry_url: Schema Registry URL; without it values are plain Avro.
        schema_registry_config: Extra confluent registry-client properties.
        security_protocol: ``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT`` or ``SASL_SSL``.
        sasl_mechanism: e.g. ``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512``.
        sasl_username: SASL user name.
        sasl_password: SASL password (kept as a secret, never shown).
        ssl_ca_location: CA certificate file for the brokers.
        ssl_certificate_location: Client certificate file.
        ssl_key_location: Client private key file.
        ssl_key_password: Password of the client key (secret).
        schema_registry_basic_auth_user_info: ``user:password`` for the registry (secret).
        schema_registry_api_key: Registry API key (with ``schema_registry_api_secret``).
        schema_registry_api_secret: Registry API secret (secret).
        client_id: ``client.id`` reported to the brokers.
        registry_timeout: Seconds per registry HTTP attempt (default 2; one retry, so a
            registry that accepts connections but never answers fails in about 4 s).
        produce_timeout: Default seconds a blocking ``produce()`` waits (default 35).

    Returns:
        The new current ``Connection``.

    Raises:
        ConfigurationError: an invalid argument or environment value, or an unknown or invalid
            librdkafka / registry-client property (named in the message).

    Example:
        >>> connect(bootstrap_servers="localhost:9092", producer_config={"linger.ms": 10})
        ... # doctest: +SKIP
    """
    config = build_config(
        bootstrap_servers=bootstrap_servers,
        producer_config=_as_dict(producer_config),
        consumer_config=_as_dict(consumer_config),
        schema_registry_url=schema_registry_url,
        schema_registry_config=_as_dict(schema_registry_config),
        security_protocol=security_protocol,
        sasl_mechanism=sasl_mechanism,
        sasl_username=sasl_username,
        sasl_password=sasl_password,
        ssl_ca_location=ssl_ca_location,
        ssl_certificate_location=ssl_certificate_location,
        ssl_key_location=ssl_key_location,
        ssl_key_password=ssl_key_password,
        schema_registry_basic_auth_user_info=schema_registry_basic_auth_user_info,
        schema_registry_api_key=schema_registry_api_key,
        schema_registry_api_secret=schema_registry_api_secret,
        client_id=client_id,
        registry_timeout=registry_timeout,
        produce_timeout=produce_timeout,
    )
    if config.bootstrap_servers is None and config.schema_registry_url is None:
        raise ConfigurationError(_NO_SERVERS)
    return _install(Connection(config))


def get_connection() -> Connection:
    """Return the current connection, building it from the environment on first use.

    Raises:
        ConfigurationError: no connection was made and the environment names no bootstrap
            servers (the message says how to fix it), or an environment value is invalid.
    """
    current = _current
    if current is not None and not current.closed:
        return current
    config = build_config()
    if config.bootstrap_servers is None:
        raise ConfigurationError(_NO_SERVERS)
    # replace=False: if another thread connected meanwhile, its connection is kept.
    return _install(Connection(config), replace=False)


def codec_host() -> Connection | _model_codec.CodecHost:
    """The connection model codecs use when none is given (``serialize()``, ``deserialize()``).

    The current connection (built from the environment if that names bootstrap servers or a
    registry), or ``flowodm.serde.model_codec.OFFLINE`` when nothing is configured: values that
    need no Schema Registry then encode offline, and those that need one say how to connect.

    Raises:
        ConfigurationError: an environment value is invalid.
    """
    current = _current
    if current is not None and not current.closed:
        return current
    config = build_config()
    if config.bootstrap_servers is None and config.schema_registry_url is None:
        return _model_codec.OFFLINE
    return _install(Connection(config), replace=False)


def get_producer() -> FlowProducer:
    """Return the shared producer of the current connection (``flush()`` returns what is left).

    Raises:
        ConfigurationError: no bootstrap servers are configured.
    """
    return get_connection().producer


def disconnect(
    timeout: float = REPLACE_FLUSH_TIMEOUT, *, bootstrap_servers: str | None = None
) -> int:
    """Close the current connection (flush bounded by ``timeout``) and forget it.

    Args:
        timeout: Seconds the flush may take before what is left is purged.
        bootstrap_servers: Only close a current connection to exactly these servers (e.g. a
            test sandbox that is about to stop); any other is kept.

    Returns:
        The number of messages that were not delivered (0 if nothing was closed).
    """
    global _current
    with _current_lock:
        old = _current
        if old is None or (
            bootstrap_servers is not None and old.config.bootstrap_servers != bootstrap_servers
        ):
            return 0
        _current = None
    return old.close(timeout)


def _install(connection: Connection, *, replace: bool = True) -> Connection:
    """Validate ``connection`` and make it current, closing the one it replaces."""
    global _current
    try:
        connection.validate()
    except BaseException:
        connection.close(0)
        raise
    with _current_lock:
        old = _current
        if not replace and old is not None and not old.closed:
            keep = old
        else:
            _current, keep = connection, connection
    if keep is not connection:
        connection.close(0)
        return keep
    if old is not None and old is not connection:
        old.close(REPLACE_FLUSH_TIMEOUT)
    return connection


def _close_at_exit() -> None:
    """Close the current connection at interpreter exit, bounded, saying what was dropped."""
    global _current
    with _current_lock:
        old, _current = _current, None
    if old is None:
        return
    # ``left`` is librdkafka's queue length: the unacknowledged messages, and at times a
    # protocol request still queued for an unreachable broker.
    left = old.close(EXIT_FLUSH_TIMEOUT, stall_timeout=EXIT_STALL_TIMEOUT)
    if left:
        logger.warning(
            "at interpreter exit, %d message(s) were not acknowledged by Kafka and were dropped "
            "(they may not have been written); wait for them before exiting with produce(), "
            "or with flowodm.get_producer().flush(timeout) after produce_nowait()",
            left,
        )


def _must_replace(producer: FlowProducer) -> bool:
    """Whether the shared producer lost every broker with its producer id (recovery.py).

    While that is undecided, waits (once per outage, outside the connection's lock) for the
    statistics report the poller thread serves; not on the poller thread itself (a delivery
    callback producing), which would wait for itself.
    """
    if lost_its_broker(producer):
        return True
    watch = producer.broker_watch
    if watch is None or not watch.undecided:
        return False
    if threading.current_thread().name == POLLER_THREAD_NAME:
        return False
    return lost_its_broker(producer, STATS_WAIT)


def _message_timeout(settings: Mapping[str, Any]) -> float:
    """Seconds librdkafka may take to report a message (``message.timeout.ms``)."""
    for name in ("message.timeout.ms", "delivery.timeout.ms"):
        if name in settings:
            return float(settings[name]) / 1000
    return 300.0  # librdkafka's default


def _as_dict(mapping: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if mapping is None else dict(mapping)


atexit.register(_close_at_exit)
