"""``flowodm produce`` usage errors (exit code 2) and failures before any row is sent."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pytest

from flowodm.cli.checkpoint import Checkpointer, FileIdentity
from flowodm.cli.main import main
from flowodm.cli.produce import parse_column_mapping

MODEL = "tests.cli.cli_models:CliOrder"


def _exit_code(argv: Sequence[str]) -> int:
    """``main``'s return value, or the code of argparse's own ``SystemExit``."""
    try:
        return main(list(argv))
    except SystemExit as exc:
        assert isinstance(exc.code, int)
        return exc.code


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("order_id,amount,quantity,created_at\nA,1.5,1,2024-01-01T00:00:00Z\n")
    return path


def _usage_error(capsys: pytest.CaptureFixture[str], argv: Sequence[str], message: str) -> None:
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert "usage: flowodm produce" in err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        (["--format", "xml"], "invalid choice: 'xml'"),
        (["--limit", "0"], "must be at least 1"),
        (["--chunk-size", "ten"], "'ten' is not a whole number"),
        (["--timeout", "-1"], "must be a positive number of seconds"),
        (["--timeout", "inf"], "'inf' must be a positive number of seconds"),
        (["--columns", "a=b,c"], "'c' is not COLUMN=FIELD"),
        (["--report", "errors.txt"], "must end in .csv or .jsonl"),
        (["--dead-letter", "dl", "--on-invalid", "raise"], "--dead-letter needs --on-invalid"),
        (["--checkpoint", "ck.json"], "--checkpoint needs --report FILE or --dead-letter"),
        (["--checkpoint", "ck.json", "--report", "r.csv", "--dry-run"], "with --dry-run"),
    ],
)
def test_bad_options(
    capsys: pytest.CaptureFixture[str], orders: Path, extra_args: list[str], message: str
) -> None:
    _usage_error(capsys, ["produce", str(orders), "--model", MODEL, *extra_args], message)


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    _usage_error(capsys, ["produce", str(missing), "--model", MODEL], "does not exist")


def test_unknown_extension(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "orders.xlsx").write_bytes(b"")
    argv = ["produce", str(tmp_path / "orders.xlsx"), "--model", MODEL]
    _usage_error(capsys, argv, "pass --format csv|jsonl|parquet")


def test_checkpoint_with_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["produce", "-", "--model", MODEL, "--checkpoint", "ck.json", "--report", "r.csv"]
    _usage_error(capsys, argv, "stdin cannot be identified or resumed")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("tests.cli.cli_models", "must look like package.module:ClassName"),
        ("tests.cli.nope:CliOrder", "no module named 'tests.cli.nope'"),
        ("tests.cli.cli_models:Order", "has no attribute 'Order'"),
        ("tests.cli.cli_models:NotAModel", "not a subclass of flowodm.FlowBaseModel"),
        ("tests/cli/missing.py:Order", "does not exist"),
    ],
)
def test_bad_model(
    capsys: pytest.CaptureFixture[str], orders: Path, model: str, message: str
) -> None:
    _usage_error(capsys, ["produce", str(orders), "--model", model], message)


def test_model_without_topic_needs_topic(capsys: pytest.CaptureFixture[str], orders: Path) -> None:
    argv = ["produce", str(orders), "--model", "tests.cli.cli_models:Untopiced"]
    _usage_error(capsys, argv, "has no Settings.topic; pass --topic TOPIC")


def test_checkpoint_of_a_changed_file_is_refused(
    capsys: pytest.CaptureFixture[str], orders: Path, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "ck.json"
    Checkpointer(checkpoint, source=FileIdentity.of(orders), topic="cli-orders").advance(1)
    with orders.open("a") as file:
        file.write("B,2.5,1,2024-01-01T00:00:00Z\n")
    argv = [
        "produce", str(orders), "--model", MODEL, "--checkpoint", str(checkpoint),
        "--report", str(tmp_path / "r.csv"),
    ]  # fmt: skip
    _usage_error(capsys, argv, "does not match the input: the file's size changed")


def test_no_broker_configured_fails_with_the_fix(
    capsys: pytest.CaptureFixture[str], orders: Path
) -> None:
    assert _exit_code(["produce", str(orders), "--model", MODEL, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "no Kafka bootstrap servers configured" in err
    assert "pass --bootstrap-servers HOST:PORT or set KAFKA_BOOTSTRAP_SERVERS" in err


def test_help_documents_the_checkpoint_guarantee(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["produce", "--help"]) == 0
    out = capsys.readouterr().out
    assert "checkpoint guarantee:" in out
    assert "at most --chunk-size" in out
    assert "exit codes:" in out
    # Exit code 1 has several causes; help says the summary's last line names which.
    assert "The summary's last line says" in out
    assert "result: 12 row(s) failed to deliver" in out
    assert "every valid row delivered" in out


def test_column_mapping_parser() -> None:
    assert parse_column_mapping("a=b, c = d") == {"a": "b", "c": "d"}
    with pytest.raises(argparse.ArgumentTypeError, match="mapped twice"):
        parse_column_mapping("a=b,a=c")
    with pytest.raises(argparse.ArgumentTypeError, match="'=b' is not COLUMN=FIELD"):
        parse_column_mapping("=b")
