"""The package surface: every exported name resolves, and imports stay as light as promised."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types
from pathlib import Path

import pytest

import flowodm

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", flowodm.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(flowodm, name) is not None


def test_all_is_sorted_and_unique() -> None:
    assert list(flowodm.__all__) == sorted(set(flowodm.__all__))


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name in dir(flowodm)
        if not name.startswith("_") and not isinstance(getattr(flowodm, name), types.ModuleType)
    }
    assert public | {"__version__"} == set(flowodm.__all__)


def test_every_error_is_exported_from_the_package() -> None:
    # flowodm/__init__.py lists the errors again (it must not import flowodm.exceptions).
    import flowodm.exceptions

    assert set(flowodm.exceptions.__all__) <= set(flowodm.__all__)
    for name in flowodm.exceptions.__all__:
        assert getattr(flowodm, name) is getattr(flowodm.exceptions, name)


def test_the_marker_types_and_reports_users_write_are_exported() -> None:
    from flowodm.kafka.errors import ClientErrorReport
    from flowodm.schema.types import Float32, Int32, TimeMicros, TimestampMicros

    assert (flowodm.Int32, flowodm.Float32) == (Int32, Float32)
    assert (flowodm.TimestampMicros, flowodm.TimeMicros) == (TimestampMicros, TimeMicros)
    assert flowodm.ClientErrorReport is ClientErrorReport
    assert flowodm.FlowProducer.__module__ == "flowodm.kafka.clients"  # a public-named module


def test_the_version_has_one_source() -> None:
    assert importlib.metadata.version("flowodm") == flowodm.__version__
    assert "version =" not in (ROOT / "pyproject.toml").read_text(encoding="utf-8").split(
        "[project.optional-dependencies]"
    )[0].replace("python_version", "")


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = flowodm.no_such_name  # type: ignore[attr-defined]


def test_public_submodules_are_attributes_after_a_bare_import() -> None:
    out = _run(
        "import flowodm\n"
        "print(flowodm.exceptions.FlowODMError.__name__, flowodm.kafka.__name__, "
        "'exceptions' in dir(flowodm))"
    )
    assert out == "FlowODMError flowodm.kafka True"


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


def test_defining_a_model_loads_neither_kafka_nor_the_connection_layer() -> None:
    out = _run(
        "import sys, flowodm.model\n"
        "from flowodm import FlowBaseModel\n"
        "class Order(FlowBaseModel):\n"
        "    order_id: str\n"
        "print(sorted(m for m in ('confluent_kafka', 'flowodm.kafka.connection', "
        "'flowodm.produce.api') if m in sys.modules))"
    )
    assert out == "[]"


def test_the_registry_process_loads_only_its_own_package() -> None:
    out = _run(
        "import sys\n"
        "import flowodm.sandbox.registry.cli, flowodm.sandbox.registry.server\n"
        "print(sorted(m for m in sys.modules if m.startswith('flowodm') "
        "and not m.startswith('flowodm.sandbox.registry')))"
    )
    # The parent packages' inits (lazy: they load nothing) and the stdlib-only pandas hook.
    assert out == "['flowodm', 'flowodm._lazy', 'flowodm._pandas_hook', 'flowodm.sandbox']"


def test_the_registry_contract_forbids_every_other_module() -> None:
    import pkgutil
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
    [registry] = [c for c in contracts if c.get("source_modules") == ["flowodm.sandbox.registry"]]
    forbidden = set(registry["forbidden_modules"])

    def children(package: str, path: Path) -> set[str]:
        return {f"{package}.{info.name}" for info in pkgutil.iter_modules([str(path)])}

    expected = children("flowodm", ROOT / "flowodm") | children(
        "flowodm.sandbox", ROOT / "flowodm" / "sandbox"
    )
    expected -= {"flowodm.sandbox", "flowodm.sandbox.registry", "flowodm.__main__"}
    assert expected <= forbidden, f"add to the registry contract: {sorted(expected - forbidden)}"


def _moved_modules() -> list[tuple[str, list[str]]]:
    import re

    text = (ROOT / "docs" / "changes.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (`flowodm[^|]*) \| ([^|]*) \|$", text, flags=re.MULTILINE)
    return [
        (old, re.findall(r"`(flowodm(?:\.[a-z_]+)+)`", new))
        for was, new in rows
        for old in re.findall(r"`(flowodm[.a-z_]*)`", was)
    ]


def test_the_changes_page_names_real_moves() -> None:
    moves = _moved_modules()
    assert len(moves) >= 10
    for old, new in moves:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)
        assert new and all(importlib.import_module(module) for module in new), old
