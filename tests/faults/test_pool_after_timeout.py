"""A producer whose messages may have been written is not handed to the next bulk send.

Tansu fences an idempotent producer after a timeout in flight: before the fix, the pool gave
that producer to the next ``produce_many``/``df.flowodm.produce`` on the connection, whose first
message then failed with ``PRODUCER_FENCED`` once the outage had healed.
"""

from __future__ import annotations

import pytest

from flowodm.kafka.connection import Connection
from flowodm.kafka.pool import POOL
from flowodm.produce.bulk import BulkSender
from flowodm.testing import CLOSE_TIMEOUT
from tests.faults import test_fault_suite as suite
from tests.faults.proxy import FaultProxy

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(60)]

# The fault suite's proxy and private broker, shared by this module's one test.
stack = suite.stack
proxy_reset = suite.proxy_reset


def test_a_producer_whose_messages_may_have_been_written_is_not_pooled(
    stack: suite.Stack, proxy_reset: FaultProxy
) -> None:
    topic = stack.new_topic()
    connection: Connection = suite._connection(stack.broker.bootstrap)
    try:
        healthy: BulkSender[int] = BulkSender(connection, topic, timeout=2, stall_timeout=30)
        used = healthy.producer
        healthy.send(b"before", None, 0)
        assert healthy.close().delivered == 1

        proxy_reset.drop_replies()  # requests arrive, answers are lost: "may have been written"
        lossy: BulkSender[int] = BulkSender(connection, topic, timeout=2, stall_timeout=30)
        assert lossy.producer is used  # the pool handed the clean producer on
        lossy.send(b"during", None, 1)
        result = lossy.close()
        assert [f.maybe_written for f in result.failed] == [True]
        proxy_reset.pass_through()

        after: BulkSender[int] = BulkSender(connection, topic, timeout=2, stall_timeout=30)
        assert after.producer is not used  # not the producer whose message timed out
        after.send(b"after", None, 2)
        assert after.close().delivered == 1  # and the next send is not fenced
    finally:
        connection.close(CLOSE_TIMEOUT)
        POOL.discard(connection)
