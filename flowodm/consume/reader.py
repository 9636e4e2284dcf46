"""``TopicReader``: read a topic as it is now, without a consumer group, never committing.

**Snapshot.** When a read starts, the reader takes the end offset of every partition it reads
(``get_watermark_offsets``), then reads each partition from its start offset up to that end:
the topic "as of now". Messages produced once the end offsets are taken are not returned, so a
read of a busy topic ends. ``follow=True`` reads on past the ends instead, until
``max_messages`` or ``timeout``.

**Tansu's watermarks.** The sandbox broker answers ListOffsets with the base offset of a
partition's last record batch plus one, so the high watermark it reports can be short of the
real end by almost a whole batch; Fetch responses carry the right one. The reader therefore
checks every end before reading anything: it assigns each partition at the reported end and
takes the high watermark of the first fetch response there (librdkafka caches it before any
message reaches the application) when it is higher. Proven by the tests that count what a read
returns against what was produced. Against Apache Kafka the check changes nothing (ListOffsets
is exact) and costs one fetch round trip (``fetch.wait.max.ms``, 10 ms for readers).

**Start.** ``"earliest"`` (the oldest retained offset), ``"latest"`` (the end: only with
``follow=True``), an aware ``datetime`` (naive means UTC): per partition the first message whose
timestamp is at or after it (``offsets_for_times``, then checked message by message, because
Tansu answers per record batch and says 0 for a time after the last message), or
``{partition: offset}``, which reads only those partitions (offsets before the oldest retained
one start there; offsets past the end read nothing).

**Stops.** A partition is done at its end offset, or when the broker says it has no more
(partition EOF: e.g. ``read_committed`` stops at an open transaction). The read is done when
every partition is, after ``max_messages`` messages, or when ``timeout`` seconds (overall, set-up
included) have passed; the report says which. With ``max_messages`` the messages are the first
ones in the documented order: partitions are read in order, each to its end, until the count is
reached (with ``follow=True`` they are the first to arrive).

**Order.** Messages come back sorted by partition, then offset (offsets are in order within a
partition; there is no order across partitions to keep).

**Never commits.** The reader has a private ``group.id`` (librdkafka needs one), assigns
partitions itself and commits nothing, so reading moves no group's offsets and joins no group.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, Self, TypeAlias

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from flowodm._arguments import positive_count, positive_seconds
from flowodm.consume.client import reader_consumer
from flowodm.consume.interrupts import DeferredSigint
from flowodm.consume.read_report import (
    PartitionRange,
    ReadFailure,
    ReadReport,
    Stop,
)
from flowodm.consume.read_start import Start, check_start, partition_offsets
from flowodm.exceptions import ArgumentTypeError, ConsumerError, InvalidArgumentError
from flowodm.progress import ProgressBar, ProgressOption, open_bar, progress_factory

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message

    from flowodm.kafka.connection import Connection

__all__ = [
    "DEFAULT_BATCH",
    "OnError",
    "Start",
    "TopicReader",
]

OnError = Literal["raise", "report"]
Batch: TypeAlias = "dict[int, list[Message]]"

#: Messages asked of ``Consumer.consume()`` at once (fewer when fewer are left to read).
DEFAULT_BATCH = 1000
#: Longest single wait: how soon a timeout or Ctrl-C takes effect.
SLICE = 0.1
#: Limit of each set-up step (metadata, offsets, the end check) when no ``timeout`` is shorter.
SETUP_TIMEOUT = 30.0
#: A bounded read in which no message arrives for this long fails (the broker is gone).
STALL_TIMEOUT = 60.0
# Reader defaults a connection's consumer_config may override: resume at the oldest offset if
# retention deleted the one being read; answer a fetch at a partition's end quickly; connect
# when the client is made (with sparse connections the first metadata request of a fresh client
# waited about 50 ms on every other read, half the time of a 100k-message read).
_READER_DEFAULTS = {
    "auto.offset.reset": "earliest",
    "fetch.wait.max.ms": 10,
    "enable.sparse.connections": False,
}
_EOF = KafkaError._PARTITION_EOF
_FATAL_CODES = (
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
)
_NO_END = 1 << 63  # the stop offset of a followed partition
_PROBE_PAUSE = 0.002  # between looks at the cached watermarks while checking the ends


class TopicReader:
    """Read the messages of one topic in ranges fixed when ``open()`` runs (module docstring).

    Arguments are checked when the reader is made, before anything connects. ``batches()``
    yields the raw messages of each fetch, grouped by partition, in offset order within each.

    Args:
        connection: The connection to read through.
        topic: The topic.
        start: ``"earliest"``, ``"latest"``, a ``datetime`` or ``{partition: offset}``.
        max_messages: Stop after this many messages.
        timeout: Stop after this many seconds overall (set-up included).
        follow: Read past the end offsets (needs ``max_messages`` or ``timeout``).
        consumer_config: librdkafka properties for this reader (``group.id`` and commits stay
            FlowODM's).
        progress: A progress bar choice (``flowodm.progress``), counting messages read.
        batch_size: Messages asked of ``consume()`` at once.
        until: ``{partition: end offset}`` (exclusive): read only these partitions, each up to
            this end instead of the one ``open()`` would take, e.g. a range of a snapshot taken
            earlier (``flowodm.dask.read_topic`` splits one this way). A ``{partition: offset}``
            start must name the same partitions; not with ``follow``.

    Raises:
        InvalidArgumentError / ArgumentTypeError: a bad argument (named).
        ConfigurationError: ``progress`` needs a missing extra.
    """

    def __init__(
        self,
        connection: Connection,
        topic: str,
        *,
        start: Start = "earliest",
        max_messages: int | None = None,
        timeout: float | None = None,
        follow: bool = False,
        consumer_config: Mapping[str, Any] | None = None,
        progress: ProgressOption = False,
        batch_size: int = DEFAULT_BATCH,
        until: Mapping[int, int] | None = None,
    ) -> None:
        self._start = check_start(start)
        self._until = None if until is None else _check_until(until, self._start, follow)
        self._limit = None if max_messages is None else positive_count("max_messages", max_messages)
        self._timeout = None if timeout is None else positive_seconds("timeout", timeout)
        self._batch = positive_count("batch_size", batch_size, "messages")
        if not isinstance(follow, bool):
            raise ArgumentTypeError(
                f"follow must be True or False, not {follow!r}", argument="follow"
            )
        if follow and self._limit is None and self._timeout is None:
            raise InvalidArgumentError(
                "follow=True reads until max_messages or timeout; pass at least one of them",
                argument="follow",
            )
        if self._start == "latest" and not follow:
            raise InvalidArgumentError(
                "start='latest' reads nothing: a read stops at the end offsets taken when it "
                "starts; pass follow=True (with max_messages= or timeout=) to wait for new "
                "messages",
                argument="start",
            )
        self._bar_factory = progress_factory(progress)
        self.follow = follow
        self.topic = topic
        self._connection = connection
        user = connection.consumer_settings()
        self._config = {
            **{k: v for k, v in _READER_DEFAULTS.items() if k not in user},
            **(consumer_config or {}),
        }
        self._consumer: Consumer | None = None
        self._bar: ProgressBar | None = None
        self._began = self._ended = 0.0
        self._deadline: float | None = None
        self._first: dict[int, int] = {}  # start offset per partition
        self._pos: dict[int, int] = {}  # next offset to read
        self._end: dict[int, int] = {}  # end offset (exclusive) per partition
        self._after_ms: int | None = None  # a datetime start: skip messages before it
        self._followed = False
        self.read = 0
        self.stopped: Stop | None = None
        self.total: int | None = None
        self._sigint = DeferredSigint()  # Ctrl-C stops between fetches (consume.interrupts)

    # ------------------------------------------------------------------ set-up

    def open(self) -> None:
        """Take the end offsets, resolve the start offsets and open the progress bar.

        Raises:
            ConsumerError: the topic does not exist, a named partition does not exist, or the
                broker does not answer within the set-up limit.
            ConfigurationError: a bad consumer setting (named as written).
        """
        self._began = time.monotonic()
        if self._timeout is not None:
            self._deadline = self._began + self._timeout
        consumer = self._consumer = reader_consumer(self._connection, self._config)
        partitions = self._partitions(consumer)
        lows: dict[int, int] = {}
        for partition in partitions:
            lows[partition], self._end[partition] = self._watermarks(consumer, partition)
        if self._until is None:
            self._check_ends(consumer)
        else:  # ends fixed by the caller, maybe above Tansu's short watermarks: not checked
            self._end.update(self._until)
        start = self._start
        if isinstance(start, int):
            self._after_ms = start
            first = self._offsets_for_time(consumer, start)
        elif isinstance(start, dict):
            first = start
        else:
            first = lows if start == "earliest" else self._end
        for partition in partitions:
            offset = min(
                max(first.get(partition, lows[partition]), lows[partition]), self._end[partition]
            )
            self._first[partition] = self._pos[partition] = offset
        if not self.follow:
            left = sum(self._end[p] - self._pos[p] for p in partitions)
            self.total = left if self._limit is None else min(left, self._limit)
        else:
            self.total = self._limit
        self._bar = open_bar(self._bar_factory, total=self.total, desc=self.topic, unit="msg")

    def _setup_wait(self) -> float:
        if self._deadline is None:
            return SETUP_TIMEOUT
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise ConsumerError(
                f"timeout: reading {self.topic!r} could not start within {self._timeout} s "
                "(the broker did not answer the set-up requests in time)"
            )
        return min(left, SETUP_TIMEOUT)

    def _partitions(self, consumer: Consumer) -> list[int]:
        try:
            metadata = consumer.list_topics(self.topic, timeout=self._setup_wait())
        except KafkaException as exc:
            raise ConsumerError(f"cannot read the metadata of {self.topic!r}: {exc}") from exc
        found = metadata.topics.get(self.topic)
        if found is None or found.error is not None or not found.partitions:
            why = "it does not exist" if found is None or found.error is None else found.error
            raise ConsumerError(f"cannot read topic {self.topic!r}: {why}")
        existing = sorted(found.partitions)
        named, argument = (self._start, "start") if self._until is None else (self._until, "until")
        if isinstance(named, dict):
            unknown = sorted(set(named) - set(existing))
            if unknown:
                raise InvalidArgumentError(
                    f"{argument} names partition(s) {unknown} of {self.topic!r}, which has "
                    f"partitions {existing}",
                    argument=argument,
                )
            return sorted(named)
        return existing

    def _watermarks(self, consumer: Consumer, partition: int) -> tuple[int, int]:
        tp = TopicPartition(self.topic, partition)
        try:
            found = consumer.get_watermark_offsets(tp, timeout=self._setup_wait(), cached=False)
        except KafkaException as exc:
            raise ConsumerError(
                f"cannot read the offsets of {self.topic}[{partition}]: {exc}"
            ) from exc
        if found is None:
            raise ConsumerError(
                f"the broker did not report the offsets of {self.topic}[{partition}]"
            )
        low, high = found
        return int(low), int(high)

    def _check_ends(self, consumer: Consumer) -> None:
        """Raise each end to the high watermark of a fetch there (see the module docstring).

        The first fetch response of a partition sets librdkafka's cached watermarks before any
        message reaches the application, so they are polled, not the messages consumed.
        """
        pending = set(self._end)
        consumer.assign([TopicPartition(self.topic, p, self._end[p]) for p in sorted(pending)])
        limit = time.monotonic() + self._setup_wait()
        while pending:
            for partition in sorted(pending):
                found = consumer.get_watermark_offsets(
                    TopicPartition(self.topic, partition), cached=True
                )
                if found is not None and found[1] >= 0:
                    self._end[partition] = max(self._end[partition], int(found[1]))
                    pending.discard(partition)
            if not pending:
                break
            if time.monotonic() > limit:
                raise ConsumerError(
                    f"no fetch answer for {self.topic} partition(s) {sorted(pending)} within "
                    "the set-up limit; is the broker reachable?"
                )
            time.sleep(_PROBE_PAUSE)
        consumer.unassign()

    def _offsets_for_time(self, consumer: Consumer, millis: int) -> dict[int, int]:
        asked = [TopicPartition(self.topic, p, millis) for p in sorted(self._end)]
        try:
            found = consumer.offsets_for_times(asked, timeout=self._setup_wait())
        except KafkaException as exc:
            raise ConsumerError(f"cannot look up offsets by time in {self.topic!r}: {exc}") from exc
        # -1: no message at or after that time, so nothing to read in that partition.
        return {
            tp.partition: (tp.offset if tp.offset >= 0 else self._end[tp.partition]) for tp in found
        }

    def _fail_on(self, error: KafkaError, partition: int | None) -> None:
        where = f"{self.topic}[{partition}]"
        if error.fatal() or error.code() in _FATAL_CODES:
            raise ConsumerError(f"reading {where} failed: {error.name()}: {error.str()}")
        # Anything else is transient; librdkafka retries it.

    # ------------------------------------------------------------------ reading

    def batches(self) -> Iterator[Batch]:
        """Yield the messages read, a fetch at a time: ``{partition: [messages, by offset]}``.

        Raises:
            ConsumerError: the topic or a partition went away, access was refused, or nothing
                arrived for ``STALL_TIMEOUT`` seconds while messages were left to read.
        """
        consumer = self._consumer
        if consumer is None:
            raise ConsumerError("TopicReader.open() was not called")
        try:
            while True:
                stops = self._plan()
                if not stops:
                    break
                consumer.assign([TopicPartition(self.topic, p, self._pos[p]) for p in stops])
                yield from self._round(consumer, stops)
                if self.stopped is not None:
                    break
            # Ctrl-C while the caller handled the last fetch: the read is complete, and says so.
            if self._sigint.hit and self.stopped is None:
                self.stopped = "interrupted"
        finally:
            self._ended = time.monotonic()

    def _plan(self) -> dict[int, int]:
        """Stop offset of each partition to read next (module docstring, ``max_messages``)."""
        if self.stopped is not None:
            return {}
        if self.follow:  # one round: every partition, until max_messages or timeout
            if self._followed:
                return {}
            self._followed = True
            return dict.fromkeys(self._pos, _NO_END)
        budget = None if self._limit is None else self._limit - self.read
        stops: dict[int, int] = {}
        for partition in sorted(self._pos):
            if budget is not None and budget <= 0:
                break
            left = self._end[partition] - self._pos[partition]
            if left <= 0:
                continue
            take = left if budget is None else min(left, budget)
            stops[partition] = self._pos[partition] + take
            if budget is not None:
                budget -= take
        if (
            not stops
            and budget is not None
            and budget <= 0
            and any(self._end[p] > self._pos[p] for p in self._pos)
        ):
            self.stopped = "max_messages"
        return stops

    def _round(self, consumer: Consumer, stops: dict[int, int]) -> Iterator[Batch]:
        """Read the partitions of ``stops`` up to their stop offsets (one ``_plan()``).

        Each fetch is split into runs per partition (``_split``); offsets are in order within a
        run, so only a run that reaches its stop offset (or a datetime start
        or ``max_messages``) is looked at message by message.
        """
        active = set(stops)
        pos, limit, bar = self._pos, self._limit, self._bar
        skipping = set(active) if self._after_ms is not None else set()
        last_seen = time.monotonic()
        while active:
            now = time.monotonic()
            wait = SLICE if self._deadline is None else min(SLICE, self._deadline - now)
            if wait <= 0:
                self.stopped = "timeout"
                return
            if self._sigint.hit:
                self.stopped = "interrupted"
                return
            want = self._batch
            if not self.follow:
                want = max(1, min(want, sum(stops[p] - pos[p] for p in active)))
            elif limit is not None:
                want = min(want, limit - self.read)
            fetched = consumer.consume(num_messages=want, timeout=wait)
            if not fetched:
                if not self.follow and now - last_seen > STALL_TIMEOUT:
                    raise ConsumerError(
                        f"no message from {self.topic} partition(s) {sorted(active)} for "
                        f"{STALL_TIMEOUT:.0f} s although they have messages left to read"
                    )
                continue
            last_seen = now
            runs, events = _split(fetched)
            before = sum(pos[p] for p in active)
            batch: Batch = {}
            done: list[int] = []
            for partition, run in runs.items():
                if partition not in active:
                    continue  # fetched before its partition was done
                stop = stops[partition]
                last: int = run[-1].offset()  # type: ignore[assignment]
                if last + 1 >= stop or partition in skipping or (self.follow and limit is not None):
                    run = self._trim(run, partition, stop, skipping)
                    if pos[partition] >= stop:
                        done.append(partition)
                else:
                    pos[partition] = last + 1
                if run:
                    batch[partition] = run
                    self.read += len(run)
            for event in events:
                self._event(event, active, stops, done)
            advanced = sum(pos[p] for p in active) - before
            active.difference_update(done)
            if limit is not None and self.read >= limit:
                active.clear()
                self.stopped = "max_messages" if self._more_left() else None
            elif done and active:
                consumer.pause([TopicPartition(self.topic, p) for p in done])
            if bar is not None and advanced:
                bar.update(advanced)
            if batch:
                yield batch

    def _trim(
        self, run: list[Message], partition: int, stop: int, skipping: set[int]
    ) -> list[Message]:
        """The messages of ``run`` to keep, one by one (stop offset, datetime, max_messages)."""
        kept: list[Message] = []
        left = None if self._limit is None else self._limit - self.read
        after = self._after_ms
        for message in run:
            offset: int = message.offset()  # type: ignore[assignment]
            if offset >= stop or (left is not None and len(kept) >= left):
                self._pos[partition] = stop if offset >= stop else self._pos[partition]
                break
            self._pos[partition] = offset + 1
            if partition in skipping:
                if message.timestamp()[1] < after:  # type: ignore[operator]
                    continue
                skipping.discard(partition)
            kept.append(message)
        return kept

    def _event(
        self, event: Message, active: set[int], stops: dict[int, int], done: list[int]
    ) -> None:
        """Handle an error event: partition EOF ends a partition, fatal errors raise."""
        error: Any = event.error()
        partition: Any = event.partition()
        if error.code() != _EOF:
            self._fail_on(error, partition)
            return
        if partition not in active or self.follow:
            return
        # Nothing more to read there now (e.g. read_committed at an open transaction).
        reached = max(self._pos[partition], int(event.offset() or 0))
        self._pos[partition] = min(reached, stops[partition])
        self._end[partition] = max(self._pos[partition], min(self._end[partition], reached))
        done.append(partition)

    def _more_left(self) -> bool:
        return self.follow or any(self._end[p] > self._pos[p] for p in self._pos)

    # ------------------------------------------------------------------ results

    def ranges(self) -> tuple[PartitionRange, ...]:
        """What was read of each partition, in partition order."""
        return tuple(
            PartitionRange(p, self._first[p], None if self.follow else self._end[p], self._pos[p])
            for p in sorted(self._first)
        )

    @property
    def elapsed(self) -> float:
        """Seconds from ``open()`` to the end of reading (or to now, while reading)."""
        if not self._began:
            return 0.0
        return (self._ended or time.monotonic()) - self._began

    def report(
        self,
        model: str,
        *,
        returned: int,
        failures: list[ReadFailure],
        tombstones: int,
        columnar: int = 0,
    ) -> ReadReport:
        """The ``ReadReport`` of this read, with the decoding results of the caller."""
        failures.sort(key=lambda f: (f.partition, f.offset))
        return ReadReport(
            model=model,
            topic=self.topic,
            read=self.read,
            returned=returned,
            failures=tuple(failures),
            tombstones=tombstones,
            partitions=self.ranges(),
            stopped=self.stopped,
            elapsed=self.elapsed,
            columnar=columnar,
        )

    def close(self) -> None:
        """Close the bar and the consumer (which commits nothing); safe to call twice."""
        self._sigint.restore()
        bar, self._bar = self._bar, None
        if bar is not None:
            if self.stopped is None and self.total is not None:
                # Offsets without a message (compaction, transaction markers) still count.
                bar_any: Any = bar
                bar_any.total = bar.n
            bar.close()
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.close()

    def __enter__(self) -> Self:
        self._sigint.__enter__()  # before open(): its set-up can take seconds
        try:
            self.open()
        except BaseException:
            self.close()  # the consumer open() made must not be left to the garbage collector
            raise
        if self._sigint.hit:  # Ctrl-C during set-up: nothing was read
            self.close()
            raise KeyboardInterrupt
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        # A Ctrl-C after the last fetch (while the caller built its result) is never swallowed.
        swallowed = self._sigint.hit and self.stopped != "interrupted"
        self.close()
        if swallowed and exc_type is None:
            raise KeyboardInterrupt


def _split(fetched: list[Message]) -> tuple[Batch, list[Message]]:
    """The messages of a fetch per partition (in fetch order), and the error events among them.

    A fetch is mostly one partition's messages: a few comprehensions instead of a loop with a
    dictionary lookup and an append per message.
    """
    events = [message for message in fetched if message.error() is not None]
    good = [message for message in fetched if message.error() is None] if events else fetched
    partitions: list[Any] = [message.partition() for message in good]
    if not partitions:
        return {}, events
    first = partitions[0]
    if partitions.count(first) == len(partitions):
        return {first: good}, events
    runs = {
        partition: [message for message, p in zip(good, partitions, strict=True) if p == partition]
        for partition in dict.fromkeys(partitions)
    }
    return runs, events


def _check_until(until: object, start: object, follow: bool) -> dict[int, int]:
    """``until`` checked like a ``{partition: offset}`` start (``TopicReader``'s docstring)."""
    if follow:
        raise InvalidArgumentError(
            "until= fixes where each partition ends; follow=True reads past the ends: pass one "
            "of them",
            argument="until",
        )
    if not isinstance(until, Mapping):
        raise ArgumentTypeError(
            f"until maps partitions to end offsets, not {type(until).__name__}", argument="until"
        )
    ends = partition_offsets(until, "until")
    if isinstance(start, dict) and set(start) != set(ends):
        raise InvalidArgumentError(
            f"start names partition(s) {sorted(start)} but until names {sorted(ends)}; name the "
            "same partitions in both",
            argument="until",
        )
    return ends
