"""A fixture running a test with the process in a non-UTC local time zone (TZ + tzset)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest


@pytest.fixture(params=["Asia/Kolkata", "America/New_York"])
def local_tz(request: pytest.FixtureRequest) -> Iterator[str]:
    """Switch the process's local time zone (TZ + tzset) so local-time bugs show up."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    assert time.timezone != 0, "the time zone switch did not take effect"
    try:
        yield request.param
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
