"""Smoke test: ``benchmarks/consume.py`` runs end to end on a small workload."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowodm.sandbox import Sandbox

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "consume.py"


def test_benchmark_runs_against_the_sandbox(sandbox: Sandbox) -> None:
    env = {
        **os.environ,
        "FLOWODM_BENCH_BOOTSTRAP_SERVERS": sandbox.bootstrap_servers,
        "FLOWODM_BENCH_SCHEMA_REGISTRY_URL": sandbox.schema_registry_url,
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "2000", "--rounds", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-3000:]}"
    assert "2000 orders" in done.stdout
    for line in ("median raw confluent consume()", "read_topic / raw", "consume_iter / raw"):
        assert line in done.stdout
