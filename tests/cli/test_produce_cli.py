"""``flowodm produce`` against the sandbox, run in-process through ``flowodm.cli.main.main``."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Message
from confluent_kafka.schema_registry import SchemaRegistryClient

from flowodm.cli.main import main
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.cli.cli_models import CliOrder

pytestmark = pytest.mark.integration

MODEL = "tests.cli.cli_models:CliOrder"
HEADER = "order_id,amount,quantity,created_at,note"


def _row(i: int, amount: str | None = None) -> str:
    note = f"note {i}" if i % 2 else ""
    return f"ORD-{i:05d},{amount or f'{i}.5'},{i % 7 + 1},2024-03-01T10:00:{i % 60:02d}Z,{note}"


def _csv(path: Path, rows: int, bad: dict[int, str] | None = None) -> Path:
    bad = bad or {}
    lines = [HEADER, *(_row(i, bad.get(i)) for i in range(rows))]
    path.write_text("\n".join(lines) + "\n")
    return path


def _record(i: int) -> dict[str, Any]:
    return {
        "order_id": f"ORD-{i:05d}",
        "amount": i + 0.5,
        "quantity": i % 7 + 1,
        "created_at": f"2024-03-01T10:00:{i % 60:02d}Z",
        "note": f"note {i}" if i % 2 else None,
    }


def _jsonl_bytes(rows: int) -> bytes:
    return "".join(json.dumps(_record(i)) + "\n" for i in range(rows)).encode()


Produce = Callable[..., int]


@pytest.fixture
def produce(sandbox: Sandbox) -> Produce:
    """Run ``flowodm produce FILE --model … --topic TOPIC [args]`` in-process."""

    def run(file: str | Path, topic: str, *args: str, model: str = MODEL) -> int:
        return main(
            [
                "produce",
                str(file),
                "--model",
                model,
                "--topic",
                topic,
                "--bootstrap-servers",
                sandbox.bootstrap_servers,
                "--schema-registry-url",
                sandbox.schema_registry_url,
                "--no-progress",
                *args,
            ]
        )

    return run


def _keys(messages: list[Message]) -> list[str]:
    return [m.key().decode() for m in messages]  # type: ignore[union-attr]


def _counts(out: str) -> dict[str, int]:
    """The summary's ``rows …  N`` lines as ``{label: N}``."""
    found = re.findall(r"^  rows (.+?)\s{2,}([\d,]+)", out, flags=re.MULTILINE)
    return {label: int(number.replace(",", "")) for label, number in found}


def _exactly(sandbox: Sandbox, topic: str, count: int) -> list[Message]:
    """All messages of ``topic``, asserting there are exactly ``count``."""
    messages = consume_all(sandbox.bootstrap_servers, topic, count, linger=0.5)
    assert len(messages) == count
    return messages


# --- formats ------------------------------------------------------------------------------------


def test_csv_rows_arrive_with_keys_and_values(
    sandbox: Sandbox,
    make_topic: TopicFactory,
    produce: Produce,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic()
    assert produce(_csv(tmp_path / "orders.csv", 5), topic) == 0
    messages = _exactly(sandbox, topic, 5)
    assert sorted(_keys(messages)) == [f"ORD-{i:05d}" for i in range(5)]
    decoded = {o.order_id: o for o in (CliOrder.deserialize(m.value()) for m in messages)}  # type: ignore[arg-type]
    assert decoded["ORD-00003"].amount == 3.5
    assert decoded["ORD-00003"].quantity == 4
    assert decoded["ORD-00003"].note == "note 3"
    assert decoded["ORD-00002"].note is None  # an empty CSV cell is a missing value
    assert decoded["ORD-00002"].created_at.isoformat() == "2024-03-01T10:00:02+00:00"
    out = capsys.readouterr().out
    assert "Read 5 rows from" in out
    assert f"rows delivered to {topic!r}" in out


def test_jsonl_file(
    sandbox: Sandbox, make_topic: TopicFactory, produce: Produce, tmp_path: Path
) -> None:
    topic = make_topic()
    path = tmp_path / "orders.jsonl"
    path.write_bytes(_jsonl_bytes(4))
    assert produce(path, topic) == 0
    assert sorted(_keys(_exactly(sandbox, topic, 4))) == [f"ORD-{i:05d}" for i in range(4)]


def test_parquet_file(
    sandbox: Sandbox, make_topic: TopicFactory, produce: Produce, tmp_path: Path
) -> None:
    topic = make_topic()
    records = [_record(i) for i in range(6)]
    table = pa.Table.from_pylist(records)
    pq.write_table(table, tmp_path / "orders.parquet", row_group_size=4)
    assert produce(tmp_path / "orders.parquet", topic, "--chunk-size", "4") == 0
    assert sorted(_keys(_exactly(sandbox, topic, 6))) == [f"ORD-{i:05d}" for i in range(6)]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_stdin(
    sandbox: Sandbox,
    make_topic: TopicFactory,
    produce: Produce,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    topic = make_topic()
    data = _jsonl_bytes(3) if fmt == "jsonl" else _csv(tmp_path / "x.csv", 3).read_bytes()
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(data)))
    args = ("--format", "csv") if fmt == "csv" else ()
    assert produce("-", topic, *args) == 0
    assert len(_exactly(sandbox, topic, 3)) == 3


