"""The CI gate as a real process: ``flowodm schema check --model …`` exits 1 naming the field."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from flowodm.sandbox import Sandbox
from tests.tools.test_tools_cli import model_file

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _flowodm(registry: str, *args: str) -> subprocess.CompletedProcess[str]:
    entry = ["-m", "flowodm"]
    env = {**os.environ, "SCHEMA_REGISTRY_URL": registry}
    return subprocess.run(
        [sys.executable, *entry, "schema", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ci_gate_fails_on_an_incompatible_change_and_passes_a_compatible_one(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    topic = f"gate-{uuid.uuid4().hex[:12]}"
    url = sandbox.schema_registry_url
    deployed = model_file(tmp_path / "deployed", "events", topic, "order_id: str\namount: float")
    assert _flowodm(url, "register", "--model", deployed).returncode == 0

    compatible = model_file(
        tmp_path / "ok", "events", topic, "order_id: str\namount: float\ncoupon: str | None = None"
    )
    passed = _flowodm(url, "check", "--model", compatible)
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("ok ")

    breaking = model_file(
        tmp_path / "bad", "events", topic, "order_id: str\namount: float\ncurrency: str"
    )
    failed = _flowodm(url, "check", "--model", breaking)
    assert failed.returncode == 1, failed.stderr
    assert "incompatible, field(s) currency" in failed.stdout
    assert "field 'currency' has no default and is missing from the old schema" in failed.stdout
    assert "Traceback" not in failed.stderr
