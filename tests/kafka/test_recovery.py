"""The rules of ``flowodm.kafka.recovery``: which producers are watched, when one is replaced."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from confluent_kafka import KafkaError

from flowodm.kafka.clients import FlowProducer
from flowodm.kafka.recovery import (
    STATS_INTERVAL_MS,
    BrokerWatch,
    ReplacementBudget,
    lost_its_broker,
    settle,
    watch_brokers,
    watches_brokers,
)
from tests.core.helpers import dead_address

DOWN = KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down")


def _stats(producer_id: int) -> str:
    """A librdkafka statistics report as a producer emits it (the eos object comes last)."""
    eos = {"idemp_state": "Assigned", "producer_id": producer_id, "producer_epoch": 0}
    return json.dumps({"name": "rdkafka#producer-1", "brokers": {}, "topics": {}, "eos": eos})


@pytest.mark.parametrize(
    ("settings", "watched"),
    [
        ({"enable.idempotence": True}, True),
        ({"enable.idempotence": "true"}, True),
        ({"enable.idempotence": " True "}, True),
        ({"enable.idempotence": False}, False),
        ({"enable.idempotence": "false"}, False),
        ({}, False),
        ({"enable.idempotence": True, "transactional.id": "tx-1"}, False),
    ],
)
def test_only_idempotent_non_transactional_producers_are_watched(
    settings: dict[str, Any], watched: bool
) -> None:
    assert watches_brokers(settings) is watched


def test_a_lost_broker_counts_only_if_the_producer_held_an_id() -> None:
    seen: list[int] = []
    watch = BrokerWatch(lambda error: seen.append(error.code()))

    watch(KafkaError(KafkaError._TRANSPORT, "Connection refused"))
    assert not watch.lost() and not watch.undecided
    watch(DOWN)
    assert watch.undecided and not watch.lost()
    watch.stats(_stats(-1))  # it never got an id: nothing to lose
    assert not watch.undecided and not watch.lost()

    watch(DOWN)  # a later loss, after it got an id
    watch.stats(_stats(7))
    assert watch.lost(wait=5) and watch.lost_at is not None
    assert seen == [
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._ALL_BROKERS_DOWN,
    ]


def test_without_statistics_a_lost_broker_is_taken_as_a_lost_id() -> None:
    watch = BrokerWatch(lambda error: None, has_stats=False)
    assert not watch.lost()
    watch(DOWN)
    assert watch.lost() and not watch.undecided


def test_watch_brokers_keeps_the_users_callbacks_and_interval() -> None:
    errors: list[KafkaError] = []
    reports: list[str] = []
    settings: dict[str, Any] = {
        "enable.idempotence": True,
        "stats_cb": reports.append,
        "statistics.interval.ms": 5000,
    }
    watch = watch_brokers(settings, errors.append)

    assert watch is not None and watch.has_stats
    assert settings["error_cb"] is watch and settings["statistics.interval.ms"] == 5000
    settings["error_cb"](DOWN)
    settings["stats_cb"](_stats(3))
    assert errors == [DOWN] and reports == [_stats(3)] and watch.lost()


def test_watch_brokers_sets_an_interval_and_leaves_other_producers_alone() -> None:
    idempotent: dict[str, Any] = {"enable.idempotence": True}
    assert watch_brokers(idempotent, print) is not None
    assert idempotent["statistics.interval.ms"] == STATS_INTERVAL_MS

    plain: dict[str, Any] = {"enable.idempotence": False}
    assert watch_brokers(plain, print) is None
    assert plain == {"enable.idempotence": False, "error_cb": print}

    switched_off: dict[str, Any] = {"enable.idempotence": True, "statistics.interval.ms": 0}
    watch = watch_brokers(switched_off, print)
    assert watch is not None and not watch.has_stats


def test_a_producer_that_never_reached_a_broker_is_not_replaced() -> None:
    # On a dead address librdkafka reports _ALL_BROKERS_DOWN at once; with no producer id to
    # lose, replacing it would only start producers over and over during an outage.
    codes: list[int] = []
    settings: dict[str, Any] = {
        "bootstrap.servers": dead_address(),
        "enable.idempotence": True,
        "statistics.interval.ms": 100,
    }
    watch = watch_brokers(settings, lambda error: codes.append(error.code()))
    assert watch is not None
    producer = FlowProducer(settings)
    producer.broker_watch = watch
    try:
        deadline = time.monotonic() + 10
        while KafkaError._ALL_BROKERS_DOWN not in codes and time.monotonic() < deadline:
            producer.poll(0.05)
        assert KafkaError._ALL_BROKERS_DOWN in codes
        settle(producer, wait=5)
        assert not watch.undecided
        assert not lost_its_broker(producer)
    finally:
        producer.close_quietly()


def test_a_producer_without_a_watch_is_never_lost() -> None:
    producer = FlowProducer({"bootstrap.servers": dead_address()})
    try:
        assert not lost_its_broker(producer, wait=0.1)
    finally:
        producer.close()


def test_the_budget_allows_the_first_replacement_then_waits_for_the_backoff() -> None:
    budget = ReplacementBudget(backoff=3600)
    assert budget.last is None
    assert budget.take()
    assert not budget.take()
    assert budget.last is not None

    immediate = ReplacementBudget(backoff=0)
    assert immediate.take() and immediate.take()


def test_a_loss_after_a_report_with_an_id_is_decided_at_once() -> None:
    watch = BrokerWatch(lambda error: None)
    watch.stats(_stats(4))
    assert not watch.lost()
    watch(DOWN)
    assert not watch.undecided and watch.lost()
