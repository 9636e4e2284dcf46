"""A sandbox connection's group consumers join Tansu in seconds, not half of librdkafka's 45 s.

Before, a first ``Model.consume_one(timeout=10)`` through ``sandbox.connect()`` returned
``None``: Tansu held the group join for about half the session timeout (22 s).
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from flowodm.kafka.config import build_config
from flowodm.kafka.connection import disconnect
from flowodm.model import FlowBaseModel
from flowodm.sandbox import Sandbox
from flowodm.sandbox.api import SANDBOX_CONSUMER_CONFIG
from flowodm.testing import TopicFactory

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("no_current_connection")
def test_a_first_consume_one_through_sandbox_connect_gets_the_message(
    sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    name = make_topic()

    class Ping(FlowBaseModel):
        class Settings:
            topic = name
            consumer_group = f"ping-{uuid.uuid4().hex[:8]}"

        n: int

    connection = sandbox.connect(consumer_config={"client.id": "mine"})
    try:
        assert connection.config.consumer_config == {**SANDBOX_CONSUMER_CONFIG, "client.id": "mine"}
        Ping(n=1).produce(connection=connection)
        started = time.monotonic()
        got = Ping.consume_one(timeout=10, connection=connection)
        assert got == Ping(n=1), f"nothing after {time.monotonic() - started:.1f} s"
    finally:
        disconnect(0)


def test_the_sandbox_environment_carries_the_same_consumer_settings(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    config = build_config()
    assert config.consumer_config == SANDBOX_CONSUMER_CONFIG
    assert json.loads(sandbox.env()["FLOWODM_CONSUMER_CONFIG"]) == SANDBOX_CONSUMER_CONFIG
