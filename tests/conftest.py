"""Shared test set-up: a clean environment per test and the sandbox fixtures of flowodm.testing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest_plugins = ["flowodm.testing"]

_CLEARED_PREFIXES = ("KAFKA_", "SCHEMA_REGISTRY_", "FLOWODM_")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Strip connection variables so no test depends on the developer's shell."""
    import os

    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES):
            monkeypatch.delenv(name)
    yield
