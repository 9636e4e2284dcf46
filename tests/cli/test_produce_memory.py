"""A whole backfill (read, validate, encode, produce) keeps memory flat (in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ROWS = 300_000
CHUNK = 10_000
# Records the peak RSS (KiB) after each chunk is finished, then runs the command.
_PROBE = """
import json, resource, sys
from flowodm.cli import backfill
from flowodm.cli.main import main

marks = []
finish_chunk = backfill._Loop.produce

def produce(self, frame):
    done = finish_chunk(self, frame)
    marks.append([int(frame.index[-1]) + 1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss])
    return done

backfill._Loop.produce = produce
code = main(sys.argv[1:])
print(json.dumps({"code": code, "marks": marks}))
"""
# Measured: flat to the KiB from row 20,000 to row 300,000, while keeping just the chunks'
# frames (Arrow-backed, compact) grows it by about 20 MiB over the same rows.
ALLOWED_GROWTH_KIB = 8 * 1024


def test_memory_stays_flat_while_a_large_file_is_produced(
    sandbox: Sandbox, make_topic: TopicFactory, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    with path.open("w") as file:
        file.write("order_id,amount,quantity,created_at,note\n")
        file.writelines(
            f"ORD-{i:08d},{i % 1000 / 7:.2f},{i % 49 + 1},2024-01-01T00:00:{i % 60:02d}Z,"
            f"{'n' * 30 if i % 3 else ''}\n"
            for i in range(ROWS)
        )
    result = subprocess.run(
        [
            sys.executable, "-c", _PROBE, "produce", str(path),
            "--model", "tests.cli.cli_models:CliOrder", "--topic", make_topic(),
            "--chunk-size", str(CHUNK), "--no-progress",
            "--bootstrap-servers", sandbox.bootstrap_servers,
            "--schema-registry-url", sandbox.schema_registry_url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome["code"] == 0
    marks = dict(outcome["marks"])
    assert sorted(marks) == list(range(CHUNK, ROWS + 1, CHUNK))  # every row, chunk by chunk
    assert marks[ROWS] - marks[3 * CHUNK] < ALLOWED_GROWTH_KIB
