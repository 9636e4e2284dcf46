"""``read_messages``: a topic as it is now, as ``ConsumedMessage``s, with a ``ReadReport``.

What is read, in which order and when the read stops is ``TopicReader``'s (``consume.reader``);
values are decoded and validated as the model a chunk at a time (``consume.decoding``), like
``consume_iter`` does. Tombstones are returned (``value=None``); a message that fails to decode
is listed in the report, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from flowodm._arguments import require_choice
from flowodm.consume.decoding import MessageDecoder
from flowodm.consume.message import ConsumedMessage
from flowodm.consume.read_report import (
    ReadFailure,
    ReadReport,
    TopicReadError,
    interrupted_read,
)
from flowodm.consume.reader import OnError, Start, TopicReader
from flowodm.kafka.connection import get_connection
from flowodm.serde.model_codec import get_model_codec
from flowodm.settings import display_name

if TYPE_CHECKING:
    from flowodm.kafka.connection import Connection
    from flowodm.progress import ProgressOption

__all__ = ["ReadResult", "read_messages"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ReadResult(Generic[M]):
    """The messages a read returned, in partition then offset order, and its report.

    Iterating (and ``len``) goes over ``messages``. Tombstones are included, with
    ``value=None``; messages that failed to decode are not (they are in ``report.failures``).
    """

    messages: list[ConsumedMessage[M]]
    report: ReadReport

    def __iter__(self) -> Iterator[ConsumedMessage[M]]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    @property
    def values(self) -> list[M]:
        """The models of the messages that are not tombstones, in order."""
        return [m.value for m in self.messages if m.value is not None]


def read_messages(
    model: type[M],
    *,
    start: Start = "earliest",
    max_messages: int | None = None,
    timeout: float | None = None,
    follow: bool = False,
    topic: str | None = None,
    connection: Connection | None = None,
    consumer_config: Mapping[str, Any] | None = None,
    on_error: OnError = "raise",
    progress: ProgressOption = False,
) -> ReadResult[M]:
    """Read the model's topic as it is now (see the module docstring) into ``ConsumedMessage``s.

    Args:
        model: The ``FlowBaseModel`` subclass to decode into.
        start: ``"earliest"`` (default), ``"latest"`` (with ``follow``), a ``datetime`` or
            ``{partition: offset}``.
        max_messages: Stop after this many messages (the first ones in partition, offset order).
        timeout: Stop after this many seconds overall; the report says it stopped early.
        follow: Read past the end offsets until ``max_messages`` or ``timeout``.
        topic: Read this topic instead of the model's ``Settings.topic``.
        connection: The connection (default: the current one).
        consumer_config: librdkafka properties for this read.
        on_error: ``"raise"`` (default): ``TopicReadError`` when a message fails to decode,
            with the report and the other messages; ``"report"``: return them, the failures
            listed in ``result.report``.
        progress: A progress bar counting messages read (default: none).

    Raises:
        TopicReadError: a message failed to decode and ``on_error="raise"``.
        ReadInterrupted: Ctrl-C (a ``KeyboardInterrupt``), with ``.report`` and ``.partial``.
        ConsumerError: the topic or a named partition does not exist, or the broker failed.
        SchemaRegistryError: a writer's schema could not be fetched.
        InvalidArgumentError / ArgumentTypeError: a bad argument (named).
    """
    require_choice("on_error", on_error, ("raise", "report"))
    conn = connection if connection is not None else get_connection()
    codec = get_model_codec(model, conn, topic=topic)
    decoder = MessageDecoder(codec)
    reader = TopicReader(
        conn,
        codec.topic,
        start=start,
        max_messages=max_messages,
        timeout=timeout,
        follow=follow,
        consumer_config=consumer_config,
        progress=progress,
    )
    per_partition: dict[int, list[ConsumedMessage[M]]] = {}
    failures: list[ReadFailure] = []
    with reader:
        for batch in reader.batches():
            for partition, messages in batch.items():
                kept = per_partition.setdefault(partition, [])
                for item in decoder.decode(messages):
                    if isinstance(item, ConsumedMessage):
                        kept.append(item)
                    else:
                        failures.append(ReadFailure.of(item))
    ordered = [m for p in sorted(per_partition) for m in per_partition[p]]
    report = reader.report(
        display_name(model),
        returned=len(ordered),
        failures=failures,
        tombstones=sum(1 for m in ordered if m.value is None),
    )
    result = ReadResult(ordered, report)
    if report.stopped == "interrupted":
        raise interrupted_read(report, result)
    if failures and on_error == "raise":
        raise TopicReadError(report, result)
    return result
