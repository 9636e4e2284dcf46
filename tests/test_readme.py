"""The README's Python examples run as written, against the sandbox instead of localhost."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory

README = Path(__file__).resolve().parent.parent / "README.md"

pytestmark = pytest.mark.integration


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(_python_blocks()) >= 2


def test_the_readme_python_examples_run_and_do_what_they_say(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    import flowodm

    topic = make_topic(prefix="readme")
    code = "\n".join(_python_blocks())
    code = code.replace('"localhost:9092"', repr(sandbox.bootstrap_servers))
    code = code.replace('"http://localhost:8081"', repr(sandbox.schema_registry_url))
    code = code.replace('topic = "orders"', f"topic = {topic!r}")
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    try:
        exec(compile(code, str(README), "exec"), namespace)
    finally:
        flowodm.disconnect()

    assert namespace["result"].topic == topic
    assert namespace["result"].offset >= 0
    report = namespace["report"]
    assert (report.total, report.delivered, report.invalid, len(report.failed)) == (3, 1, 2, 0)
    assert report.invalid_index == [1, 2]
    assert "3 row(s), 1 delivered, 2 invalid, 0 failed" in str(report)
