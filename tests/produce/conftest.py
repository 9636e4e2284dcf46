"""Fixtures shared by the fault tests."""

from __future__ import annotations

import pytest

from flowodm.kafka.connection import Connection


@pytest.fixture
def conn(flowodm_connection: Connection) -> Connection:
    """``flowodm.testing``'s own connection to the sandbox (not the current one), closed after."""
    return flowodm_connection
