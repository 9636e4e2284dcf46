"""``flowodm produce 'files*' --scheduler/--workers``: files as partitions, checkpointed by file.

Most tests use the session's two-process LocalCluster through ``--scheduler``; one starts its
own with ``--workers 2``. The resume test SIGKILLs the command while files are in flight and
counts, by consuming the topic, how often each file's rows arrived.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Collection
from pathlib import Path

import pandas as pd
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from distributed import Client

from flowodm.cli.checkpoint import FileIdentity, save_checkpoint
from flowodm.cli.checkpoint_files import FilesCheckpoint
from flowodm.cli.main import main
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory, consume_all
from tests.dask.conftest import read_back

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODEL = "tests.dask.helpers:DaskOrder"


def _write_files(
    directory: Path,
    files: int,
    rows: int,
    *,
    invalid: Collection[tuple[int, int]] = (),
    suffix: str = "parquet",
) -> list[Path]:
    """``files`` order files of ``rows`` rows; order ids ``f{file}-{row}`` name both."""
    directory.mkdir(exist_ok=True)
    paths = []
    for f in range(files):
        frame = pd.DataFrame(
            {
                "order_id": [f"f{f}-{r}" for r in range(rows)],
                "customer_id": [f"c{r % 13}" for r in range(rows)],
                "amount": [-1.0 if (f, r) in invalid else r + 0.5 for r in range(rows)],
                "quantity": [r % 5 for r in range(rows)],
            }
        )
        path = directory / f"orders-{f:02d}.{suffix}"
        if suffix == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        paths.append(path)
    return paths


@pytest.fixture
def scheduler(dask_client: Client) -> str:
    """The address of the session's two-process LocalCluster, for ``--scheduler``."""
    address: str = dask_client.scheduler_info()["address"]
    return address


def _argv(sandbox: Sandbox, pattern: str, topic: str, *extra: str) -> list[str]:
    return [
        "produce", pattern, "--model", MODEL, "--topic", topic, "--no-progress",
        "--bootstrap-servers", sandbox.bootstrap_servers,
        "--schema-registry-url", sandbox.schema_registry_url, *extra,
    ]  # fmt: skip


def _report(path: Path) -> list[tuple[str, str, str, str]]:
    with path.open(newline="") as file:
        return [(r["file"], r["row"], r["status"], r["field"]) for r in csv.DictReader(file)]


def _done(checkpoint: Path) -> list[str]:
    done: list[str] = json.loads(checkpoint.read_text())["done"]
    return done


