"""Delivery outcomes: which errors may have written the message, which break a producer."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from flowodm.delivery import (
    UNSET,
    FailedMessage,
    ProduceManyResult,
    describe_error,
    is_producer_broken,
    may_have_been_written,
)


@pytest.mark.parametrize(
    ("code", "maybe"),
    [
        (KafkaError.MSG_SIZE_TOO_LARGE, False),
        (KafkaError._UNKNOWN_PARTITION, False),
        (KafkaError.TOPIC_AUTHORIZATION_FAILED, False),
        (KafkaError._PURGE_QUEUE, False),  # purged before it was ever sent
        (KafkaError._MSG_TIMED_OUT, True),
        (KafkaError._PURGE_INFLIGHT, True),
        (KafkaError.PRODUCER_FENCED, True),
        (KafkaError._TRANSPORT, True),
    ],
)
def test_may_have_been_written(code: int, maybe: bool) -> None:
    assert may_have_been_written(KafkaError(code)) is maybe


@pytest.mark.parametrize(
    ("error", "broken"),
    [
        (KafkaError(KafkaError.PRODUCER_FENCED), True),
        (KafkaError(KafkaError._FENCED), True),
        (KafkaError(KafkaError._FATAL), True),
        (KafkaError(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, fatal=True), True),
        (KafkaError(KafkaError._MSG_TIMED_OUT), False),
        (KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), False),
    ],
)
def test_is_producer_broken(error: KafkaError, broken: bool) -> None:
    assert is_producer_broken(error) is broken


def test_results_describe_every_failure_by_index() -> None:
    failures = [
        FailedMessage(i, f"model-{i}", KafkaError(KafkaError._MSG_TIMED_OUT), True)
        for i in range(7)
    ]
    result = ProduceManyResult(topic="orders", delivered=93, failed=failures)

    assert (result.total, result.ok) == (100, False)
    summary = result.summary(limit=2)
    assert summary.startswith("93 of 100 messages delivered to 'orders', 7 failed: #0: ")
    assert summary.endswith("; and 5 more")
    assert str(failures[1]) == (
        f"#1: {describe_error(KafkaError(KafkaError._MSG_TIMED_OUT))} (may have been written)"
    )
    assert ProduceManyResult(topic="orders", delivered=3).summary() == (
        "3 of 3 messages delivered to 'orders'"
    )


def test_unset_is_a_falsy_singleton_distinct_from_none() -> None:
    assert repr(UNSET) == "UNSET"
    assert not UNSET
    assert UNSET is not None
    assert type(UNSET)() is UNSET