@pytest.mark.parametrize("name", ["orders.csv.gz", "orders.jsonl.gz"])
def test_gzipped_files(
    sandbox: Sandbox, make_topic: TopicFactory, produce: Produce, tmp_path: Path, name: str
) -> None:
    topic = make_topic()
    raw = _jsonl_bytes(3) if "jsonl" in name else _csv(tmp_path / "x.csv", 3).read_bytes()
    (tmp_path / name).write_bytes(gzip.compress(raw))
    assert produce(tmp_path / name, topic) == 0
    assert len(_exactly(sandbox, topic, 3)) == 3


def test_environment_supplies_the_connection(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = make_topic()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", sandbox.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", sandbox.schema_registry_url)
    path = _csv(tmp_path / "orders.csv", 2)
    assert main(["produce", str(path), "--model", MODEL, "--topic", topic, "--no-progress"]) == 0
    assert len(_exactly(sandbox, topic, 2)) == 2


def test_topic_flag_gives_a_model_without_topic_its_topic_and_subject(
    sandbox: Sandbox,
    make_topic: TopicFactory,
    produce: Produce,
    tmp_path: Path,
    registry_client: SchemaRegistryClient,
) -> None:
    topic = make_topic()
    path = tmp_path / "ids.csv"
    path.write_text("order_id\nA-1\nA-2\n")
    assert produce(path, topic, model="tests.cli.cli_models:Untopiced") == 0
    assert len(_exactly(sandbox, topic, 2)) == 2
    assert f"{topic}-value" in registry_client.get_subjects()


# --- invalid rows, reports, dead letters --------------------------------------------------------


