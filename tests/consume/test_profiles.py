"""Consumer settings profiles: upstream's numbers, overrides that take effect, configs
librdkafka accepts, FlowODM's commit model, and values that survive Dask (pickle, hash)."""

from __future__ import annotations

import copy
import logging
import pickle
from dataclasses import FrozenInstanceError, dataclass
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from pydantic import SecretStr

from flowodm.consume.profiles import (
    BaseSettings,
    BatchSettings,
    ConsumerProfile,
    HighThroughputSettings,
    LongRunningSettings,
    RealTimeSettings,
    ReliableSettings,
)
from flowodm.exceptions import ArgumentTypeError, InvalidArgumentError
from flowodm.kafka.config import PRODUCER_DEFAULTS, build_config
from flowodm.kafka.connection import Connection

ALL_PROFILES: list[type[ConsumerProfile]] = [
    ConsumerProfile,
    LongRunningSettings,
    BatchSettings,
    RealTimeSettings,
    HighThroughputSettings,
    ReliableSettings,
]
# No broker listens here; creating clients only validates their config.
NOWHERE = "127.0.0.1:1"
# librdkafka's log lines (connection refused …) go to logging instead of stderr.
QUIET = logging.getLogger("tests.consume.librdkafka")


class PicklableCustom(LongRunningSettings):
    max_poll_records = 7


def make_consumer(config: dict[str, Any]) -> None:
    """Create a real consumer from ``config`` (raises if librdkafka refuses it) and close it."""
    Consumer({**config, "group.id": "x", "bootstrap.servers": NOWHERE, "logger": QUIET}).close()


def merged_producer_settings(profile: ConsumerProfile) -> dict[str, Any]:
    connection = Connection(build_config(bootstrap_servers=NOWHERE))
    return {**connection.producer_settings(profile.to_producer_config()), "logger": QUIET}


# Upstream 0.3.1's settings.py, §1.5 of the reference: session, heartbeat, max poll interval,
# max_poll_records, auto.offset.reset.
UPSTREAM_NUMBERS = [
    (ConsumerProfile, 45_000, 15_000, 300_000, 500, "earliest"),
    (LongRunningSettings, 300_000, 60_000, 600_000, 100, "earliest"),
    (BatchSettings, 45_000, 15_000, 300_000, 500, "earliest"),
    (RealTimeSettings, 10_000, 3_000, 30_000, 10, "latest"),
    (HighThroughputSettings, 45_000, 15_000, 300_000, 1_000, "latest"),
    (ReliableSettings, 60_000, 20_000, 300_000, 100, "earliest"),
]


@pytest.mark.parametrize(
    ("cls", "session", "heartbeat", "max_poll", "records", "reset"), UPSTREAM_NUMBERS
)
def test_profiles_keep_upstreams_numbers(
    cls: type[ConsumerProfile],
    session: int,
    heartbeat: int,
    max_poll: int,
    records: int,
    reset: str,
) -> None:
    profile = cls()
    config = profile.to_consumer_config()
    assert config["session.timeout.ms"] == session
    assert config["heartbeat.interval.ms"] == heartbeat
    assert config["max.poll.interval.ms"] == max_poll
    assert config["auto.offset.reset"] == reset
    assert profile.max_poll_records == records
    assert "max.poll.records" not in config  # the batch size is consume()'s, not librdkafka's


def test_base_settings_is_upstreams_name_for_the_base_profile() -> None:
    assert BaseSettings is ConsumerProfile
    assert all(issubclass(cls, BaseSettings) for cls in ALL_PROFILES)


@pytest.mark.parametrize(
    ("cls", "interval"),
    [
        (ConsumerProfile, 5_000),
        (LongRunningSettings, 5_000),
        (BatchSettings, 5_000),
        (RealTimeSettings, 1_000),
        (HighThroughputSettings, 10_000),
        (ReliableSettings, 5_000),
    ],
)
def test_every_profile_commits_only_stored_offsets_after_processing(
    cls: type[ConsumerProfile], interval: int
) -> None:
    profile = cls()
    config = profile.to_consumer_config()
    assert config["enable.auto.commit"] is True
    assert config["enable.auto.offset.store"] is False
    assert config["auto.commit.interval.ms"] == interval
    # Upstream's RealTime/HighThroughput committed unprocessed messages; none does here.
    assert profile.enable_auto_commit is False
    assert profile.store_offsets == "after_processing"


