"""Ctrl-C while consuming: always a ``KeyboardInterrupt``, with what was processed or read.

The producing side's rule (``flowodm.produce.interrupt``), for consumers:

- **Topic reads** (``TopicReader``: ``read_topic``, ``read_messages``, ``flowodm consume``)
  defer the first SIGINT (``DeferredSigint``): the read stops between two fetches, so what
  was decoded and the offsets reached agree, and the caller raises ``ReadInterrupted`` with
  the partial result and its ``ReadReport``. A second Ctrl-C interrupts at once.
- **Group consumers** (the model-level ``consume_*`` calls, ``ConsumerLoop.run()``) close the
  consumer, committing the offsets of what was processed, and raise ``ConsumeInterrupted``.

confluent-kafka can turn a SIGINT that arrives inside one of its C calls into a
``SystemError`` chained to the ``KeyboardInterrupt``; ``interrupt_of`` (shared with the
producing side) finds it, so callers only ever see a ``KeyboardInterrupt``.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any, Self

from flowodm.produce.interrupt import interrupt_of

if TYPE_CHECKING:
    from flowodm.consume.loops import LoopStats
    from flowodm.consume.read_report import ReadReport

__all__ = [
    "ConsumeInterrupted",
    "DeferredSigint",
    "ReadInterrupted",
    "interrupt_of",
    "loop_interrupted",
]


class ReadInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a topic read between two fetches; nothing read is lost.

    Attributes:
        report: The read's ``ReadReport`` (``stopped="interrupted"``); its ``partitions``
            give each partition's ``next`` offset, where a new read resumes
            (``start={p.partition: p.next for p in report.partitions}``).
        partial: What was read up to there: the DataFrame (``read_topic``) or the
            ``ReadResult`` (``read_messages``), exactly the messages below those offsets.
    """

    def __init__(self, message: str = "", *, report: ReadReport, partial: Any = None) -> None:
        super().__init__(message)
        self.report = report
        self.partial = partial

    def __reduce__(self) -> tuple[Any, ...]:
        # KeyboardInterrupt pickles as cls(*args): carry the attributes (and notes) as state.
        return (_restore, (type(self), self.args), self.__dict__)


class ConsumeInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a group consumer, which was then closed.

    The offsets of the messages processed before the interrupt are committed; the others
    (the one being handled, those fetched but not handed out) come again to the group.

    Attributes:
        group_id: The consumer group.
        topic: The topic.
        stats: The loop's ``LoopStats`` (``ConsumerLoop.run()``); ``None`` for the
            model-level calls.
    """

    def __init__(
        self,
        message: str = "",
        *,
        group_id: str | None = None,
        topic: str | None = None,
        stats: LoopStats | None = None,
    ) -> None:
        super().__init__(message)
        self.group_id = group_id
        self.topic = topic
        self.stats = stats

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args), self.__dict__)


def _restore(cls: type[KeyboardInterrupt], args: tuple[Any, ...]) -> KeyboardInterrupt:
    """Rebuild an interrupt without its keyword-only ``__init__`` (pickle sets the state)."""
    error = cls.__new__(cls, *args)
    error.args = args
    return error


def loop_interrupted(loop: str, group_id: str, topic: str, stats: LoopStats) -> ConsumeInterrupted:
    """The ``ConsumeInterrupted`` that ends a loop's ``run()`` (its consumer already closed)."""
    error = ConsumeInterrupted(
        f"{loop} of group {group_id!r} was interrupted after {stats.processed} message(s) "
        f"processed, {stats.failed} failure(s) handled",
        group_id=group_id,
        topic=topic,
        stats=stats,
    )
    error.add_note(
        f"The consumer is closed and the processed messages were committed as it closed (a "
        f"failed commit is logged as a warning; those messages then come again): run the loop "
        f"again (group {group_id!r}) to resume after them."
    )
    return error


class DeferredSigint:
    """While active, the first SIGINT only sets ``hit``; the caller stops at a safe point.

    Installed only on the main thread and only over Python's default handler (a handler the
    application installed itself is left alone). The first SIGINT puts the default handler
    back, so a second Ctrl-C raises ``KeyboardInterrupt`` at once, wherever it lands.
    """

    def __init__(self) -> None:
        self.hit = False
        self._installed = False

    def __enter__(self) -> Self:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore()

    def restore(self) -> None:
        """Put the default handler back (safe to call twice)."""
        if self._installed:
            self._installed = False
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.hit = True
        self.restore()
