"""``df.flowodm.produce`` never loses a row unnoticed: failed deliveries raise by default.

The rule is ``produce_many``'s: a valid row the broker did not acknowledge raises
``PartialDeliveryError`` whose ``result`` is the full ``ProduceReport``; ``raise_on_error=False``
returns that report instead. Invalid rows follow ``on_invalid`` (``"raise"``: nothing is sent;
``"report"``: they are reported, not raised), as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.exceptions import PartialDeliveryError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.pandas import ProduceReport
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.pandas.models import order_model

pytestmark = pytest.mark.integration

TOO_LARGE = {3, 250, 999}  # rows whose customer_id makes them larger than message.max.bytes


@pytest.fixture
def small_messages(sandbox: Sandbox) -> Iterator[Connection]:
    """A connection whose producers refuse messages over 2,000 bytes (MSG_SIZE_TOO_LARGE)."""
    settings = build_config(
        bootstrap_servers=sandbox.bootstrap_servers,
        schema_registry_url=sandbox.schema_registry_url,
        producer_config={"message.max.bytes": 2000},
    )
    with Connection(settings) as connection:
        yield connection


def _orders(n: int, *, invalid: frozenset[int] = frozenset()) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": ["x" * 5000 if i in TOO_LARGE else "c" for i in range(n)],
            "amount": [-1.0 if i in invalid else 1.0 for i in range(n)],  # amount >= 0
            "quantity": 1,
            "created_at": pd.Timestamp("2024-05-01", tz="UTC"),
            "status": "NEW",
        }
    )


def test_failed_rows_raise_with_the_report(
    small_messages: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    model = order_model(topic)
    frame = _orders(1000)

    with pytest.raises(PartialDeliveryError) as info:
        frame.flowodm.produce(model, connection=small_messages, progress=False)

    report = info.value.result
    assert isinstance(report, ProduceReport)
    assert report.delivered == 997
    assert set(report.failed_index) == TOO_LARGE
    assert {f.error.split(":")[0] for f in report.failed} == {"MSG_SIZE_TOO_LARGE"}
    assert not any(f.maybe_written for f in report.failed)  # refused: safe to send again
    message = str(info.value)
    assert "3 of 1000 row(s) were not delivered" in message
    assert "row 3: MSG_SIZE_TOO_LARGE" in message  # names the rows and the reason
    assert "failed_index" in message and "raise_on_error=False" in message  # what to do
    assert info.value.topic == topic
    assert len(repr(info.value)) < 3000
    keys = {m.key() for m in consume_all(sandbox.bootstrap_servers, topic, 997, linger=0.5)}
    assert keys == {f"o{i}".encode() for i in range(1000) if i not in TOO_LARGE}


def test_raise_on_error_false_returns_the_report(
    small_messages: Connection, make_topic: TopicFactory
) -> None:
    model = order_model(make_topic())
    report = _orders(300).flowodm.produce(
        model, connection=small_messages, progress=False, raise_on_error=False
    )
    assert not report.ok
    assert (report.delivered, sorted(report.failed_index)) == (298, [3, 250])


def test_invalid_rows_in_report_mode_do_not_raise(
    small_messages: Connection, make_topic: TopicFactory
) -> None:
    # on_invalid="report" is the caller's explicit choice for invalid rows: they are returned
    # in the report, not raised, as before. Only undelivered valid rows raise.
    model = order_model(make_topic())
    frame = _orders(3, invalid=frozenset({0, 2}))  # no row is too large
    report = frame.flowodm.produce(
        model, connection=small_messages, progress=False, on_invalid="report"
    )
    assert (report.delivered, report.invalid_index, report.failed) == (1, [0, 2], ())

    with pytest.raises(PartialDeliveryError) as info:  # ...but a failed row still raises
        _orders(300, invalid=frozenset({5})).flowodm.produce(
            model, connection=small_messages, progress=False, on_invalid="report"
        )
    report = info.value.result
    assert (report.delivered, report.invalid, sorted(report.failed_index)) == (297, 1, [3, 250])


def test_an_unknown_option_value_is_refused_before_anything_is_sent(
    small_messages: Connection, make_topic: TopicFactory
) -> None:
    model = order_model(make_topic())
    with pytest.raises(TypeError, match="raise_on_error must be a bool"):
        _orders(3).flowodm.produce(
            model,
            connection=small_messages,
            progress=False,
            raise_on_error="no",
        )
