"""Property: for any frame, every row is delivered (once, with the right bytes) or reported."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.pandas.models import order_model
from tests.pandas.test_columnar import order_frames

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=order_frames())
def test_every_row_is_delivered_or_reported_and_never_both(
    frame: pd.DataFrame, conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)  # a fresh topic (and model class) per example
    model = order_model(topic)
    keyed = frame.assign(row_id=[str(label) for label in frame.index])
    report = keyed.flowodm.produce(
        model, connection=conn, key="row_id", on_invalid="report", progress=False
    )

    invalid = set(report.invalid_index)
    assert report.failed == ()
    assert report.delivered + report.invalid == report.total == len(frame)
    on_topic = consume_all(sandbox.bootstrap_servers, topic, report.delivered, linger=0.3)
    delivered = [int((m.key() or b"").decode()) for m in on_topic]
    assert len(delivered) == report.delivered  # nothing extra, nothing twice
    assert set(delivered).isdisjoint(invalid)
    assert set(delivered) | invalid == set(frame.index)

    valid = frame.drop(index=list(invalid))
    models = valid.flowodm.to_models(model)
    expected = {
        str(label).encode(): m.serialize(connection=conn)
        for label, m in zip(valid.index, models, strict=True)
    }
    assert {m.key(): m.value() for m in on_topic} == expected
