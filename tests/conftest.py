"""Shared test set-up: Hypothesis profiles, a clean environment per test, the sandbox fixtures.

Hypothesis profiles (loaded here, at import, before any test module builds its ``@settings``):

- ``dev`` (the default) and ``ci`` (when the ``CI`` variable is set) are derandomized: the
  examples are derived from each test's source, so two runs of the suite test the same cases
  and a result never depends on luck. They use no example database (a saved failure would be
  replayed first and change the cases) and no deadline, and do not fail on ``too_slow``: both
  depend on the machine's speed. ``ci`` also prints the ``@reproduce_failure`` blob.
- ``explore`` is random and keeps the database, to hunt for new failing cases locally.

``HYPOTHESIS_PROFILE=<name>`` or ``pytest --hypothesis-profile=<name>`` selects one explicitly.
A test's own ``@settings`` (e.g. ``max_examples``) still applies on top of the profile.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["flowodm.testing"]

_REPRODUCIBLE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", _REPRODUCIBLE)
settings.register_profile("ci", _REPRODUCIBLE, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if "CI" in os.environ else "dev")
)

_CLEARED_PREFIXES = ("KAFKA_", "SCHEMA_REGISTRY_", "FLOWODM_")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Strip connection variables so no test depends on the developer's shell."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def no_current_connection() -> Iterator[None]:
    """No current connection: an earlier test in this process may have left one behind."""
    from flowodm.kafka.connection import disconnect

    disconnect(0)
    yield