def test_enable_auto_commit_means_storing_offsets_on_receive() -> None:
    profile = RealTimeSettings(enable_auto_commit=True)
    assert profile.store_offsets == "on_receive"
    # librdkafka still never stores on its own: FlowODM stores when it hands a message out.
    assert profile.to_consumer_config()["enable.auto.offset.store"] is False


def test_keyword_overrides_replace_only_the_given_setting() -> None:
    profile = LongRunningSettings(session_timeout_ms=400_000, max_poll_records=5)
    config = profile.to_consumer_config()
    assert config["session.timeout.ms"] == 400_000
    assert profile.max_poll_records == 5
    assert config["heartbeat.interval.ms"] == 60_000  # still LongRunning's


def test_class_level_overrides_in_a_subclass_take_effect() -> None:
    # Upstream's documented "Custom Settings" pattern, which upstream silently ignored.
    class Custom(BaseSettings):
        session_timeout_ms = 10_000
        heartbeat_interval_ms = 3_000
        auto_offset_reset = "latest"
        extra_config = {"fetch.min.bytes": 1}

    class Annotated(Custom):
        max_poll_records: int = 42
        enable_auto_commit: bool = True

    config = Custom().to_consumer_config()
    assert config["session.timeout.ms"] == 10_000
    assert config["heartbeat.interval.ms"] == 3_000
    assert config["auto.offset.reset"] == "latest"
    assert config["fetch.min.bytes"] == 1
    assert Annotated().max_poll_records == 42
    assert Annotated().store_offsets == "on_receive"
    assert Annotated().session_timeout_ms == 10_000  # inherited from Custom
    assert Custom(session_timeout_ms=20_000).session_timeout_ms == 20_000  # keywords win


def test_a_misspelt_class_level_override_fails_at_class_definition() -> None:
    with pytest.raises(ArgumentTypeError, match="did you mean 'session_timeout_ms'") as caught:

        class Typo(BaseSettings):
            sesion_timeout_ms = 10_000

    assert caught.value.argument == "sesion_timeout_ms"


def test_a_bad_class_level_value_fails_at_class_definition_naming_the_class() -> None:
    # Only the session timeout lowered: BaseSettings' 15 s heartbeat would outlast it.
    with pytest.raises(InvalidArgumentError, match=r"^Short: heartbeat_interval_ms") as caught:

        class Short(BaseSettings):
            session_timeout_ms = 10_000

    assert caught.value.argument == "heartbeat_interval_ms"


def test_decorating_a_profile_with_dataclass_fails_loudly() -> None:
    @dataclass
    class Decorated(BaseSettings):
        session_timeout_ms: int = 60_000

    with pytest.raises(FrozenInstanceError, match="do not decorate a profile with @dataclass"):
        Decorated()


def test_extra_config_is_merged_last_with_secret_values_revealed() -> None:
    profile = ReliableSettings(
        extra_config={"fetch.min.bytes": 1024, "sasl.password": SecretStr("hunter2")}
    )
    config = profile.to_consumer_config()
    assert list(config)[-2:] == ["fetch.min.bytes", "sasl.password"]
    assert config["fetch.min.bytes"] == 1024
    assert config["sasl.password"] == "hunter2"


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("session.timeout.ms", "session_timeout_ms"),
        ("auto.offset.reset", "auto_offset_reset"),
        ("enable.auto.commit", "enable_auto_commit"),
        ("enable.auto.offset.store", "enable_auto_commit"),
        ("max.poll.records", "max_poll_records"),
    ],
)
def test_extra_config_cannot_set_what_a_field_owns(key: str, field: str) -> None:
    with pytest.raises(InvalidArgumentError, match=f"pass {field}=") as caught:
        BaseSettings(extra_config={key: 1})
    assert caught.value.argument == "extra_config"


