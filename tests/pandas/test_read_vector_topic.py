"""``read_topic`` decodes runs of plain values vectorised, with the frame of the validated read.

Tombstones, values that do not decode, a value with the model's header but a bad body and a
key that does not decode split the runs; they are handled one by one and reported as ever,
and rows, metadata and failures still line up message by message.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from enum import Enum

import pandas as pd
import pytest
from confluent_kafka import Producer

from flowodm.consume.read_report import ReadReport
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.pandas import read_columnar
from flowodm.pandas.read import REPORT_ATTR, read_topic
from flowodm.sandbox import Sandbox
from flowodm.schema import Float32, Int32, TimestampMicros
from flowodm.serde.model_codec import get_model_codec
from flowodm.testing import TopicFactory

pytestmark = pytest.mark.integration


class Size(str, Enum):  # noqa: UP042 - the spelling most users write
    SMALL = "small"
    LARGE = "large"


class Flat(FlowBaseModel):
    name: str
    count: int
    small: Int32
    ratio: float
    single: Float32
    flag: bool
    at: dt.datetime
    at_micros: TimestampMicros
    size: Size
    note: str | None = None
    maybe: int | None = None
    maybe_ratio: float | None = None
    maybe_flag: bool | None = None
    maybe_at: dt.datetime | None = None
    maybe_size: Size | None = None


def flat_model(topic_name: str) -> type[Flat]:
    class Row(Flat):
        class Settings:
            topic = topic_name
            key_field = "name"

    return Row


def rows(model: type[Flat], count: int, start: int = 0) -> list[Flat]:
    base = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    return [
        model(
            name=f"n-{i}-{'é' * (i % 4)}",
            count=(-1) ** i * 2**50 + i,
            small=-i,
            ratio=i / 7,
            single=0.5 * i,
            flag=i % 2 == 0,
            at=base + dt.timedelta(milliseconds=i),
            at_micros=base + dt.timedelta(microseconds=i),
            size=Size.LARGE if i % 3 else Size.SMALL,
            **(
                {}
                if i % 4 == 0
                else {
                    "note": f"note {i}",
                    "maybe": i,
                    "maybe_ratio": float("nan") if i % 5 == 0 else -i / 3,
                    "maybe_flag": i % 3 == 0,
                    "maybe_at": base - dt.timedelta(days=i),
                    "maybe_size": Size.SMALL,
                }
            ),
        )
        for i in range(start, start + count)
    ]


def vectorised(caplog: pytest.LogCaptureFixture) -> int:
    counts = [
        int(m[1]) for r in caplog.records if (m := re.search(r": (\d+) rows vectorised", r.message))
    ]
    assert len(counts) == 1, counts
    return counts[0]


def test_a_clean_topic_is_read_vectorised_into_the_validated_frame(
    conn: Connection, make_topic: TopicFactory, caplog: pytest.LogCaptureFixture
) -> None:
    model = flat_model(make_topic(partitions=3))
    assert model.produce_many(rows(model, 300), connection=conn).delivered == 300

    with caplog.at_level(logging.DEBUG, logger=read_columnar.__name__):
        frame = read_topic(model, connection=conn, metadata=True, progress=False)
    validated = read_topic(model, connection=conn, metadata=True, columnar=False, progress=False)

    pd.testing.assert_frame_equal(frame, validated)
    # The first value teaches the sink the model's header; every other one is vectorised.
    assert vectorised(caplog) == 299
    assert frame.attrs[REPORT_ATTR].columnar == 300


def test_runs_split_around_messages_decoded_one_by_one(
    conn: Connection,
    make_topic: TopicFactory,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(read_columnar, "RUN_ROWS", 7)  # many runs, each flushed early
    topic = make_topic(partitions=1)
    model = flat_model(topic)
    assert model.produce_many(rows(model, 20), connection=conn).delivered == 20  # 0-19
    value = get_model_codec(model, conn).value_bytes(rows(model, 1, start=99)[0])
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    producer.produce(topic, value=None, key=b"gone")  # 20: a tombstone
    producer.produce(topic, value=value[:-1], key=b"cut")  # 21: the model's header, cut short
    producer.produce(topic, value=value, key=b"\xff\xfe")  # 22: a key that is not UTF-8
    producer.produce(topic, value=b"not avro", key=b"x")  # 23: not Avro at all
    producer.produce(topic, value=value + b"\x00", key=b"long")  # 24: a byte too many
    assert producer.flush(10) == 0
    assert model.produce_many(rows(model, 30, start=20), connection=conn).delivered == 30

    with caplog.at_level(logging.DEBUG, logger=read_columnar.__name__):
        frame = read_topic(model, connection=conn, metadata=True, on_error="report", progress=False)
    validated = read_topic(
        model, connection=conn, metadata=True, columnar=False, on_error="report", progress=False
    )

    pd.testing.assert_frame_equal(frame, validated)
    report = frame.attrs[REPORT_ATTR]
    assert isinstance(report, ReadReport)
    assert (report.read, report.tombstones, len(frame)) == (55, 1, 50)
    failed = [(f.partition, f.offset) for f in report.failures]
    assert failed == [(0, 21), (0, 22), (0, 23), (0, 24)]
    assert failed == [(f.partition, f.offset) for f in validated.attrs[REPORT_ATTR].failures]
    assert frame["_offset"].tolist() == [*range(20), *range(25, 55)]
    assert frame["small"].tolist() == [-i for i in range(50)]
    assert vectorised(caplog) == 49  # all but the first row