def test_invalid_rows_are_reported_by_file_row(
    sandbox: Sandbox,
    make_topic: TopicFactory,
    produce: Produce,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic()
    path = _csv(tmp_path / "orders.csv", 8, bad={2: "abc", 6: "-"})
    report = tmp_path / "errors.csv"
    assert produce(path, topic, "--report", str(report), "--chunk-size", "3") == 1
    assert sorted(_keys(_exactly(sandbox, topic, 6))) == [
        f"ORD-{i:05d}" for i in (0, 1, 3, 4, 5, 7)
    ]
    with report.open(newline="") as file:
        lines = list(csv.DictReader(file))
    assert [(r["row"], r["status"], r["field"], r["input"]) for r in lines] == [
        ("2", "invalid", "amount", "abc"),
        ("6", "invalid", "amount", "-"),
    ]
    out = capsys.readouterr().out
    assert _counts(out)["invalid (not sent)"] == 2
    assert "row 2 amount: Input should be a valid number" in out
    assert "row 6 amount:" in out
    assert out.splitlines()[-1] == (
        f"result: 2 invalid row(s) not sent (recorded in '{report}'); every valid row delivered"
    )


def test_jsonl_report_and_shown_errors_limit(
    make_topic: TopicFactory, produce: Produce, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = make_topic()
    path = _csv(tmp_path / "orders.csv", 6, bad={i: "x" for i in range(6)})
    report = tmp_path / "errors.jsonl"
    assert produce(path, topic, "--report", str(report), "--show-errors", "2") == 1
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [line["row"] for line in lines] == list(range(6))
    assert {line["type"] for line in lines} == {"float_parsing"}
    out = capsys.readouterr().out
    assert "First 2 of 6 row problems:" in out
    assert "row 2 amount" not in out


def test_a_missing_required_json_key_is_a_row_error(
    sandbox: Sandbox,
    make_topic: TopicFactory,
    produce: Produce,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic()
    records = [_record(i) for i in range(4)]
    for record in records[2:]:  # the whole second chunk lacks "quantity"
        del record["quantity"]
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert produce(path, topic, "--chunk-size", "2") == 1
    assert sorted(_keys(_exactly(sandbox, topic, 2))) == ["ORD-00000", "ORD-00001"]
    out = capsys.readouterr().out
    assert "row 2 quantity:" in out
    assert "row 3 quantity:" in out


def test_dead_letter_topic_receives_invalid_rows(
    sandbox: Sandbox, make_topic: TopicFactory, produce: Produce, tmp_path: Path
) -> None:
    topic, dead = make_topic(), make_topic(prefix="dead")
    path = _csv(tmp_path / "orders.csv", 5, bad={3: "lots"})
    assert produce(path, topic, "--dead-letter", dead) == 1
    assert len(_exactly(sandbox, topic, 4)) == 4
    [letter] = _exactly(sandbox, dead, 1)
    body = json.loads(letter.value())  # type: ignore[arg-type]
    assert body["index"] == 3
    assert body["values"]["amount"] == "lots"
    assert body["values"]["order_id"] == "ORD-00003"
    assert body["errors"][0]["field"] == "amount"
    assert body["topic"] == topic


def test_on_invalid_raise_stops_at_the_first_bad_chunk(
    sandbox: Sandbox,
    make_topic: TopicFactory,
    produce: Produce,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic()
    path = _csv(tmp_path / "orders.csv", 8, bad={5: "oops"})
    assert produce(path, topic, "--on-invalid", "raise", "--chunk-size", "2") == 1
    # Chunks [0,1] and [2,3] were sent; chunk [4,5] holds the bad row, so nothing after.
    assert sorted(_keys(_exactly(sandbox, topic, 4))) == [f"ORD-{i:05d}" for i in range(4)]
    out = capsys.readouterr().out
    assert "Stopped early:" in out
    assert "row 5 amount" in out
    assert _counts(out)["read but not sent (the run stopped)"] == 2


# --- dry run, limit, columns, key, extra --------------------------------------------------------


def test_dry_run_sends_nothing_and_needs_no_broker(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = make_topic()
    path = _csv(tmp_path / "orders.csv", 4, bad={1: "nope"})
    # No connection flags and no environment: a dry run must not need them.
    args = ["produce", str(path), "--model", MODEL, "--topic", topic, "--dry-run", "--no-progress"]
    assert main(args) == 1
    assert _exactly(sandbox, topic, 0) == []
    out = capsys.readouterr().out
    assert _counts(out)["valid (dry run: nothing was sent)"] == 3
    assert "row 1 amount:" in out
    assert main([args[0], str(_csv(tmp_path / "ok.csv", 3)), *args[2:]]) == 0


def test_dry_run_asks_the_registry_whether_the_real_run_would_be_accepted(
    sandbox: Sandbox,
    make_topic: TopicFactory,
    produce: Produce,
    registry_client: SchemaRegistryClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic()
    path = _csv(tmp_path / "orders.csv", 3)
    assert produce(path, topic) == 0  # registers CliOrder under <topic>-value
    capsys.readouterr()
    retyped = "tests.cli.evolved_models:CliOrderAmountText"

    assert produce(path, topic, "--dry-run", model=retyped) == 1
    out = capsys.readouterr().out
    assert _counts(out)["valid (dry run: nothing was sent)"] == 3  # every row is fine ...
    assert f"registry subject '{topic}-value': incompatible" in out  # ... the schema is not
    assert "amount" in out
    assert "the Schema Registry would refuse the schema" in out.splitlines()[-1]
    assert registry_client.get_versions(f"{topic}-value") == [1]  # nothing was registered
    assert produce(path, topic, model=retyped) == 1  # the real run: refused, as announced

    assert produce(path, topic, "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"registry subject '{topic}-value': compatible" in out
    assert out.splitlines()[-1] == "result: every row is valid (dry run: nothing was sent)"


def test_limit_reads_only_the_first_rows(
    sandbox: Sandbox,
    make_topic: TopicFactory,
    produce: Produce,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic()
    assert (
        produce(_csv(tmp_path / "orders.csv", 10), topic, "--limit", "3", "--chunk-size", "2") == 0
    )
    assert sorted(_keys(_exactly(sandbox, topic, 3))) == [f"ORD-{i:05d}" for i in range(3)]
    assert "rows 0 to 2." in capsys.readouterr().out


def test_columns_mapping_key_column_and_extra_ignore(
    sandbox: Sandbox, make_topic: TopicFactory, produce: Produce, tmp_path: Path
) -> None:
    topic = make_topic()
    path = tmp_path / "renamed.csv"
    path.write_text(
        "order_no,amt,quantity,created_at,customer,junk\n"
        "A-1,1.5,2,2024-01-01T00:00:00Z,C-7,x\n"
        "A-2,2.5,3,2024-01-01T00:00:01Z,C-8,y\n"
    )
    columns = "order_no=order_id,amt=amount"
    assert produce(path, topic, "--columns", columns, "--key", "customer", "--extra", "ignore") == 0
    messages = _exactly(sandbox, topic, 2)
    assert sorted(_keys(messages)) == ["C-7", "C-8"]
    orders = sorted(CliOrder.deserialize(m.value()).order_id for m in messages)  # type: ignore[arg-type]
    assert orders == ["A-1", "A-2"]


def test_extra_column_is_refused_by_default(
    make_topic: TopicFactory, produce: Produce, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "extra.csv"
    path.write_text(f"{HEADER},junk\n{_row(0)},x\n")
    assert produce(path, make_topic()) == 1
    out = capsys.readouterr().out
    assert "column 'junk' matches no field of CliOrder" in out
    assert _counts(out)["read but not sent (the run stopped)"] == 1


def test_progress_bar_counts_rows_on_stderr(
    make_topic: TopicFactory, produce: Produce, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = make_topic()
    path = _csv(tmp_path / "orders.csv", 5, bad={1: "x"})
    assert produce(path, topic, "--progress", "--limit", "3", "--chunk-size", "2") == 1
    err = capsys.readouterr().err
    assert f"orders.csv → {topic}" in err
    # --limit gives the bar its total; it counts the rows the broker acknowledged, the invalid
    # row comes off the total (so the bar ends full) and shows after it.
    assert "0/3" in err
    assert "2/2" in err
    assert "3/3" not in err
    assert "invalid=1" in err
    assert "failed=0" in err


def test_an_unreachable_broker_fails_every_row_within_the_timeout(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A broker address nobody listens on: every row fails after --timeout seconds, by message
    # timeout or by the stall watch, which stops the run and purges them; either way no row
    # ever got a partition, so none was sent ("not written"), and each row is accounted for.
    path = _csv(tmp_path / "orders.csv", 3)
    code = main(
        [
            "produce", str(path), "--model", MODEL, "--topic", "unreachable",
            "--bootstrap-servers", "127.0.0.1:9", "--schema-registry-url",
            sandbox.schema_registry_url, "--timeout", "1", "--no-progress",
        ]
    )  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    counts = _counts(out)
    assert counts["delivered to 'unreachable'"] == 0
    assert (counts["failed (not written)"], counts["failed, may have been written"]) == (3, 0)
    last = out.splitlines()[-1]
    assert re.fullmatch(
        r"result: (stopped early: no row after row 2 was sent; )?3 row\(s\) failed to deliver"
        r"( \(3 may have been written\))?",
        last,
    ), last