@pytest.mark.parametrize(
    ("values", "error", "argument"),
    [
        ({"session_timeout_ms": -1}, InvalidArgumentError, "session_timeout_ms"),
        ({"heartbeat_interval_ms": 0}, InvalidArgumentError, "heartbeat_interval_ms"),
        ({"session_timeout_ms": 3_600_001}, InvalidArgumentError, "session_timeout_ms"),
        ({"auto_commit_interval_ms": -5}, InvalidArgumentError, "auto_commit_interval_ms"),
        ({"max_poll_interval_ms": 1.5}, ArgumentTypeError, "max_poll_interval_ms"),
        ({"session_timeout_ms": True}, ArgumentTypeError, "session_timeout_ms"),
        ({"heartbeat_interval_ms": 45_000}, InvalidArgumentError, "heartbeat_interval_ms"),
        ({"max_poll_interval_ms": 40_000}, InvalidArgumentError, "max_poll_interval_ms"),
        ({"max_poll_records": 0}, InvalidArgumentError, "max_poll_records"),
        ({"max_poll_records": 1_000_001}, InvalidArgumentError, "max_poll_records"),
        ({"max_poll_records": "10"}, ArgumentTypeError, "max_poll_records"),
        ({"auto_offset_reset": "earlest"}, InvalidArgumentError, "auto_offset_reset"),
        ({"enable_auto_commit": "yes"}, ArgumentTypeError, "enable_auto_commit"),
        ({"extra_config": [("a", 1)]}, ArgumentTypeError, "extra_config"),
        ({"extra_config": {1: "x"}}, ArgumentTypeError, "extra_config"),
        ({"sesion_timeout_ms": 1}, ArgumentTypeError, "sesion_timeout_ms"),
    ],
)
def test_bad_settings_raise_naming_the_field(
    values: dict[str, Any], error: type[InvalidArgumentError], argument: str
) -> None:
    with pytest.raises(error) as caught:
        BaseSettings(**values)
    assert type(caught.value) is error
    assert caught.value.argument == argument


def test_a_typo_suggests_the_closest_setting() -> None:
    with pytest.raises(ArgumentTypeError, match="did you mean 'max_poll_records'"):
        LongRunningSettings(max_pol_records=5)  # type: ignore[call-arg]
    with pytest.raises(InvalidArgumentError, match="did you mean 'earliest'"):
        LongRunningSettings(auto_offset_reset="earlest")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", ALL_PROFILES)
def test_librdkafka_accepts_every_profiles_consumer_config(cls: type[ConsumerProfile]) -> None:
    make_consumer(cls().to_consumer_config())


def test_librdkafka_accepts_the_extremes_the_profiles_allow() -> None:
    profile = BaseSettings(
        session_timeout_ms=3_600_000,
        heartbeat_interval_ms=3_599_999,
        max_poll_interval_ms=86_400_000,
        auto_commit_interval_ms=86_400_000,
        extra_config={"fetch.min.bytes": 1},
    )
    make_consumer(profile.to_consumer_config())
    make_consumer(BaseSettings(session_timeout_ms=2, heartbeat_interval_ms=1).to_consumer_config())


EXPECTED_PRODUCER = [
    (ConsumerProfile, {}),
    (LongRunningSettings, {}),
    (BatchSettings, {}),
    (RealTimeSettings, {}),
    (
        HighThroughputSettings,
        {
            "acks": "1",
            "enable.idempotence": False,
            "retries": 0,
            "batch.size": 65_536,
            "linger.ms": 10,
            "compression.type": "lz4",
        },
    ),
    (
        ReliableSettings,
        {
            "acks": "all",
            "enable.idempotence": True,
            "max.in.flight.requests.per.connection": 5,
            "retries": 10,
            "retry.backoff.ms": 500,
        },
    ),
]


