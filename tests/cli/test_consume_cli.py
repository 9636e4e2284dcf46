"""``flowodm consume`` against the sandbox, run in-process through ``flowodm.cli.main.main``.

The round trips feed each written file back through ``flowodm produce`` into a second topic
and compare what both topics read: the file must hold every value exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from pathlib import Path

import pandas as pd
import pytest
from confluent_kafka import Producer
from pydantic import Field

from flowodm.cli.consume import parse_start
from flowodm.cli.main import main
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel
from flowodm.pandas.read import read_topic
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory

pytestmark = pytest.mark.integration

MODEL = "tests.cli.test_consume_cli:Item"


class Size(str, Enum):  # noqa: UP042 - the spelling most users write
    S = "S"
    M = "M"
    L = "L"


class Item(FlowBaseModel):
    """An item with the scalar types a file must carry exactly (tests pass the topic)."""

    class Settings:
        topic = "cli-consume-items"
        key_field = "item_id"

    item_id: str
    price: Decimal = Field(max_digits=10, decimal_places=2)
    quantity: int
    size: Size
    created_at: dt.datetime
    day: dt.date
    note: str | None = None
    count: int | None = None
    flag: bool | None = None


def items(count: int) -> list[Item]:
    base = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    return [
        Item(
            item_id=f"i-{i:04d}",
            price=Decimal(f"{i}.5{i % 10}"),
            quantity=i,
            size=list(Size)[i % 3],
            created_at=base + dt.timedelta(milliseconds=1001 * i),
            day=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            note=None if i % 3 else f'note, with "quotes" {i}',
            count=None if i % 2 else -i,
            flag=None if i % 4 == 0 else i % 4 == 1,
        )
        for i in range(count)
    ]


Run = Callable[..., int]


@pytest.fixture
def conn(flowodm_connection: Connection) -> Connection:
    return flowodm_connection


@pytest.fixture
def run(sandbox: Sandbox) -> Run:
    def command(*argv: str) -> int:
        return main(
            [
                *argv,
                "--bootstrap-servers",
                sandbox.bootstrap_servers,
                "--schema-registry-url",
                sandbox.schema_registry_url,
                "--no-progress",
            ]
        )

    return command


def filled_topic(conn: Connection, make_topic: TopicFactory, count: int = 60) -> str:
    topic = make_topic(partitions=3)
    assert Item.produce_many(items(count), connection=conn, topic=topic).delivered == count
    return topic


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_file_round_trips_through_flowodm_produce(
    conn: Connection,
    make_topic: TopicFactory,
    run: Run,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    suffix: str,
) -> None:
    source = filled_topic(conn, make_topic)
    copy = make_topic(partitions=1)
    out = tmp_path / f"items{suffix}"

    assert run("consume", source, "--model", MODEL, "--to", str(out)) == 0
    printed = capsys.readouterr().out
    assert last_line(printed) == (
        f"result: every message up to the end offsets written (60 rows in '{out}')"
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    assert run("produce", str(out), "--model", MODEL, "--topic", copy) == 0

    original = read_topic(Item, topic=source, connection=conn, progress=False)
    copied = read_topic(Item, topic=copy, connection=conn, progress=False)
    pd.testing.assert_frame_equal(copied, original)  # rows in the file's (partition) order


def test_metadata_and_max_messages(
    conn: Connection,
    make_topic: TopicFactory,
    run: Run,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = filled_topic(conn, make_topic)
    out = tmp_path / "some.jsonl"

    code = run(
        "consume", source, "--model", MODEL, "--to", str(out), "--max-messages", "7", "--metadata"
    )

    assert code == 0
    assert (
        last_line(capsys.readouterr().out)
        == f"result: stopped at --max-messages; 7 rows in '{out}'"
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 7
    assert [r["_offset"] for r in records] == list(range(7)) and {
        r["_partition"] for r in records
    } == {0}
    assert records[0]["_key"] == records[0]["item_id"] and records[0]["_topic"] == source
    assert records[0]["created_at"].endswith("+00:00")


def test_decode_failures_exit_1_and_go_to_the_report(
    conn: Connection,
    make_topic: TopicFactory,
    run: Run,
    tmp_path: Path,
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic(partitions=1)
    Item.produce_many(items(5), connection=conn, topic=topic)
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    producer.produce(topic, b"garbage")  # offset 5
    assert producer.flush(10) == 0
    out, report = tmp_path / "items.csv", tmp_path / "bad.csv"

    code = run("consume", topic, "--model", MODEL, "--to", str(out), "--report", str(report))

    assert code == 1
    printed = capsys.readouterr().out
    assert "partition 0 offset 5:" in printed
    assert last_line(printed) == (
        f"result: 1 message(s) failed to decode (recorded in '{report}'); 5 rows in '{out}'"
    )
    assert len(pd.read_csv(out)) == 5
    failures = pd.read_csv(report)
    assert failures[["partition", "offset"]].values.tolist() == [[0, 5]]
    assert list(failures.columns) == ["topic", "partition", "offset", "field", "message"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "yesterday"], "not earliest, latest, an ISO 8601 time"),
        (["--from", "latest"], "--from latest reads nothing without --follow"),
        (["--follow"], "--follow needs --max-messages or --timeout"),
        (["--max-messages", "0"], "must be at least 1"),
        (["--from", "9:0"], r"partition\(s\) \[9\]"),
    ],
)
def test_usage_errors_exit_2_and_write_nothing(
    conn: Connection,
    make_topic: TopicFactory,
    run: Run,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    topic = filled_topic(conn, make_topic, 3)
    out = tmp_path / "items.parquet"

    try:
        code = run("consume", topic, "--model", MODEL, "--to", str(out), *argv)
    except SystemExit as exit_:  # argparse's own type errors
        code = int(exit_.code or 0)

    assert code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not out.exists()


def test_unknown_output_format_and_missing_topic(
    run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str], make_topic: TopicFactory
) -> None:
    assert run("consume", "t", "--model", MODEL, "--to", str(tmp_path / "x.xlsx")) == 2
    assert "use .parquet, .csv or .jsonl" in capsys.readouterr().err
    assert run("consume", "t", "--model", MODEL, "--to", str(tmp_path / "no" / "x.csv")) == 2
    assert "does not exist" in capsys.readouterr().err

    out = tmp_path / "x.csv"
    assert run("consume", "no-such-topic-x1", "--model", MODEL, "--to", str(out)) == 1
    assert "no-such-topic-x1" in capsys.readouterr().err
    assert not out.exists()


def test_parse_start() -> None:
    assert parse_start("earliest") == "earliest"
    assert parse_start("0:5,2:7") == {0: 5, 2: 7}
    assert parse_start("2026-01-31T12:00:00Z") == dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
