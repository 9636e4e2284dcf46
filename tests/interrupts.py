"""Run a child process until it gives its cue, send it SIGINT, and return its JSON outcome.

The Ctrl-C tests of producing and consuming (``tests/*/test_interrupts.py``) share this: the
child prints a cue line once it is mid-run, then, when interrupted, one JSON line saying how
its call ended.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def interrupted_child(module: str, args: list[str], cue: str, settle: float = 0) -> dict[str, Any]:
    """Run ``python -m module *args``, SIGINT it ``settle`` s after it printed ``cue``.

    Returns the child's last stdout line as JSON, with its stderr under ``"stderr"``.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the child gives its cue (or exits)
        assert first.strip() == cue, (first, process.stderr.read() if process.stderr else "")
        time.sleep(settle)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)  # bounded generously: no hang
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = out.strip().splitlines()
    assert lines, err
    outcome: dict[str, Any] = json.loads(lines[-1])
    outcome["stderr"] = err
    return outcome
