"""The registry package stays standalone: no imports from the rest of flowodm."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import flowodm.sandbox.registry as package

ALLOWED_ROOTS = {"avro", "fastavro", "flowodm"}


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_registry_imports_only_stdlib_avro_fastavro_and_itself() -> None:
    modules = sorted(Path(package.__file__).parent.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        for name in _imports(module):
            root = name.split(".")[0]
            if root == "flowodm":
                assert name.startswith("flowodm.sandbox.registry"), f"{module.name}: {name}"
            else:
                assert root in ALLOWED_ROOTS | sys.stdlib_module_names, f"{module.name}: {name}"
