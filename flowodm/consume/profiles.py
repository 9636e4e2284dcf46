"""Consumer settings profiles: upstream's six names and numbers, typed, validated and used.

Upstream 0.3.1's profiles had four bugs. ``max_poll_records`` was never used.
``to_producer_config()`` was never called. A subclass override without ``@dataclass`` was
ignored. RealTime and HighThroughput turned on librdkafka's auto-commit on top of the manual
commits, which committed messages before they were processed. Here the numbers stay and those
bugs are fixed.

A profile is immutable, hashable and picklable (Dask ships it). It is customised by keyword
(``LongRunningSettings(session_timeout_ms=60000)``) or by class-level overrides in a subclass
(``class Mine(BaseSettings): session_timeout_ms = 20000``). Values are checked against
librdkafka's ranges, so a profile that passes is one librdkafka accepts.

The consumer reads ``to_consumer_config()``. It always sets ``enable.auto.commit=true`` and
``enable.auto.offset.store=false``, so librdkafka commits only the offsets FlowODM stores. It
also reads ``store_offsets`` (when FlowODM stores them) and ``max_poll_records`` (the
``num_messages`` it passes to ``Consumer.consume()``). ``to_producer_config()`` is meant for
``Connection.producer_settings(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import FrozenInstanceError
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self, dataclass_transform

from pydantic import SecretStr

from flowodm._arguments import did_you_mean, positive_count, reject_unknown, require_choice
from flowodm._secrets import redact
from flowodm.exceptions import ArgumentTypeError, InvalidArgumentError

__all__ = [
    "AutoOffsetReset",
    "BaseSettings",
    "BatchSettings",
    "ConsumerProfile",
    "HighThroughputSettings",
    "LongRunningSettings",
    "RealTimeSettings",
    "ReliableSettings",
    "StoreOffsets",
]

AutoOffsetReset = Literal["earliest", "latest"]
StoreOffsets = Literal["after_processing", "on_receive"]

# Field -> (librdkafka property, librdkafka's maximum); the minimum is 1 ms.
_MILLISECONDS = {
    "session_timeout_ms": ("session.timeout.ms", 3_600_000),
    "heartbeat_interval_ms": ("heartbeat.interval.ms", 3_600_000),
    "max_poll_interval_ms": ("max.poll.interval.ms", 86_400_000),
    "auto_commit_interval_ms": ("auto.commit.interval.ms", 86_400_000),
}
_MAX_BATCH = 1_000_000  # Consumer.consume() refuses a larger num_messages
# Properties owned by a field or by the commit model. extra_config may not set them, so each
# setting has one validated source.
_OWNED = {
    **{prop: name for name, (prop, _) in _MILLISECONDS.items()},
    "auto.offset.reset": "auto_offset_reset",
    "enable.auto.commit": "enable_auto_commit",
    "enable.auto.offset.store": "enable_auto_commit",
    "auto.commit.enable": "enable_auto_commit",
    "max.poll.records": "max_poll_records",  # librdkafka 2.16 has it for share consumers only
}


# Type checkers see ConsumerProfile's fields as typed keywords. There is no frozen_default because
# with it mypy 1.x reports "int not callable" for an unannotated subclass override.
@dataclass_transform(kw_only_default=True)
class _Profile:
    """Builds a profile at run time: keywords over the class's (or a subclass's) values."""

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        reject_unknown(cls.__name__, values, _FIELDS)
        given = {name: values[name] if name in values else getattr(cls, name) for name in _FIELDS}
        for name, value in _validated(given).items():
            object.__setattr__(self, name, value)


class ConsumerProfile(_Profile):
    """librdkafka consumer settings for one kind of workload (upstream's ``BaseSettings``).

    Attributes:
        session_timeout_ms: ``session.timeout.ms``; above ``heartbeat_interval_ms``.
        heartbeat_interval_ms: ``heartbeat.interval.ms`` (ideally a third of the session).
        max_poll_interval_ms: ``max.poll.interval.ms``; at least ``session_timeout_ms``.
        max_poll_records: the ``num_messages`` the consumer asks ``Consumer.consume()`` for
            (at most 1,000,000); not a librdkafka property, so never emitted.
        auto_offset_reset: ``auto.offset.reset``: ``"earliest"`` or ``"latest"``.
        enable_auto_commit: upstream's flag, kept for compatibility. It no longer lets
            librdkafka commit whatever was fetched (which lost unprocessed messages). It chooses
            when FlowODM stores an offset for the background commit: ``False`` (every profile's
            default) after the handler succeeds (at-least-once), ``True`` when the message is
            handed out (at-most-once, upstream's ``before_processing``). See ``store_offsets``.
        auto_commit_interval_ms: ``auto.commit.interval.ms``: how often stored offsets are
            committed, so also about how much processed work a crash can replay.
        extra_config: more librdkafka consumer properties (``SecretStr`` values allowed), merged
            last; properties a field owns are refused.
    """

    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 15_000
    max_poll_interval_ms: int = 300_000
    max_poll_records: int = 500
    auto_offset_reset: AutoOffsetReset = "earliest"
    enable_auto_commit: bool = False
    auto_commit_interval_ms: int = 5_000
    extra_config: Mapping[str, Any] = MappingProxyType({})

    # Over FlowODM's PRODUCER_DEFAULTS (acks=all, idempotence, 30 s message.timeout.ms),
    # upstream's base values add nothing: acks=all is set, retry.backoff.ms=100 is librdkafka's
    # default, and retries=3 would stop retrying long before the 30 s timeout.
    _PRODUCER: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Upstream silently ignored a misspelt class-level override; here it fails.
        hints = vars(cls).get("__annotations__", {})
        for name, value in vars(cls).items():
            if name.startswith("_") or name in _FIELDS or "ClassVar" in str(hints.get(name)):
                continue
            if not (callable(value) or isinstance(value, property | classmethod | staticmethod)):
                raise ArgumentTypeError(
                    f"{cls.__name__}.{name} is not a consumer profile setting"
                    f"{did_you_mean(name, _FIELDS)}; the settings are: {', '.join(_FIELDS)}",
                    argument=name,
                )
        try:  # a bad class-level value fails at definition, naming the class
            _validated({name: getattr(cls, name) for name in _FIELDS})
        except InvalidArgumentError as exc:
            raise type(exc)(f"{cls.__name__}: {exc}", argument=exc.argument) from None

    @property
    def store_offsets(self) -> StoreOffsets:
        """When the consumer stores an offset for the background commit.

        ``"after_processing"``: once the handler succeeded; a crash replays unfinished work.
        ``"on_receive"`` (``enable_auto_commit=True``): when handed out; a crash loses it.
        """
        return "on_receive" if self.enable_auto_commit else "after_processing"

    def to_consumer_config(self) -> dict[str, Any]:
        """Return librdkafka consumer properties (no ``group.id`` or connection settings).

        ``SecretStr`` values in ``extra_config`` are revealed: never log the result raw.
        """
        config: dict[str, Any] = {
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": self.heartbeat_interval_ms,
            "max.poll.interval.ms": self.max_poll_interval_ms,
            "auto.offset.reset": self.auto_offset_reset,
            # Every profile's commit model: librdkafka commits, FlowODM decides what.
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,
            "auto.commit.interval.ms": self.auto_commit_interval_ms,
        }
        for key, value in self.extra_config.items():
            config[key] = value.get_secret_value() if isinstance(value, SecretStr) else value
        return config

    def to_producer_config(self) -> dict[str, Any]:
        """Return the producer properties this profile sets over FlowODM's defaults.

        Without ``extra_config``: it holds consumer properties, which a producer warns about.
        """
        return dict(self._PRODUCER)

    def replace(self, **changes: Any) -> Self:
        """Return a copy with ``changes`` applied, validated like the constructor."""
        return type(self)(**{**self._values(), **changes})

    def _values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    def __setattr__(self, name: str, value: Any) -> None:
        hint = f"; use .replace({name}=...) for a changed copy" if name in _FIELDS else ""
        if "__dataclass_fields__" in vars(type(self)):
            hint += "; do not decorate a profile with @dataclass: class-level overrides work as is"
        raise FrozenInstanceError(
            f"{type(self).__name__} is immutable (profiles are shared between threads and "
            f"processes){hint}"
        )

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        # Only extra_config's keys: its values need not be hashable (e.g. a list).
        values = self._values()
        return hash((type(self), frozenset(values.pop("extra_config")), *values.values()))

    def __reduce__(self) -> tuple[Any, ...]:
        # Every value explicit, so a worker gets these numbers even if its class differs.
        return (_rebuild, (type(self), {**self._values(), "extra_config": dict(self.extra_config)}))

    def __repr__(self) -> str:
        values = {**self._values(), "extra_config": redact(self.extra_config)}
        shown = ", ".join(f"{name}={value!r}" for name, value in values.items())
        return f"{type(self).__name__}({shown})"


_FIELDS: tuple[str, ...] = tuple(
    name for name, hint in ConsumerProfile.__annotations__.items() if "ClassVar" not in str(hint)
)

BaseSettings = ConsumerProfile
"""Upstream 0.3.1's name for ``ConsumerProfile``."""


def _rebuild(cls: type[ConsumerProfile], values: dict[str, Any]) -> ConsumerProfile:
    return cls(**values)


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    """Check every setting; return them ready to store."""
    for name, (_, maximum) in _MILLISECONDS.items():
        ms = values[name]
        if not isinstance(ms, int) or isinstance(ms, bool):
            raise ArgumentTypeError(f"{name} must be whole milliseconds, not {ms!r}", argument=name)
        if not 1 <= ms <= maximum:
            raise InvalidArgumentError(
                f"{name} must be between 1 and {maximum} ms, not {ms!r}", argument=name
            )
    session, heartbeat = values["session_timeout_ms"], values["heartbeat_interval_ms"]
    poll_interval = values["max_poll_interval_ms"]
    records = positive_count("max_poll_records", values["max_poll_records"], "messages")
    for name, ok, rule in (
        # librdkafka accepts a heartbeat as long as the session, but the group would then
        # evict the member between two heartbeats.
        ("heartbeat_interval_ms", heartbeat < session, f"below session_timeout_ms ({session})"),
        (
            "max_poll_interval_ms",
            poll_interval >= session,
            f"at least session_timeout_ms ({session})",
        ),
        ("max_poll_records", records <= _MAX_BATCH, f"at most {_MAX_BATCH}"),
    ):
        if not ok:
            raise InvalidArgumentError(f"{name} must be {rule}, not {values[name]}", argument=name)
    require_choice("auto_offset_reset", values["auto_offset_reset"], ("earliest", "latest"))
    if not isinstance(values["enable_auto_commit"], bool):
        raise ArgumentTypeError(
            f"enable_auto_commit must be True or False, not {values['enable_auto_commit']!r}",
            argument="enable_auto_commit",
        )
    extra = values["extra_config"]
    if not isinstance(extra, Mapping) or not all(isinstance(key, str) for key in extra):
        raise ArgumentTypeError(
            "extra_config must map librdkafka property names (str) to values",
            argument="extra_config",
        )
    for key in extra:
        if key in _OWNED:
            raise InvalidArgumentError(
                f"extra_config must not set {key!r}: the profile's {_OWNED[key]} field owns it; "
                f"pass {_OWNED[key]}=... instead",
                argument="extra_config",
            )
    return {**values, "extra_config": MappingProxyType(dict(extra))}  # a private, frozen copy


class LongRunningSettings(ConsumerProfile):
    """Slow handlers: long session and poll intervals, small batches (upstream's loop default)."""

    session_timeout_ms: int = 300_000
    heartbeat_interval_ms: int = 60_000
    max_poll_interval_ms: int = 600_000
    max_poll_records: int = 100


class BatchSettings(ConsumerProfile):
    """Batch jobs over a topic's history: the base numbers (upstream defines it so, too)."""


class RealTimeSettings(ConsumerProfile):
    """Low latency: fast failure detection, tiny batches, newest messages first.

    Upstream turned auto-commit on here. FlowODM stays at-least-once and commits every second,
    so a restart replays about a second of work at most.
    """

    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 30_000
    max_poll_records: int = 10
    auto_offset_reset: AutoOffsetReset = "latest"
    auto_commit_interval_ms: int = 1_000


class HighThroughputSettings(ConsumerProfile):
    """Volume over latency: big batches, fewer commit requests, a leaner producer.

    Upstream turned auto-commit on here. FlowODM stays at-least-once and commits every 10 s:
    fewer requests, but a crash may replay up to 10 s of work. The producer settings are
    upstream's: ``acks=1`` (leader only), no retries, lz4, 10 ms linger and 64 KiB batches
    (librdkafka's default is 1 MB). It adds ``enable.idempotence=false``, because librdkafka
    refuses ``acks=1`` and ``retries=0`` with FlowODM's default idempotence.
    """

    max_poll_records: int = 1_000
    auto_offset_reset: AutoOffsetReset = "latest"
    auto_commit_interval_ms: int = 10_000

    _PRODUCER: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {
            "acks": "1",
            "enable.idempotence": False,
            "retries": 0,
            "batch.size": 65_536,
            "linger.ms": 10,
            "compression.type": "lz4",
        }
    )


class ReliableSettings(ConsumerProfile):
    """No loss and no retry duplicates: a patient session, small batches, idempotence.

    Producer: ``acks=all`` with idempotence, and upstream's 10 retries 500 ms apart; the 30 s
    ``message.timeout.ms`` still bounds delivery. In-flight requests are capped at 5, not
    upstream's 1: with idempotence librdkafka keeps order and drops retried duplicates up to 5,
    so 1 would only cost throughput.
    """

    session_timeout_ms: int = 60_000
    heartbeat_interval_ms: int = 20_000
    max_poll_records: int = 100

    _PRODUCER: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {
            "acks": "all",
            "enable.idempotence": True,
            "max.in.flight.requests.per.connection": 5,
            "retries": 10,
            "retry.backoff.ms": 500,
        }
    )
