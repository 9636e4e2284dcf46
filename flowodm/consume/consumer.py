"""``ModelConsumer``: a consumer-group member that hands out decoded messages of one model.

Delivery semantics (``commit=``), which decide which offsets librdkafka may commit:

- ``"after_processing"`` (default, **at-least-once**): a message counts as processed when the
  caller fetches again (``one``/``batch``, or asks ``iter`` for the next message), calls
  ``commit()``, or leaves a ``with`` block without an exception. A crash before that re-delivers
  it; nothing handed out is lost.
- ``"before_processing"`` (**at-most-once**): a message counts as processed as soon as it is
  handed out; a crash while handling it loses it, a re-delivery never happens.
- ``"manual"``: only ``commit()`` / ``mark_processed()`` mark messages processed.

Processed offsets are stored in one ``store_offsets`` call per fetched batch (or once per
``auto.commit.interval.ms`` for slow handlers), and librdkafka commits them in the background,
when partitions are revoked (``on_revoke`` also stores and commits synchronously) and on
``close()``. There is no commit call per message.

A message that cannot be decoded is raised as ``DeserializationError`` with its coordinates
when its turn comes: messages before it are returned first, and it counts as handed out (so
carrying on after catching the error moves past it, while a crash re-delivers it).

Every blocking call waits in slices of at most 0.1 s; the async methods run them on one worker
thread per consumer, so the event loop never blocks and a cancelled call stops within a slice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar

from confluent_kafka import KafkaError, KafkaException
from pydantic import BaseModel

from flowodm._arguments import positive_count, positive_seconds, require_choice
from flowodm.consume.client import group_consumer, group_settings
from flowodm.consume.decoding import MessageDecoder
from flowodm.consume.message import ConsumedMessage, coordinates
from flowodm.consume.offsets import OffsetBook
from flowodm.exceptions import ConsumerError, DeserializationError, SettingsError
from flowodm.kafka.connection import get_connection
from flowodm.serde.model_codec import get_model_codec
from flowodm.settings import display_name, settings_of

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message, TopicPartition

    from flowodm.consume.profiles import ConsumerProfile
    from flowodm.kafka.connection import Connection

__all__ = ["COMMIT_STRATEGIES", "CommitStrategy", "ModelConsumer"]

logger = logging.getLogger("flowodm.consume")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
CommitStrategy = Literal["after_processing", "before_processing", "manual"]
COMMIT_STRATEGIES = ("after_processing", "before_processing", "manual")
Partition = tuple[str, int]
Item = ConsumedMessage[Any] | DeserializationError

#: Longest single wait inside a blocking call: how fast ``close()``, ``stop()`` and a
#: cancelled async call take effect.
SLICE = 0.1
DEFAULT_BATCH = 500
#: Messages an iterator decodes at once (see ``_iterate``).
ITER_CHUNK = 64
_CLOSED_TEXT = "this consumer is closed; make a new one (Model.consumer(...))"
#: How long a synchronous commit retries while the group coordinator is being looked up.
COMMIT_RETRY_TIMEOUT = 5.0
_COORDINATOR_CODES = (
    KafkaError._WAIT_COORD,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
)


class _Window:
    """Messages an iterator fetched and decoded, and how many of them it yielded so far."""

    __slots__ = ("items", "pos", "raws")

    def __init__(self, raws: list[Message], items: list[Any]) -> None:
        self.raws = raws
        self.items = items
        self.pos = 0


class ModelConsumer(Generic[M]):
    """Consume one model's topic in a consumer group; see the module docstring for commits.

    Args:
        model: The ``FlowBaseModel`` subclass to decode into.
        group_id: The consumer group (default: ``Settings.consumer_group``).
        topic: The topic (default: ``Settings.topic``).
        settings: A profile (``flowodm.LongRunningSettings()`` …) applied to the consumer.
        consumer_config: librdkafka properties for this consumer only (win over everything).
        commit: ``"after_processing"`` (at-least-once), ``"before_processing"`` (at-most-once)
            or ``"manual"``; by default at-least-once, unless ``settings`` is a profile with
            ``enable_auto_commit=True`` (``RealTimeSettings``…), which means at-most-once.
        connection: The connection (default: the current one).

    Raises:
        SettingsError: no group or no topic is configured.
        InvalidArgumentError: a bad ``commit`` value.
        ConfigurationError: a bad consumer setting (named as written).
    """

    def __init__(
        self,
        model: type[M],
        *,
        group_id: str | None = None,
        topic: str | None = None,
        settings: ConsumerProfile | None = None,
        consumer_config: Mapping[str, Any] | None = None,
        commit: CommitStrategy | None = None,
        connection: Connection | None = None,
        default_settings: ConsumerProfile | None = None,
    ) -> None:
        self.model = model
        name = display_name(model)
        model_settings = settings_of(model)
        profile = settings if settings is not None else default_settings
        if commit is None:
            # A profile that asks for commits on receipt (upstream's enable_auto_commit=True)
            # gets at-most-once; everything else at-least-once.
            on_receive = getattr(profile, "store_offsets", None) == "on_receive"
            commit = "before_processing" if on_receive else "after_processing"
        self.commit_strategy: CommitStrategy = require_choice(  # type: ignore[assignment]
            "commit", commit, COMMIT_STRATEGIES
        )
        group = group_id if group_id is not None else model_settings.consumer_group
        if not group:
            raise SettingsError(
                f"{name} has no consumer group: pass group_id=... or set consumer_group in "
                f"{name}.Settings (or use flowodm.read_topic({name}) to read without a group)"
            )
        self.group_id: str = group
        self._connection = connection if connection is not None else get_connection()
        self._codec = get_model_codec(model, self._connection, topic=topic)
        self.topic = self._codec.topic
        self._decoder = MessageDecoder(self._codec)
        self._settings = group_settings(
            self._connection,
            self.group_id,
            profile=profile,
            profile_is_default=settings is None,
            config=consumer_config,
        )
        self._batch_size = getattr(profile, "max_poll_records", None) or DEFAULT_BATCH
        interval_ms = float(self._settings.get("auto.commit.interval.ms", 1000))
        self._store_interval = interval_ms / 1000
        self._auto_commit = str(self._settings.get("enable.auto.commit")).lower() in ("true", "1")
        self._client: Consumer | None = None
        self._book: OffsetBook | None = None
        self._buffer: deque[Message] = deque()
        self._handed: dict[Partition, int] = {}  # handed out, not yet processed: next offsets
        # Guards the buffer and _handed, which async iterators touch from the event loop while
        # the worker thread fetches; never held while waiting on Kafka.
        self._state = threading.Lock()
        self._lock = threading.RLock()  # one caller at a time on the confluent consumer
        self._closed = False
        self._executor: ThreadPoolExecutor | None = None
        self._window: _Window | None = None  # what the current iterator is handing out
        self._connection.on_close(self.close)

    # ------------------------------------------------------------------ fetching

    def one(self, timeout: float = 1.0) -> ConsumedMessage[M] | None:
        """Return the next message, or ``None`` when none arrives within ``timeout`` seconds.

        Raises:
            DeserializationError: the next message cannot be decoded (with its coordinates).
            ConsumerError: Kafka reported an error (unknown topic, authorisation …).
        """
        found = self.batch(1, timeout=timeout)
        return found[0] if found else None

    def batch(self, n: int, timeout: float = 1.0) -> list[ConsumedMessage[M]]:
        """Return up to ``n`` messages: as soon as ``n`` arrived, or what arrived in ``timeout``.

        Raises:
            DeserializationError: the first message of the batch cannot be decoded (a later
                bad message ends the batch before it and is raised by the next call).
            ConsumerError: Kafka reported an error.
        """
        count = positive_count("n", n, "messages")
        wait = positive_seconds("timeout", timeout)
        with self._lock:
            self._begin_fetch()
            return self._hand_out(self._take(count, wait))

    def iter(
        self, max_messages: int | None = None, timeout: float | None = None
    ) -> Iterator[ConsumedMessage[M]]:
        """Yield messages until ``max_messages`` were yielded or none came for ``timeout`` s.

        ``timeout=None`` waits forever (end it with ``break`` or ``close()``). Asking for the
        next message marks the previous one processed (under ``"after_processing"``).

        Raises:
            DeserializationError: a message cannot be decoded (ends the iteration; a new
                ``iter()`` carries on after it).
            ConsumerError: Kafka reported an error.
        """
        return self._iterate(max_messages, timeout, values=False)

    def iter_models(
        self, max_messages: int | None = None, timeout: float | None = None
    ) -> Iterator[M]:
        """``iter()`` that yields the models only (tombstones are skipped, and count as read).

        Faster than ``iter()`` when keys and coordinates are not needed: no key is decoded and
        no ``ConsumedMessage`` is built. Same commits and errors.
        """
        return self._iterate(max_messages, timeout, values=True)

    def _iterate(
        self, max_messages: int | None, timeout: float | None, *, values: bool
    ) -> Iterator[Any]:
        limit = None if max_messages is None else positive_count("max_messages", max_messages)
        idle = None if timeout is None else positive_seconds("timeout", timeout)
        yielded = 0
        decode = self._decoder.decode_values if values else self._decoder.decode
        while limit is None or yielded < limit:
            want = self._batch_size if limit is None else min(self._batch_size, limit - yielded)
            window = self._open_window(want, idle, values=values, decode=False)
            if window is None:
                return
            raws = window.raws
            # Decoded a few dozen at a time, as they are handed out: the models alive at once
            # stay below the collector's threshold, so handing out 100k models triggers no
            # full collection (a whole window's models at once did; performance-findings §2).
            for start in range(0, len(raws), ITER_CHUNK):
                with self._lock:
                    if self._window is not window:
                        break  # another call took the rest back into the buffer: fetch again
                    items = decode(raws[start : start + ITER_CHUNK])
                pos = start
                for item in items:
                    if self._window is not window:
                        break
                    pos += 1
                    window.pos = pos
                    if item is None:
                        continue  # a tombstone, when only models are handed out
                    if isinstance(item, DeserializationError):
                        raise item
                    yielded += 1
                    yield item
                else:
                    continue
                break

    def fetch_results(self, n: int, timeout: float) -> list[tuple[Message, Item]]:
        """Up to ``n`` fetched messages, each with its decoded message or its decode error.

        For loops that handle bad messages themselves (error handler, dead-letter topic):
        nothing is raised for a bad message, and each result keeps the raw message. Every
        result counts as handed out.

        Raises:
            ConsumerError: Kafka reported an error.
        """
        with self._lock:
            self._begin_fetch()
            raw = self._take(n, timeout)
            results = list(zip(raw, self._decoder.decode(raw), strict=True))
        self._mark_handed_many(raw)
        return results

    def commit(self, message: ConsumedMessage[M] | None = None) -> None:
        """Mark what was handed out processed (up to ``message``, if given) and commit now.

        Blocks until the broker confirmed the commit. Needed only to commit earlier than the
        strategy would (e.g. after each processed batch under ``"manual"``).

        Raises:
            ConsumerError: the broker refused the commit.
        """
        with self._lock:
            self._settle_window()
            if message is not None:
                self.mark_processed(message.topic, message.partition, message.offset)
            else:
                self._handed_to_book()
            client = self._ensure_open()
            assert self._book is not None
            self._book.store()
            self._commit_sync(client)

    def mark_processed(self, topic: str, partition: int, offset: int) -> None:
        """Mark the message at ``offset`` (and the ones before it) processed.

        Under ``"manual"`` (and in the loops) this is how offsets become committable.
        """
        with self._state:
            key = (topic, partition)
            if self._handed.get(key, -1) <= offset + 1:
                self._handed.pop(key, None)
        if self._book is not None:
            self._book.processed(topic, partition, offset)

    def mark_processed_up_to(self, topic: str, partition: int, next_offset: int) -> None:
        """Mark everything below ``next_offset`` processed (out-of-order completion)."""
        if self._book is not None:
            self._book.processed_up_to(topic, partition, next_offset)

    def close(self) -> None:
        """Store processed offsets, close the consumer (librdkafka commits them) and leave.

        Messages handed out but not yet processed are not committed (they are re-delivered).
        Safe to call twice, and from another thread to end a blocked ``iter()``.
        """
        self._closed = True
        with self._lock:
            self._settle_window()
            client, self._client = self._client, None
            if client is None:
                return
            try:
                if self._book is not None:
                    self._book.store()
                    if not self._auto_commit:  # librdkafka commits on close only with auto-commit
                        self._commit_sync(client)
            except (KafkaException, RuntimeError, ConsumerError) as exc:
                logger.warning("committing on close for group %s failed: %s", self.group_id, exc)
            finally:
                # Always: a consumer left to the garbage collector runs its rebalance callbacks
                # from the deallocator, which can crash the interpreter.
                try:
                    client.close()
                except (KafkaException, RuntimeError) as exc:
                    logger.warning(
                        "closing the consumer of group %s failed: %s", self.group_id, exc
                    )
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def assignment(self) -> list[tuple[str, int]]:
        """The ``(topic, partition)`` pairs currently assigned to this member."""
        with self._lock:
            client = self._client
            return (
                [] if client is None else [(tp.topic, tp.partition) for tp in client.assignment()]
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        try:
            if exc_type is None and self._client is not None:
                self.commit()
        finally:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"ModelConsumer({display_name(self.model)}, topic={self.topic!r}, "
            f"group_id={self.group_id!r}, commit={self.commit_strategy!r}, {state})"
        )

    # ------------------------------------------------------------------ async

    async def aone(self, timeout: float = 1.0) -> ConsumedMessage[M] | None:
        """``one()`` without blocking the event loop (runs on the consumer's worker thread)."""
        return await self._in_worker(self.one, timeout)

    async def abatch(self, n: int, timeout: float = 1.0) -> list[ConsumedMessage[M]]:
        """``batch()`` without blocking the event loop."""
        return await self._in_worker(self.batch, n, timeout)

    async def aiter(
        self, max_messages: int | None = None, timeout: float | None = None
    ) -> AsyncIterator[ConsumedMessage[M]]:
        """``iter()`` as an async iterator; each fetch runs on the worker thread."""
        limit = None if max_messages is None else positive_count("max_messages", max_messages)
        idle = None if timeout is None else positive_seconds("timeout", timeout)
        yielded = 0
        while limit is None or yielded < limit:
            want = self._batch_size if limit is None else min(self._batch_size, limit - yielded)
            window = await self._in_worker(self._open_window, want, idle)
            if window is None:
                return
            for item in window.items:
                if self._window is not window:
                    break
                window.pos += 1
                if isinstance(item, DeserializationError):
                    raise item
                yielded += 1
                yield item

    async def afetch_results(self, n: int, timeout: float) -> list[tuple[Message, Item]]:
        """``fetch_results()`` without blocking the event loop."""
        return await self._in_worker(self.fetch_results, n, timeout)

    async def acommit(self, message: ConsumedMessage[M] | None = None) -> None:
        """``commit()`` without blocking the event loop."""
        await self._in_worker(self.commit, message)

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop."""
        self._closed = True  # a fetch in the worker ends within one slice
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def _open_window(
        self, want: int, idle: float | None, *, values: bool = False, decode: bool = True
    ) -> _Window | None:
        """Fetch up to ``want`` messages for an iterator (``None``: none came).

        ``decode=False`` leaves ``items`` empty: the caller decodes the raws as it goes.
        """
        with self._lock:
            self._begin_fetch()
            self._fill(want, idle, chunk=True)
            with self._state:
                buffer = self._buffer
                raws = [buffer.popleft() for _ in range(min(want, len(buffer)))]
            if not raws:
                return None
            if not decode:
                window = _Window(raws, [])
            else:
                decoder = self._decoder.decode_values if values else self._decoder.decode
                window = _Window(raws, decoder(raws))
            self._window = window
            return window

    def _settle_window(self) -> None:
        """End an iterator's window: what it yielded is handed out, the rest goes back.

        An iterator abandoned half-way (``break``) therefore loses nothing it fetched: the
        next call of any kind starts with the first message it did not yield.
        """
        with self._state:
            window, self._window = self._window, None
            if window is None:
                return
            pos = window.pos
            rest = window.raws[pos:]
            if rest:
                self._buffer.extendleft(reversed(rest))
        self._mark_handed_many(window.raws[:pos])

    async def _in_worker(self, call: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(1, thread_name_prefix="flowodm-consumer")
        future = asyncio.get_running_loop().run_in_executor(self._executor, call, *args)
        try:
            return await future
        except asyncio.CancelledError:
            # The worker finishes its current slice; nothing it fetched is handed out.
            raise

    # ------------------------------------------------------------------ internals

    def _ensure_open(self) -> Consumer:
        if self._closed:
            raise ConsumerError(_CLOSED_TEXT)
        client = self._client
        if client is None:
            client = group_consumer(self._connection, self._settings)
            try:
                client.subscribe([self.topic], on_revoke=self._on_revoke, on_lost=self._on_lost)
            except BaseException:
                client.close()
                raise
            self._book = OffsetBook(client, self._store_interval, commit=not self._auto_commit)
            self._client = client
        return client

    def _begin_fetch(self) -> None:
        """A new fetch: what was handed out before is now processed (after_processing)."""
        self._ensure_open()
        self._settle_window()
        if self.commit_strategy == "after_processing":
            self._handed_to_book()
        assert self._book is not None
        self._book.store_if_due()

    def _handed_to_book(self) -> None:
        with self._state:
            handed, self._handed = self._handed, {}
        if self._book is not None:
            for (topic, partition), next_offset in handed.items():
                self._book.processed_up_to(topic, partition, next_offset)

    def _take(self, count: int, timeout: float | None) -> list[Message]:
        """Up to ``count`` raw messages off the buffer, waiting ``timeout`` for ``count``."""
        self._fill(count, timeout)
        with self._state:
            buffer = self._buffer
            return [buffer.popleft() for _ in range(min(count, len(buffer)))]

    def _fill(self, count: int, timeout: float | None, *, chunk: bool = False) -> None:
        """Fetch until ``count`` messages are buffered or ``timeout`` passed.

        ``chunk`` stops as soon as anything is buffered (iterators hand out what is there).
        """
        client = self._ensure_open()
        buffer = self._buffer
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(buffer) < count and not (chunk and buffer):
            if self._closed:
                break
            left = SLICE if deadline is None else min(SLICE, deadline - time.monotonic())
            if left <= 0:
                break
            if self._book is not None:
                self._book.store()  # one store per batch, before fetching the next
            fetched = client.consume(max(count - len(buffer), self._batch_size), left)
            self._accept(fetched)

    def _accept(self, fetched: list[Message]) -> None:
        good = []
        for message in fetched:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                self._raise_client_error(error)
        with self._state:
            self._buffer.extend(good)

    def _raise_client_error(self, error: KafkaError) -> None:
        if error.fatal() or error.code() in (
            KafkaError.UNKNOWN_TOPIC_OR_PART,
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError.GROUP_AUTHORIZATION_FAILED,
            KafkaError._UNKNOWN_TOPIC,
        ):
            raise ConsumerError(
                f"consuming {self.topic!r} in group {self.group_id!r} failed: "
                f"{error.name()}: {error.str()}"
            )
        logger.warning("consumer of %r: %s: %s", self.topic, error.name(), error.str())

    def _hand_out(self, raw: list[Message]) -> list[ConsumedMessage[M]]:
        """Decode ``raw``; return the messages before the first bad one, raise for it first.

        Messages after the one returned or raised go back to the front of the buffer.
        """
        if not raw:
            return []
        decoded = self._decoder.decode(raw)
        bad = next((i for i, item in enumerate(decoded) if isinstance(item, Exception)), None)
        good = decoded if bad is None else decoded[:bad]
        if bad is not None:
            rest = raw[bad:] if bad > 0 else raw[1:]
            with self._state:
                self._buffer.extendleft(reversed(rest))
        if bad == 0:
            error = decoded[0]
            assert isinstance(error, DeserializationError)
            self._mark_handed_raw(raw[0])
            raise error
        messages: list[ConsumedMessage[M]] = good  # type: ignore[assignment]
        self._mark_handed_many([message.message for message in messages])
        return messages

    def _mark_handed_many(self, messages: list[Message]) -> None:
        """``_mark_handed_raw`` for many messages, in fetch order."""
        strategy = self.commit_strategy
        if strategy == "manual" or not messages:
            return
        # One topic (the consumer's subscription): the last offset per partition, in fetch order.
        last_offsets: dict[Any, Any] = {}
        for message in messages:
            last_offsets[message.partition()] = message.offset()
        topic = self.topic
        for partition, offset in last_offsets.items():
            if strategy == "before_processing":
                if self._book is not None:
                    self._book.processed(topic, partition, offset)
            else:
                with self._state:
                    self._handed[(topic, partition)] = offset + 1

    def _mark_handed_raw(self, message: Message) -> None:
        topic, partition, offset = coordinates(message)
        if self.commit_strategy == "before_processing":
            if self._book is not None:
                self._book.processed(topic, partition, offset)
        elif self.commit_strategy == "after_processing":
            with self._state:
                self._handed[(topic, partition)] = offset + 1

    def _commit_sync(self, client: Consumer) -> None:
        # Right after an outage the group coordinator may not be known again yet: retry that
        # for COMMIT_RETRY_TIMEOUT s before the error surfaces (tests/faults: blackhole).
        deadline = time.monotonic() + COMMIT_RETRY_TIMEOUT
        while True:
            try:
                client.commit(asynchronous=False)
                return
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                code = error.code() if isinstance(error, KafkaError) else None
                if code == KafkaError._NO_OFFSET:
                    return  # nothing stored since the last commit
                if code in _COORDINATOR_CODES and time.monotonic() < deadline:
                    time.sleep(SLICE)
                    continue
                raise ConsumerError(f"commit for group {self.group_id!r} failed: {exc}") from exc

    def _on_revoke(self, client: Consumer, partitions: list[TopicPartition]) -> None:
        """Before partitions move to another member: commit what was processed on them."""
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self._drop_buffered(gone)
        if self._book is not None:
            self._book.store(gone)
        # Synchronously, whatever auto-commit says: the next owner starts from the commit.
        try:
            client.commit(asynchronous=False)
        except KafkaException as exc:
            logger.debug("commit on revocation: %s", exc)

    def _on_lost(self, client: Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions were lost (session timeout): their offsets cannot be committed any more."""
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self._drop_buffered(gone)
        if self._book is not None:
            self._book.forget(gone)

    def _drop_buffered(self, gone: set[Partition]) -> None:
        with self._state:
            kept = [m for m in self._buffer if (m.topic(), m.partition()) not in gone]
            self._buffer.clear()
            self._buffer.extend(kept)
            for tp in gone:
                self._handed.pop(tp, None)
