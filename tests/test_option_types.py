"""The option TypedDicts say exactly what their calls read, so the docs and types cannot drift."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from flowodm import BatchOptions, NowaitOptions, ProduceOptions
from flowodm.pandas import RunOptions

ROOT = Path(__file__).resolve().parents[1]


def _read_options(module: str) -> set[str]:
    """Every literal key the module reads from a mapping named ``options``."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    keys: set[str] = set()
    for node in ast.walk(tree):
        target: ast.expr | None = None
        key: ast.expr | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "get" and node.args:
                target, key = node.func.value, node.args[0]
        elif isinstance(node, ast.Subscript):
            target, key = node.value, node.slice
        if isinstance(target, ast.Name) and target.id == "options":
            assert isinstance(key, ast.Constant) and isinstance(key.value, str), ast.dump(node)
            keys.add(key.value)
    return keys


@pytest.mark.parametrize(
    ("module", "declared"),
    [
        (
            "flowodm/produce/api.py",
            ProduceOptions.__optional_keys__
            | NowaitOptions.__optional_keys__
            | BatchOptions.__optional_keys__,
        ),
        ("flowodm/pandas/pipeline.py", RunOptions.__optional_keys__),
    ],
)
def test_every_declared_option_is_read_and_nothing_else(
    module: str, declared: frozenset[str]
) -> None:
    assert _read_options(module) == set(declared)
