"""``df.flowodm.produce`` against the sandbox: every row delivered (right bytes) or reported."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from pydantic import Field

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.exceptions import DataFrameValidationError
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.pandas import ProduceRun, RunProgress
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.pandas.bars import RecordingBar
from tests.pandas.conftest import read_back, validation_report
from tests.pandas.models import invoice_model, order_model, reading_model
from tests.pandas.test_accessor import messy_orders

pytestmark = pytest.mark.integration

UTC = dt.UTC


def _ms(value: dt.datetime) -> dt.datetime:
    """What a timestamp-millis field gives back: the instant floored to milliseconds."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@pytest.mark.parametrize("columnar", [True, False])
def test_messy_frame_rows_are_delivered_with_the_right_bytes_or_reported(
    conn: Connection,
    sandbox: Sandbox,
    registry_client: SchemaRegistryClient,
    make_topic: TopicFactory,
    columnar: bool,
) -> None:
    topic = make_topic(partitions=2)
    order = order_model(topic)
    frame = messy_orders()
    report = frame.flowodm.produce(
        order, connection=conn, on_invalid="report", progress=False, columnar=columnar
    )
    assert report.total == 8
    assert report.delivered == 2
    assert report.invalid_index == [11, 12, 13, 14, 15, 16]
    assert report.failed == ()
    assert report.columnar == (2 if columnar else 0)

    decoded = {key: value for key, value, _ in read_back(sandbox, registry_client, topic, 2)}
    assert decoded == {
        b"a": {
            "order_id": "a",
            "customer_id": "C1",
            "amount": 1.5,
            "quantity": 1,
            "created_at": dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
            "status": "NEW",
            "note": None,
        },
        b"h": {
            "order_id": "h",
            "customer_id": "C2",
            "amount": 6.5,
            "quantity": 8,
            "created_at": _ms(dt.datetime(2024, 1, 8, 0, 0, 0, 123456, tzinfo=UTC)),
            "status": "SHIPPED",
            "note": "v",
        },
    }


