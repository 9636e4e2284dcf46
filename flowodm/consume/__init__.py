"""Reading from Kafka: models out of topics, consumer loops for services, settings profiles.

The mirror of ``flowodm.produce``, on the same client layer (``flowodm.kafka``):

- ``ModelConsumer`` (``Model.consumer()``): a group member handing out ``ConsumedMessage``s,
  at-least-once by default (``consumer.py``); the model-level ``consume_*`` calls share one
  per group (``api.py``).
- ``ConsumerLoop`` / ``AsyncConsumerLoop``: a handler over a topic with retries, an error
  handler and a dead-letter topic (``loops.py``).
- Profiles with upstream's names and numbers (``profiles.py``).
- ``read_messages``: a topic as it is now, without a group, with a ``ReadReport``
  (``reading.py``, ``reader.py``); ``flowodm.read_topic`` builds a DataFrame on the same reader.
- Decoding by the writer's schema id, chunked validation (``decoding.py``), offsets that may be
  committed (``offsets.py``), consumer settings (``client.py``).
"""

import typing as _typing

from flowodm._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from flowodm.consume.consumer import CommitStrategy, ModelConsumer
    from flowodm.consume.loops import (
        AsyncConsumerLoop,
        ConsumerLoop,
        LoopStats,
        async_consumer_loop,
        consumer_loop,
    )
    from flowodm.consume.message import ConsumedMessage
    from flowodm.consume.profiles import (
        BaseSettings,
        BatchSettings,
        ConsumerProfile,
        HighThroughputSettings,
        LongRunningSettings,
        RealTimeSettings,
        ReliableSettings,
    )
    from flowodm.consume.read_report import (
        PartitionRange,
        ReadFailure,
        ReadReport,
        TopicReadError,
    )
    from flowodm.consume.reading import ReadResult, read_messages

_PROFILES = (
    "BaseSettings",
    "BatchSettings",
    "ConsumerProfile",
    "HighThroughputSettings",
    "LongRunningSettings",
    "RealTimeSettings",
    "ReliableSettings",
)
_LOOPS = ("AsyncConsumerLoop", "ConsumerLoop", "LoopStats", "async_consumer_loop", "consumer_loop")

_EXPORTS = {
    **dict.fromkeys(_PROFILES, "flowodm.consume.profiles"),
    **dict.fromkeys(_LOOPS, "flowodm.consume.loops"),
    "CommitStrategy": "flowodm.consume.consumer",
    "ModelConsumer": "flowodm.consume.consumer",
    "ConsumedMessage": "flowodm.consume.message",
    **dict.fromkeys(
        ("PartitionRange", "ReadFailure", "ReadReport", "TopicReadError"),
        "flowodm.consume.read_report",
    ),
    **dict.fromkeys(("ReadResult", "read_messages"), "flowodm.consume.reading"),
}

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _attach(__name__, _EXPORTS, ())

__all__ = [
    "AsyncConsumerLoop",
    "BaseSettings",
    "BatchSettings",
    "CommitStrategy",
    "ConsumedMessage",
    "ConsumerLoop",
    "ConsumerProfile",
    "HighThroughputSettings",
    "LongRunningSettings",
    "LoopStats",
    "ModelConsumer",
    "PartitionRange",
    "ReadFailure",
    "ReadReport",
    "ReadResult",
    "RealTimeSettings",
    "ReliableSettings",
    "TopicReadError",
    "async_consumer_loop",
    "consumer_loop",
    "read_messages",
]
