"""The package surface: every exported name resolves, and imports stay as light as promised."""

from __future__ import annotations

import subprocess
import sys

import pytest

import flowodm


@pytest.mark.parametrize("name", flowodm.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(flowodm, name) is not None


def test_all_is_sorted_and_unique() -> None:
    assert list(flowodm.__all__) == sorted(set(flowodm.__all__))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = flowodm.no_such_name  # type: ignore[attr-defined]


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    "imports",
    [
        "import flowodm\nimport pandas as pd",
        "import pandas as pd\nimport flowodm",
        "import flowodm\nfrom pandas import DataFrame as _D\nimport pandas as pd",
    ],
    ids=["flowodm-first", "pandas-first", "from-import"],
)
def test_importing_flowodm_registers_the_accessor_in_any_order(imports: str) -> None:
    out = _run(f"{imports}\nprint(type(pd.DataFrame({{'a': [1]}}).flowodm).__name__)")
    assert out == "FlowODMAccessor"


def test_the_registry_and_the_sandbox_do_not_load_heavy_libraries() -> None:
    out = _run(
        "import sys, flowodm.sandbox, flowodm.sandbox.registry\n"
        "print(sorted(m for m in ('pandas', 'pydantic', 'confluent_kafka') if m in sys.modules))"
    )
    assert out == "[]"