def test_values_are_byte_identical_to_model_serialize(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    order = order_model(topic)
    frame = messy_orders().loc[[10, 17]]
    frame.flowodm.produce(order, connection=conn, progress=False)
    expected = {
        m.order_id.encode(): m.serialize(connection=conn) for m in frame.flowodm.to_models(order)
    }
    on_topic = consume_all(sandbox.bootstrap_servers, topic, 2)
    assert {m.key(): m.value() for m in on_topic} == expected


def test_raise_mode_sends_nothing(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    with pytest.raises(DataFrameValidationError) as info:
        messy_orders().flowodm.produce(order_model(topic), connection=conn, progress=False)
    assert validation_report(info.value).invalid == 6
    assert consume_all(sandbox.bootstrap_servers, topic, 0, linger=1.0) == []


def test_dead_letter_topic_gets_each_invalid_row_as_json(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic, dead = make_topic(), make_topic()
    report = messy_orders().flowodm.produce(
        order_model(topic), connection=conn, on_invalid="report", dead_letter=dead, progress=False
    )
    assert report.dead_lettered == 6
    assert report.dead_letter_topic == dead
    letters = [
        json.loads(m.value() or b"") for m in consume_all(sandbox.bootstrap_servers, dead, 6)
    ]
    by_index = {letter["index"]: letter for letter in letters}
    assert sorted(by_index) == [11, 12, 13, 14, 15, 16]
    eleven = by_index[11]
    assert eleven["values"]["amount"] == -1.0
    assert eleven["values"]["order_id"] == "b"
    assert eleven["errors"] == [
        {
            "field": "amount",
            "type": "greater_than_equal",
            "message": "Input should be greater than or equal to 0",
        }
    ]
    assert eleven["topic"] == topic
    assert by_index[13]["values"]["created_at"] is None
    assert {e["field"] for e in by_index[13]["errors"]} == {"customer_id", "created_at"}


def test_dead_letters_carry_the_key_the_row_would_have_had(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    # key_field "order_id": each invalid row's dead letter has its order_id as key, except
    # row 12, whose order_id is the missing value.
    topic, dead = make_topic(), make_topic(partitions=3)
    messy_orders().flowodm.produce(
        order_model(topic), connection=conn, on_invalid="report", dead_letter=dead, progress=False
    )
    letters = consume_all(sandbox.bootstrap_servers, dead, 6)
    keys = {json.loads(m.value() or b"")["index"]: m.key() for m in letters}
    assert keys == {11: b"b", 12: None, 13: b"d", 14: b"e", 15: b"f", 16: b"g"}


def test_dead_letter_keys_follow_the_key_fields_type_or_the_key_column(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    # Invoice's key_field "number" is an int: the text "007" is keyed as the valid row's 7
    # would be; "x" cannot be a number, so its dead letter has no key.
    topic, dead = make_topic(), make_topic()
    frame = pd.DataFrame(
        {"number": ["007", "x", "9"], "total": ["1.234", "1.00", "2.00"], "issued": "2024-01-01"}
    )
    report = frame.flowodm.produce(
        invoice_model(topic), connection=conn, on_invalid="report", dead_letter=dead, progress=False
    )
    assert (report.delivered, report.invalid_index) == (1, [0, 1])
    letters = consume_all(sandbox.bootstrap_servers, dead, 2)
    assert {json.loads(m.value() or b"")["index"]: m.key() for m in letters} == {0: b"7", 1: None}
    [sent] = consume_all(sandbox.bootstrap_servers, topic, 1)
    assert sent.key() == b"9"

    # With key="k" the key column gives the dead letter its key, as it does the sent rows.
    topic, dead = make_topic(), make_topic()
    # pandas-stubs refuse None (a missing key) in a list column; pandas takes it.
    keyed = frame.assign(k=["k0", None, "k2"])  # type: ignore[list-item]
    keyed.flowodm.produce(
        invoice_model(topic), connection=conn, key="k", on_invalid="report", dead_letter=dead
    )
    letters = consume_all(sandbox.bootstrap_servers, dead, 2)
    assert {json.loads(m.value() or b"")["index"]: m.key() for m in letters} == {
        0: b"k0",
        1: None,
    }


def test_dead_letter_values_are_the_original_cells_as_strict_json(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic, dead = make_topic(), make_topic()
    name = topic

    class Measure(FlowBaseModel):
        class Settings:
            topic = name

        count: int = Field(ge=0)
        ratio: float

    # All-numeric: df.iloc[1] would upcast count to -2.0; the record keeps the cell as is.
    frame = pd.DataFrame({"count": [1, -2], "ratio": [0.5, np.inf]})
    before = frame.copy(deep=True)
    report = frame.flowodm.produce(
        Measure, connection=conn, on_invalid="report", dead_letter=dead, progress=False
    )
    assert (report.delivered, report.invalid, report.dead_lettered) == (1, 1, 1)
    pd.testing.assert_frame_equal(frame, before)  # sending never touches the frame
    (letter,) = consume_all(sandbox.bootstrap_servers, dead, 1)
    record = json.loads(letter.value() or b"", parse_constant=_not_json)
    assert record["index"] == 1
    assert record["values"] == {"count": -2, "ratio": "inf"}
    assert type(record["values"]["count"]) is int


def _not_json(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


def test_key_column_and_column_mapping(
    conn: Connection,
    sandbox: Sandbox,
    registry_client: SchemaRegistryClient,
    make_topic: TopicFactory,
) -> None:
    topic = make_topic()
    frame = pd.DataFrame(
        {
            "sensor_name": ["s1", "s2", "s3"],
            "count": [1, 2, 3],
            "device": [7.0, 8.0, np.nan],  # a gap turned ints into floats
        }
    )
    report = frame.flowodm.produce(
        reading_model(topic),
        connection=conn,
        key="device",
        columns={"sensor_name": "sensor"},
        on_invalid="report",
        progress=False,
    )
    assert report.delivered == 2
    assert [(e.index, e.field, e.type) for e in report.errors] == [(2, "device", "missing_key")]
    decoded = read_back(sandbox, registry_client, topic, 2)
    assert sorted((key, value["sensor"]) for key, value, _ in decoded) == [
        (b"7", "s1"),
        (b"8", "s2"),
    ]


def test_aliases_decimals_and_dates_on_the_per_row_path(
    conn: Connection,
    sandbox: Sandbox,
    registry_client: SchemaRegistryClient,
    make_topic: TopicFactory,
) -> None:
    from decimal import Decimal

    topic = make_topic()
    frame = pd.DataFrame(
        {
            "number": [1, 2, 3],
            "total": [Decimal("10.5"), Decimal("123456789.00"), 3],
            "issued": pd.to_datetime(["2024-02-01", "2024-02-02", "2024-02-03"]),
            "Reference": ["r1", None, "r3"],
        }
    )
    report = frame.flowodm.produce(
        invoice_model(topic), connection=conn, on_invalid="report", progress=False
    )
    assert report.invalid_index == [1]
    decoded = {key: value for key, value, _ in read_back(sandbox, registry_client, topic, 2)}
    assert decoded[b"1"]["total"] == Decimal("10.50")
    assert decoded[b"1"]["issued"] == dt.date(2024, 2, 1)
    assert decoded[b"1"]["ref"] == "r1"
    assert decoded[b"3"]["total"] == Decimal("3.00")


def test_progress_bar_counts_acknowledged_rows_and_shows_invalid(
    conn: Connection, make_topic: TopicFactory
) -> None:
    frame = messy_orders()
    report = frame.flowodm.produce(
        order_model(make_topic()),
        connection=conn,
        on_invalid="report",
        progress=RecordingBar,
        chunk_size=3,
    )
    (bar,) = RecordingBar.instances
    assert bar.n == report.delivered == 2
    assert bar.total == len(frame) - report.invalid == 2  # invalid rows come off the total
    assert bar.postfixes[-1] == {"invalid": 6, "failed": 0}
    assert bar.closed


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_no_progress_output_when_switched_off(
    conn: Connection,
    make_topic: TopicFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)  # a terminal would get a bar
    options: dict[str, object] = {}
    if how == "argument":
        options["progress"] = False
    else:
        monkeypatch.setenv("FLOWODM_PROGRESS", "0")
    frame = messy_orders().loc[[10, 17]]
    report = frame.flowodm.produce(order_model(make_topic()), connection=conn, **options)
    assert report.delivered == 2
    assert capsys.readouterr() == ("", "")


def test_callback_sees_each_chunk(conn: Connection, make_topic: TopicFactory) -> None:
    seen: list[RunProgress] = []
    messy_orders().flowodm.produce(
        order_model(make_topic()),
        connection=conn,
        on_invalid="report",
        chunk_size=3,
        callback=seen.append,
        progress=False,
    )
    assert [s.rows for s in seen] == [3, 6, 8]
    assert [s.invalid for s in seen] == [2, 5, 6]


def test_produce_run_fed_several_frames_accounts_for_all_of_them(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    frame = messy_orders()
    run = ProduceRun(order_model(topic), connection=conn, progress=False)
    run.send(frame.iloc[:4])
    run.send(frame.iloc[4:])
    report = run.finish()
    assert run.finish() is report
    assert (report.total, report.delivered, report.invalid) == (8, 2, 6)
    assert len(consume_all(sandbox.bootstrap_servers, topic, 2)) == 2


def test_default_connection_is_used(sandbox: Sandbox, make_topic: TopicFactory) -> None:
    import flowodm.kafka.connection

    topic = make_topic()
    flowodm.kafka.connection.connect(
        bootstrap_servers=sandbox.bootstrap_servers, schema_registry_url=sandbox.schema_registry_url
    )
    try:
        report = messy_orders().loc[[10]].flowodm.produce(order_model(topic), progress=False)
    finally:
        flowodm.kafka.connection.disconnect()
    assert report.delivered == 1
    assert len(consume_all(sandbox.bootstrap_servers, topic, 1)) == 1


def test_produce_run_in_raise_mode_refuses_a_chunk_with_an_invalid_row(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    frame = messy_orders()
    run = ProduceRun(order_model(topic), connection=conn, on_invalid="raise", progress=False)
    run.send(frame.loc[[10]])
    with pytest.raises(DataFrameValidationError) as info:
        run.send(frame.loc[[11, 17]])  # row 11 is invalid, so row 17 is not sent either
    assert validation_report(info.value).invalid_index == [11]
    report = run.finish()
    assert (report.total, report.delivered) == (1, 1)
    on_topic = consume_all(sandbox.bootstrap_servers, topic, 1, linger=0.5)
    assert [m.key() for m in on_topic] == [b"a"]


def test_abort_purges_and_reports(conn: Connection, make_topic: TopicFactory) -> None:
    run = ProduceRun(order_model(make_topic()), connection=conn, progress=False)
    run.send(messy_orders().loc[[10, 17]])
    report = run.abort()
    assert run.abort() is report
    assert report.total == 2
    assert report.delivered + len(report.failed) + report.unconfirmed == 2