def test_every_row_of_every_file_is_delivered_or_reported(
    scheduler: str,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    registry_client: SchemaRegistryClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic(partitions=3)
    invalid = {(1, 7), (3, 0), (3, 299)}
    paths = _write_files(tmp_path / "in", 4, 300, invalid=invalid)
    report, checkpoint = tmp_path / "report.csv", tmp_path / "ck.json"
    argv = _argv(
        sandbox, str(tmp_path / "in" / "*.parquet"), topic,
        "--scheduler", scheduler,
        "--checkpoint", str(checkpoint), "--report", str(report), "--chunk-size", "100",
    )  # fmt: skip

    assert main(argv) == 1  # only because of the invalid rows

    out = capsys.readouterr().out
    assert f"Read 1,200 rows from 4 of 4 file(s) matching '{tmp_path / 'in' / '*.parquet'}'" in out
    assert out.splitlines()[-1] == (
        f"result: 3 invalid row(s) not sent (recorded in '{report}'); every valid row delivered"
    )
    assert f"checkpoint '{checkpoint}': 4 of 4 file(s) are done" in out
    assert f"{paths[3]} row 299 amount:" in out
    # The report names each invalid row by its file and its row in that file.
    assert sorted(_report(report)) == sorted(
        (str(paths[f]), str(r), "invalid", "amount") for f, r in invalid
    )
    assert _done(checkpoint) == [str(p.resolve()) for p in paths]
    # Read back with Confluent's deserializer: every valid row once, keyed by order_id.
    valid = 4 * 300 - len(invalid)
    got = read_back(sandbox, registry_client, topic, valid, linger=0.5)
    keys = Counter(key.decode() for key, _ in got if key is not None)
    expected = {f"f{f}-{r}" for f in range(4) for r in range(300) if (f, r) not in invalid}
    assert set(keys) == expected and max(keys.values()) == 1
    values = {v["order_id"]: v for _, v in got}
    assert values["f2-10"] == {
        "order_id": "f2-10",
        "customer_id": "c10",
        "amount": 10.5,
        "quantity": 0,
    }

    # The same command again: every file is finished, nothing is read or sent.
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Read no rows: all 4 file(s) matching" in out
    assert out.splitlines()[-1] == "result: every row delivered"
    assert len(consume_all(sandbox.bootstrap_servers, topic, valid, linger=0.5)) == valid


def test_workers_start_a_local_cluster_for_the_run_with_dead_letters(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic, dead = make_topic(), make_topic(prefix="dlq")
    _write_files(tmp_path / "in", 3, 200, invalid={(0, 5)}, suffix="csv")

    pattern = str(tmp_path / "in" / "orders-*.csv")
    code = main(_argv(sandbox, pattern, topic, "--workers", "2", "--dead-letter", dead))

    assert code == 1
    out = capsys.readouterr().out
    assert "rows delivered to" in out and "599" in out
    assert out.splitlines()[-1].startswith("result: 1 invalid row(s) not sent (recorded on")
    messages = consume_all(sandbox.bootstrap_servers, topic, 599, linger=0.5)
    assert {m.key().decode() for m in messages} == {  # type: ignore[union-attr]
        f"f{f}-{r}" for f in range(3) for r in range(200)
    } - {"f0-5"}
    [letter] = consume_all(sandbox.bootstrap_servers, dead, 1, linger=0.5)
    assert letter.key() == b"f0-5"
    assert json.loads(letter.value())["index"] == 5  # type: ignore[arg-type]


def test_on_invalid_raise_checks_every_file_and_sends_nothing(
    scheduler: str,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic()
    paths = _write_files(tmp_path / "in", 3, 50, invalid={(2, 49)})
    report = tmp_path / "report.jsonl"
    argv = _argv(
        sandbox, str(tmp_path / "in" / "*.parquet"), topic,
        "--scheduler", scheduler, "--on-invalid", "raise",
        "--report", str(report),
    )  # fmt: skip

    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "1 problem(s) in 1 file(s) and 0 file(s) not checked; --on-invalid raise" in out
    [line] = [json.loads(x) for x in report.read_text().splitlines()]
    assert (line["file"], line["row"], line["field"]) == (str(paths[2]), 49, "amount")
    assert consume_all(sandbox.bootstrap_servers, topic, 0, linger=1.0) == []


def test_a_killed_run_resumes_without_resending_finished_files(
    scheduler: str, sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path
) -> None:
    files, rows = 16, 2_000
    invalid = {(f, 11 * f) for f in range(0, files, 3)}
    topic = make_topic(partitions=3)
    _write_files(tmp_path / "in", files, rows, invalid=invalid)
    checkpoint, report = tmp_path / "ck.json", tmp_path / "report.csv"
    argv = _argv(
        sandbox, str(tmp_path / "in" / "*.parquet"), topic,
        "--scheduler", scheduler,
        "--checkpoint", str(checkpoint), "--report", str(report),
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "flowodm", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            if checkpoint.exists() and len(_done(checkpoint)) >= 2:
                break
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the first run ended before it was killed"
    finished = {Path(p).name for p in _done(checkpoint)}
    assert 2 <= len(finished) < files

    assert main(argv) == 1  # the resumed run: exit 1 only because of the invalid rows
    assert len(_done(checkpoint)) == files

    valid = files * rows - len(invalid)
    messages = consume_all(sandbox.bootstrap_servers, topic, valid, timeout=60, linger=1.0)
    keys = Counter(m.key().decode() for m in messages)  # type: ignore[union-attr]
    expected = {f"f{f}-{r}" for f in range(files) for r in range(rows) if (f, r) not in invalid}
    assert set(keys) == expected  # nothing missing, no invalid row sent
    for f in range(files):
        counts = [keys[f"f{f}-{r}"] for r in range(rows) if (f, r) not in invalid]
        if f"orders-{f:02d}.parquet" in finished:
            assert set(counts) == {1}, f"file {f} was finished before the kill yet re-sent"
        else:
            assert max(counts) <= 2, f"file {f} was sent more than twice"
    # Every invalid row is in the report, though the first run never finished.
    reported = {(Path(name).name, int(row)) for name, row, status, _ in _report(report)}
    assert reported == {(f"orders-{f:02d}.parquet", r) for f, r in invalid}


# ------------------------------------------------------------------------------ usage errors


def _usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    return capsys.readouterr().err


def _usage_code(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_a_pattern_without_a_cluster_is_refused_naming_workers(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_files(tmp_path / "in", 2, 3)
    err = _usage_code(_argv(sandbox, str(tmp_path / "in" / "*.parquet"), "t"), capsys)
    assert "is a pattern" in err and "--workers N" in err and "--scheduler ADDRESS" in err


def test_bad_combinations_are_usage_errors(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pattern = str(tmp_path / "in" / "*.parquet")
    _write_files(tmp_path / "in", 2, 3)
    err = _usage(_argv(sandbox, pattern, "t", "--workers", "2", "--scheduler", "tcp://x:1"), capsys)
    assert "--scheduler: not allowed with argument --workers" in err
    err = _usage_code(_argv(sandbox, "-", "t", "--workers", "2"), capsys)
    assert "FILE - (stdin) cannot be produced on a Dask cluster" in err
    err = _usage_code(_argv(sandbox, str(tmp_path / "none-*.csv"), "t", "--workers", "2"), capsys)
    assert f"no file matches '{tmp_path / 'none-*.csv'}'" in err
    err = _usage_code(_argv(sandbox, pattern, "t", "--workers", "2", "--limit", "5"), capsys)
    assert "--limit cannot be used with --workers/--scheduler" in err
    err = _usage(_argv(sandbox, pattern, "t", "--workers", "0"), capsys)
    assert "--workers: must be at least 1" in err


def test_resuming_on_changed_or_other_files_is_refused(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _write_files(tmp_path / "in", 2, 3)
    checkpoint = tmp_path / "ck.json"
    save_checkpoint(
        checkpoint,
        FilesCheckpoint(
            files=tuple(FileIdentity.of(p) for p in paths),
            topic="t",
            done=(str(paths[0].resolve()),),
        ),
    )
    argv = _argv(
        sandbox, str(tmp_path / "in" / "*.parquet"), "t", "--workers", "2",
        "--checkpoint", str(checkpoint), "--report", str(tmp_path / "r.csv"),
    )  # fmt: skip
    with paths[1].open("ab") as file:
        file.write(b"\0")
    err = _usage_code(argv, capsys)
    assert f"{paths[1].resolve()}: the file's size changed" in err
    assert "pass a new --checkpoint path" in err
    _write_files(tmp_path / "in", 3, 3)  # rewrites both, and adds orders-02.parquet
    err = _usage_code(argv, capsys)
    assert "1 file(s) not in it now match" in err and "orders-02.parquet" in err
    assert _done(checkpoint) == [str(paths[0].resolve())]  # the refused runs changed nothing


def test_an_unreadable_file_is_not_checkpointed_and_the_others_are(
    scheduler: str,
    sandbox: Sandbox,
    make_topic: TopicFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic()
    paths = _write_files(tmp_path / "in", 3, 40, suffix="csv")
    with paths[1].open("a") as file:
        file.write("f1-40,c1\n")  # two fields where the header has four
    checkpoint = tmp_path / "ck.json"
    argv = _argv(
        sandbox, str(tmp_path / "in" / "*.csv"), topic,
        "--scheduler", scheduler,
        "--checkpoint", str(checkpoint), "--report", str(tmp_path / "r.csv"),
    )  # fmt: skip

    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "Files not finished (running the same command again sends them again):" in out
    assert f"  {paths[1]}: could not be read: " in out and "row 40 has 2 fields" in out
    assert out.splitlines()[-1] == "result: 1 file(s) not finished"
    assert _done(checkpoint) == [str(paths[0].resolve()), str(paths[2].resolve())]
    messages = consume_all(sandbox.bootstrap_servers, topic, 80, linger=0.5)
    assert {m.key().decode()[:3] for m in messages} == {"f0-", "f2-"}  # type: ignore[union-attr]
