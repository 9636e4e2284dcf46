"""The Dask benchmark runs end to end on a tiny frame (numbers are not checked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowodm.sandbox import Sandbox

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "dask.py"


def test_benchmark_runs_and_verifies_its_output(sandbox: Sandbox) -> None:
    env = {
        **os.environ,
        "FLOWODM_BENCH_BOOTSTRAP_SERVERS": sandbox.bootstrap_servers,
        "FLOWODM_BENCH_SCHEMA_REGISTRY_URL": sandbox.schema_registry_url,
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "400", "--rounds", "1", "--partitions", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-3000:]}"
    for variant in ("raw", "pandas", "dask-1", "dask-2", "dask-2-raise"):
        assert f"  {variant} " in done.stdout
    assert "counts match, every value a reference Avro body" in done.stdout
