"""Delivery outcomes: which errors may have written the message, which break a producer."""

from __future__ import annotations

import re
import time

import pytest
from confluent_kafka import KafkaError

from flowodm._types import UNSET
from flowodm.kafka.errors import (
    ClientErrorReport,
    describe_error,
    is_producer_broken,
    may_have_been_written,
)
from flowodm.produce.results import FailedMessage, ProduceManyResult


@pytest.mark.parametrize(
    ("code", "maybe"),
    [
        # Refused before sending, or refused by the broker on every attempt: not written.
        (KafkaError.MSG_SIZE_TOO_LARGE, False),
        (KafkaError.INVALID_MSG_SIZE, False),
        (KafkaError.RECORD_LIST_TOO_LARGE, False),
        (KafkaError.INVALID_RECORD, False),
        (KafkaError.INVALID_TIMESTAMP, False),
        (KafkaError._UNKNOWN_PARTITION, False),
        (KafkaError._UNKNOWN_TOPIC, False),
        (KafkaError.UNKNOWN_TOPIC_OR_PART, False),
        (KafkaError.TOPIC_AUTHORIZATION_FAILED, False),
        (KafkaError.CLUSTER_AUTHORIZATION_FAILED, False),
        (KafkaError._QUEUE_FULL, False),
        # Sent, and the answer is unknown: may have been written. A message purged from the
        # local queue may be a retry of a batch whose answer was lost, so it counts here too.
        (KafkaError._PURGE_QUEUE, True),
        (KafkaError._MSG_TIMED_OUT, True),
        (KafkaError._PURGE_INFLIGHT, True),
        (KafkaError.PRODUCER_FENCED, True),
        (KafkaError._TRANSPORT, True),
        (KafkaError.REQUEST_TIMED_OUT, True),
        (KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND, True),
        (KafkaError._AUTHENTICATION, True),
    ],
)
def test_may_have_been_written(code: int, maybe: bool) -> None:
    assert may_have_been_written(KafkaError(code)) is maybe


def test_failed_message_says_whether_it_may_have_been_written() -> None:
    refused = FailedMessage(3, "m", KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), False)
    in_flight = FailedMessage(4, "m", KafkaError(KafkaError._PURGE_INFLIGHT), True)

    assert str(refused).startswith("#3: MSG_SIZE_TOO_LARGE: ")
    assert str(refused).endswith(" (not written)")
    assert str(in_flight).endswith(" (may have been written)")


def test_client_error_report_names_the_error_its_age_and_what_to_check() -> None:
    report = ClientErrorReport(
        KafkaError._AUTHENTICATION,
        "_AUTHENTICATION",
        "SASL authentication error: Authentication failed.",
        False,
        time.monotonic() - 2.0,
    )

    text = report.describe()
    assert text.startswith("_AUTHENTICATION: SASL authentication error: Authentication failed (")
    assert re.search(r"\(\d+\.\d s ago\)", text)
    assert "sasl_username/sasl_password" in text
    assert str(report) == report.describe()
    assert report.age >= 2.0
    unknown = ClientErrorReport(KafkaError.UNKNOWN, "UNKNOWN", "odd", False, time.monotonic())
    assert unknown.hint is None
    assert unknown.describe().startswith("UNKNOWN: odd (")


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