@pytest.mark.parametrize(("cls", "expected"), EXPECTED_PRODUCER)
def test_producer_configs_create_producers_over_flowodms_defaults(
    cls: type[ConsumerProfile], expected: dict[str, Any]
) -> None:
    profile = cls(extra_config={"fetch.min.bytes": 1})
    assert profile.to_producer_config() == expected  # consumer extras stay out of it
    settings = merged_producer_settings(profile)
    assert {key: settings[key] for key in expected} == expected
    Producer(settings).close()


def test_high_throughput_acks_1_needs_idempotence_off() -> None:
    # Why the profile sets enable.idempotence=False: FlowODM's default idempotence refuses both
    # of upstream's acks=1 and retries=0.
    assert PRODUCER_DEFAULTS["enable.idempotence"] is True
    settings = merged_producer_settings(HighThroughputSettings())
    with pytest.raises(KafkaException, match="`acks` must be set to `all`"):
        Producer({**settings, "enable.idempotence": True, "retries": 1})
    with pytest.raises(KafkaException, match="`retries` must be set >= 1"):
        Producer({**settings, "enable.idempotence": True, "acks": "all"})


def test_producer_config_is_a_fresh_copy() -> None:
    profile = ReliableSettings()
    profile.to_producer_config()["retries"] = 0
    assert profile.to_producer_config()["retries"] == 10


def test_repr_is_readable_and_hides_secrets() -> None:
    profile = RealTimeSettings(
        max_poll_records=20,
        extra_config={
            "sasl.password": "hunter2",
            "ssl.key.password": SecretStr("s3cret"),
            "fetch.min.bytes": 1,
        },
    )
    for shown in (repr(profile), str(profile)):
        assert shown.startswith("RealTimeSettings(session_timeout_ms=10000, ")
        assert "max_poll_records=20" in shown
        assert "'fetch.min.bytes': 1" in shown
        assert "hunter2" not in shown and "s3cret" not in shown
        assert "'sasl.password': '**********'" in shown


@pytest.mark.parametrize("cls", [*ALL_PROFILES, PicklableCustom])
def test_profiles_pickle_and_copy_with_their_values(cls: type[ConsumerProfile]) -> None:
    profile = cls(max_poll_records=3, extra_config={"fetch.min.bytes": 1})
    for clone in (pickle.loads(pickle.dumps(profile)), copy.copy(profile), copy.deepcopy(profile)):
        assert type(clone) is cls
        assert clone == profile
        assert clone.to_consumer_config() == profile.to_consumer_config()
        assert clone.max_poll_records == 3
    assert pickle.loads(pickle.dumps(PicklableCustom())).max_poll_records == 7


def test_profiles_are_hashable_values() -> None:
    same = {
        LongRunningSettings(extra_config={"a.b": [1]}),
        LongRunningSettings(extra_config={"a.b": [1]}),
    }
    assert len(same) == 1
    assert LongRunningSettings() != LongRunningSettings(max_poll_records=1)
    assert BatchSettings() != BaseSettings()  # same numbers, different profile
    assert hash(ReliableSettings()) == hash(ReliableSettings())


def test_profiles_are_immutable() -> None:
    source = {"fetch.min.bytes": 1}
    profile = BatchSettings(extra_config=source)
    with pytest.raises(FrozenInstanceError, match=r"\.replace\(max_poll_records=\.\.\.\)"):
        profile.max_poll_records = 5
    with pytest.raises(FrozenInstanceError):
        del profile.session_timeout_ms
    with pytest.raises(TypeError):
        profile.extra_config["fetch.min.bytes"] = 2  # type: ignore[index]
    source["fetch.min.bytes"] = 2  # the profile kept its own copy
    assert profile.to_consumer_config()["fetch.min.bytes"] == 1


def test_replace_returns_a_validated_copy() -> None:
    profile = ReliableSettings()
    changed = profile.replace(max_poll_records=50)
    assert type(changed) is ReliableSettings
    assert (changed.max_poll_records, profile.max_poll_records) == (50, 100)
    with pytest.raises(InvalidArgumentError):
        profile.replace(heartbeat_interval_ms=60_000)
