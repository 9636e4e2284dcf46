"""``read_topic``'s columnar path decodes a fetch in stretches, stopping at unusual messages.

A tombstone, a key that does not decode and a value that is not Avro end a stretch; each is
handled on its own and the next stretch starts after it, so rows, their metadata and the
report still line up message by message.
"""

from __future__ import annotations

import pandas as pd
import pytest
from confluent_kafka import Producer

from flowodm.consume.read_report import ReadReport
from flowodm.kafka.connection import Connection
from flowodm.pandas.read import REPORT_ATTR, read_topic
from flowodm.sandbox import Sandbox
from flowodm.serde.model_codec import get_model_codec
from flowodm.testing import TopicFactory
from tests.consume.models import order_model, orders

pytestmark = pytest.mark.integration


def test_rows_metadata_and_failures_line_up_around_the_messages_that_stop_a_stretch(
    conn: Connection, make_topic: TopicFactory, sandbox: Sandbox
) -> None:
    topic = make_topic()
    model = order_model(topic)
    assert model.produce_many(orders(model, 10), connection=conn).delivered == 10  # 0-9
    codec = get_model_codec(model, conn)
    value = codec.value_bytes(orders(model, 1, start=99)[0])
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    producer.produce(topic, value=None, key=b"o-3")  # 10: a tombstone
    producer.produce(topic, value=value, key=b"\xff\xfe")  # 11: a key that is not UTF-8
    producer.produce(topic, value=b"not avro", key=b"o-x")  # 12: a value that is not Avro
    assert producer.flush(10) == 0
    assert model.produce_many(orders(model, 5, start=10), connection=conn).delivered == 5

    frame = read_topic(model, connection=conn, metadata=True, on_error="report", progress=False)

    report = frame.attrs[REPORT_ATTR]
    assert isinstance(report, ReadReport)
    assert (report.read, report.tombstones, report.columnar) == (18, 1, 15)
    assert [(f.partition, f.offset) for f in report.failures] == [(0, 11), (0, 12)]
    assert frame["_offset"].tolist() == [*range(10), *range(13, 18)]
    assert frame["quantity"].tolist() == list(range(15))
    assert frame["_key"].tolist() == frame["order_id"].tolist()
    assert pd.Series(frame["_timestamp"]).notna().all()
