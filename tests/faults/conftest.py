"""Registers the ``faults`` marker of the fault suite (pyproject's markers are not ours to edit)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Declare ``faults`` so ``--strict-markers`` accepts it and ``-m faults`` selects the suite."""
    config.addinivalue_line(
        "markers", "faults: the fault suite (network faults between client and broker/registry)"
    )
