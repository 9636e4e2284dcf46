"""Subject name strategies."""

from __future__ import annotations

import pytest

from flowodm.schema.naming import (
    SUBJECT_STRATEGIES,
    record_subject,
    topic_record_subject,
    topic_subject,
)


@pytest.mark.parametrize(
    ("strategy", "is_key", "expected"),
    [
        (topic_subject, False, "orders-value"),
        (topic_subject, True, "orders-key"),
        (record_subject, False, "shop.Order"),
        (record_subject, True, "shop.Order"),
        (topic_record_subject, False, "orders-shop.Order"),
        (topic_record_subject, True, "orders-shop.Order"),
    ],
)
def test_strategies(strategy: object, is_key: bool, expected: str) -> None:
    assert callable(strategy)
    assert strategy("orders", "shop.Order", is_key) == expected


def test_registry_of_strategies() -> None:
    assert {
        "topic": topic_subject,
        "record": record_subject,
        "topic_record": topic_record_subject,
    } == SUBJECT_STRATEGIES
