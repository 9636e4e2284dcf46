"""``ConsumerLoop`` and ``AsyncConsumerLoop``: run a handler over a topic until stopped.

Upstream's constructor arguments, with the semantics fixed (upstream-flowodm-0.3.1.md W11-W13):

- ``commit_strategy="after_processing"`` (the default here; upstream's was at-most-once): a
  message's offset becomes committable once the handler returned, or once a failure was
  *handled*: written to ``dead_letter_topic`` and/or passed to ``error_handler`` without that
  raising. A failure nobody handles stops the loop with ``ConsumerError`` and the message stays
  uncommitted, so it is re-delivered; nothing is skipped silently. ``"before_processing"``
  marks it committable before the handler runs (at-most-once).
- Commits are batched (stored offsets, committed by librdkafka in the background, on
  revocation and on shutdown), never one synchronous commit per message.
- With ``max_concurrent > 1`` (async) messages finish out of order; only offsets below the
  oldest unfinished message of a partition are committed.
- A message that cannot be decoded goes the same way as a handler failure (no retries: decoding
  again gives the same result), with ``instance=None``.
- ``run()`` installs SIGINT/SIGTERM handlers only on the main thread and restores the previous
  ones on exit; from a worker thread (``start()``), a Jupyter kernel or a test, ``stop()`` ends
  it within ``poll_timeout``. SIGTERM (and ``stop()``) returns the stats; SIGINT (Ctrl-C) stops
  the same way (the message in hand is finished and committed, the consumer closed) and then
  raises ``ConsumeInterrupted`` (a ``KeyboardInterrupt``) with the stats. The first Ctrl-C puts
  the previous handler back, so a second one interrupts at once; that, and a Ctrl-C without
  ``handle_signals``, also ends in ``ConsumeInterrupted`` after the consumer closed, with the
  message in hand uncommitted.

Dead letters carry the original value, key and headers, plus ``flowodm.error.*`` headers (type,
message, original topic/partition/offset, group, attempts).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from flowodm._arguments import positive_seconds, require_choice
from flowodm._secrets import scrub
from flowodm.consume.consumer import ModelConsumer
from flowodm.consume.interrupts import ConsumeInterrupted, interrupt_of, loop_interrupted
from flowodm.consume.message import coordinates
from flowodm.consume.offsets import InFlight
from flowodm.consume.profiles import ConsumerProfile, LongRunningSettings
from flowodm.exceptions import ArgumentTypeError, ConsumerError, InvalidArgumentError
from flowodm.kafka.connection import get_connection
from flowodm.settings import display_name

if TYPE_CHECKING:
    from confluent_kafka import Message

    from flowodm.consume.consumer import Item
    from flowodm.kafka.clients import FlowProducer
    from flowodm.kafka.connection import Connection

__all__ = ["AsyncConsumerLoop", "ConsumerLoop", "LoopStats", "async_consumer_loop", "consumer_loop"]

M = TypeVar("M", bound=BaseModel)
LoopCommit = Literal["after_processing", "before_processing"]
_STRATEGIES = ("after_processing", "before_processing")
#: Longest wait for the dead-letter topic to acknowledge one message.
DEAD_LETTER_TIMEOUT = 30.0
_ERROR_TEXT_LIMIT = 2000


@dataclass
class LoopStats:
    """What a loop did: messages handled, failures handled, dead letters written, tombstones."""

    processed: int = 0
    failed: int = 0
    dead_lettered: int = 0
    tombstones: int = 0


class _LoopBase(Generic[M]):
    """What both loops share: arguments, the consumer, failure handling, dead letters."""

    def __init__(
        self,
        model: type[M],
        handler: Callable[..., Any],
        settings: ConsumerProfile | None = None,
        group_id: str | None = None,
        error_handler: Callable[..., Any] | None = None,
        on_startup: Callable[[], Any] | None = None,
        on_shutdown: Callable[[], Any] | None = None,
        commit_strategy: LoopCommit = "after_processing",
        max_retries: int = 0,
        retry_delay: float = 1.0,
        poll_timeout: float = 1.0,
        *,
        dead_letter_topic: str | None = None,
        topic: str | None = None,
        consumer_config: Mapping[str, Any] | None = None,
        connection: Connection | None = None,
        handle_signals: bool = True,
    ) -> None:
        if not callable(handler):
            raise ArgumentTypeError(
                f"handler must be callable, got {type(handler).__name__}", argument="handler"
            )
        for name, value in (
            ("error_handler", error_handler),
            ("on_startup", on_startup),
            ("on_shutdown", on_shutdown),
        ):
            if value is not None and not callable(value):
                raise ArgumentTypeError(
                    f"{name} must be callable or None, got {type(value).__name__}", argument=name
                )
        if settings is not None and not isinstance(settings, ConsumerProfile):
            raise ArgumentTypeError(
                "settings must be a profile such as flowodm.LongRunningSettings(), got "
                f"{type(settings).__name__}",
                argument="settings",
            )
        if type(max_retries) is not int or max_retries < 0:
            raise InvalidArgumentError(
                f"max_retries must be an int >= 0, got {max_retries!r}", argument="max_retries"
            )
        if isinstance(retry_delay, bool) or not isinstance(retry_delay, int | float):
            raise ArgumentTypeError(
                f"retry_delay must be a number of seconds, got {retry_delay!r}",
                argument="retry_delay",
            )
        if not 0 <= retry_delay < float("inf"):
            raise InvalidArgumentError(
                f"retry_delay must be >= 0 seconds, got {retry_delay!r}", argument="retry_delay"
            )
        if dead_letter_topic is not None and (
            not isinstance(dead_letter_topic, str) or not dead_letter_topic
        ):
            raise InvalidArgumentError(
                f"dead_letter_topic must be a topic name, got {dead_letter_topic!r}",
                argument="dead_letter_topic",
            )
        self.model = model
        self.handler = handler
        self.error_handler = error_handler
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self.commit_strategy: LoopCommit = require_choice(  # type: ignore[assignment]
            "commit_strategy", commit_strategy, _STRATEGIES
        )
        self.max_retries = max_retries
        self.retry_delay = float(retry_delay)
        self.poll_timeout = positive_seconds("poll_timeout", poll_timeout)
        self.dead_letter_topic = dead_letter_topic
        self.handle_signals = handle_signals
        self.stats = LoopStats()
        self._connection = connection if connection is not None else get_connection()
        self._profile = settings
        self._default_profile = LongRunningSettings()
        self._consumer_options: dict[str, Any] = {
            "group_id": group_id,
            "topic": topic,
            "consumer_config": consumer_config,
        }
        # Checked now (a missing group or topic fails here, not when run() starts).
        self._consumer: ModelConsumer[M] | None = self._new_consumer()
        self._group_id = self._consumer.group_id
        self._topic = self._consumer.topic
        self._stop = threading.Event()
        self._running = False
        self._interrupted = False  # SIGINT asked the loop to stop: run() raises afterwards
        self._dead_letters: FlowProducer | None = None

    @property
    def running(self) -> bool:
        """Whether ``run()`` is between startup and shutdown."""
        return self._running

    @property
    def group_id(self) -> str:
        """The consumer group the loop joins."""
        return self._group_id

    def stop(self) -> None:
        """Ask the loop to finish (thread-safe; also from a signal handler or another thread).

        The message being handled is finished; the loop commits and calls ``on_shutdown``.
        """
        self._stop.set()

    def __repr__(self) -> str:
        state = "running" if self._running else "idle"
        return (
            f"{type(self).__name__}({display_name(self.model)}, group_id={self.group_id!r}, "
            f"commit_strategy={self.commit_strategy!r}, {state})"
        )

    def _new_consumer(self) -> ModelConsumer[M]:
        profile = self._profile
        return ModelConsumer(
            self.model,
            settings=profile,
            default_settings=None if profile is not None else self._default_profile,
            commit="manual",
            connection=self._connection,
            **self._consumer_options,
        )

    def _take_consumer(self) -> ModelConsumer[M]:
        consumer = self._consumer
        if consumer is None or consumer.closed:
            consumer = self._new_consumer()
        self._consumer = None  # a second run() gets a fresh one
        return consumer

    def _batch_size(self) -> int:
        profile = self._profile if self._profile is not None else self._default_profile
        return int(profile.max_poll_records)

    def _unhandled(self, exc: BaseException, raw: Message, attempts: int) -> ConsumerError:
        where = f"{raw.topic()}[{raw.partition()}]@{raw.offset()}"
        return ConsumerError(
            f"{where}: {type(exc).__name__}: {exc} (after {attempts} attempt(s)); the loop "
            "stopped and the message is not committed, so it is delivered again on restart. "
            "Pass error_handler= or dead_letter_topic= to carry on past failing messages"
        )

    def _dead_letter(self, raw: Message, exc: BaseException, attempts: int) -> None:
        """Write the original message with ``flowodm.error.*`` headers; wait for the ack.

        Raises:
            ConsumerError: the dead-letter topic did not acknowledge it (the loop stops and
                the message stays uncommitted).
        """
        topic = self.dead_letter_topic
        assert topic is not None
        secrets = self._connection.config.secret_values()
        text = scrub(f"{exc}", secrets)[:_ERROR_TEXT_LIMIT]
        headers = [
            *(raw.headers() or ()),
            ("flowodm.error.type", type(exc).__name__.encode()),
            ("flowodm.error.message", text.encode("utf-8", "replace")),
            ("flowodm.error.topic", str(raw.topic()).encode()),
            ("flowodm.error.partition", str(raw.partition()).encode()),
            ("flowodm.error.offset", str(raw.offset()).encode()),
            ("flowodm.error.group", self.group_id.encode()),
            ("flowodm.error.attempts", str(attempts).encode()),
        ]
        if self._dead_letters is None:
            profile = self._profile if self._profile is not None else self._default_profile
            self._dead_letters = self._connection.new_producer(profile.to_producer_config())
        producer = self._dead_letters
        outcome: list[Any] = []
        producer.produce(
            topic,
            value=raw.value(),
            key=raw.key(),
            headers=headers,
            on_delivery=lambda error, _message: outcome.append(error),
        )
        producer.flush(DEAD_LETTER_TIMEOUT)
        if not outcome or outcome[0] is not None:
            reason = outcome[0] if outcome else f"no acknowledgement in {DEAD_LETTER_TIMEOUT} s"
            raise ConsumerError(
                f"could not write {raw.topic()}[{raw.partition()}]@{raw.offset()} to the "
                f"dead-letter topic {topic!r}: {reason}; the loop stopped and the message is "
                "not committed"
            )
        self.stats.dead_lettered += 1

    def _close_dead_letters(self) -> None:
        producer, self._dead_letters = self._dead_letters, None
        if producer is not None:
            producer.flush(DEAD_LETTER_TIMEOUT)
            producer.close_quietly()

    def _sigint(self, restore: Callable[[], object]) -> None:
        """First Ctrl-C: stop like SIGTERM, remember to raise, and let a second one through."""
        self._interrupted = True
        self.stop()
        restore()

    def _interrupt_error(self) -> ConsumeInterrupted:
        """The ``ConsumeInterrupted`` that ends ``run()`` after Ctrl-C (the consumer is closed)."""
        return loop_interrupted(type(self).__name__, self.group_id, self._topic, self.stats)

    @contextlib.contextmanager
    def _running_state(self) -> Iterator[None]:
        self._stop.clear()
        self._interrupted = False
        self._running = True
        try:
            yield
        except BaseException as exc:
            # Ctrl-C raised in a fetch or a handler (a second Ctrl-C, or no handlers of ours);
            # confluent-kafka may have wrapped it in a SystemError. The consumer is closed.
            if interrupt_of(exc) is None:
                raise
            raise self._interrupt_error() from None
        finally:
            self._running = False
        if self._interrupted:
            raise self._interrupt_error()


class ConsumerLoop(_LoopBase[M]):
    """Call ``handler(model)`` for every message of the model's topic until ``stop()``.

    Args:
        model: The ``FlowBaseModel`` subclass.
        handler: Called with each decoded model.
        settings: A profile (default ``LongRunningSettings()``; the connection's
            ``consumer_config`` wins over the default, an explicit profile wins over it).
        group_id: The group (default ``Settings.consumer_group``).
        error_handler: ``error_handler(exc, message, instance)`` for a message whose handler
            failed ``max_retries + 1`` times or that could not be decoded (``instance`` is then
            ``None``); ``message`` is the confluent ``Message``. Returning marks it handled.
        on_startup, on_shutdown: Called before the first fetch and after the last message.
        commit_strategy: ``"after_processing"`` (at-least-once, default) or
            ``"before_processing"`` (at-most-once).
        max_retries, retry_delay: Extra attempts of the handler, and seconds between them.
        poll_timeout: Longest wait per fetch; ``stop()`` takes effect within it.
        dead_letter_topic: Where failed messages go (original bytes, key, headers + error
            headers) before ``error_handler`` is called.
        topic, consumer_config, connection: As for ``Model.consumer()``.
        handle_signals: Install SIGINT/SIGTERM handlers while running (main thread only).

    Raises:
        SettingsError: no group or topic. InvalidArgumentError / ArgumentTypeError: a bad
            argument (named).
    """

    def run(self) -> LoopStats:
        """Consume until ``stop()``, SIGINT or SIGTERM; return what was done.

        Raises:
            ConsumerError: a failure nobody handled (the message stays uncommitted), or Kafka
                reported an error.
            ConsumeInterrupted: Ctrl-C (a ``KeyboardInterrupt``), raised once the consumer is
                closed and the processed messages committed; ``.stats`` says what was done.
        """
        consumer = self._take_consumer()
        with self._running_state(), self._signals():
            try:
                if self.on_startup is not None:
                    self.on_startup()
                batch = self._batch_size()
                while not self._stop.is_set():
                    for raw, item in consumer.fetch_results(batch, self.poll_timeout):
                        if self._stop.is_set():
                            break  # fetched, not handled: re-delivered later
                        self._handle(consumer, raw, item)
            finally:
                try:
                    if self.on_shutdown is not None:
                        self.on_shutdown()
                finally:
                    consumer.close()
                    self._close_dead_letters()
        return self.stats

    def start(self) -> threading.Thread:
        """Run the loop on a daemon thread (no signal handlers); ``stop()`` then ``join()``."""
        self._error: BaseException | None = None

        def target() -> None:
            try:
                self.run()
            except BaseException as exc:  # kept for join(), which raises it
                self._error = exc

        thread = threading.Thread(target=target, name="flowodm-consumer-loop", daemon=True)
        self._thread = thread
        thread.start()
        return thread

    def join(self, timeout: float | None = None) -> None:
        """Wait for a ``start()``-ed loop to end; re-raise the error that ended it, if any."""
        thread = getattr(self, "_thread", None)
        if thread is None:
            raise ConsumerError("join() needs a loop started with start()")
        thread.join(timeout)
        error = getattr(self, "_error", None)
        if error is not None:
            self._error = None
            raise error

    def _handle(self, consumer: ModelConsumer[M], raw: Message, item: Item) -> None:
        where = coordinates(raw)
        if self.commit_strategy == "before_processing":
            consumer.mark_processed(*where)
        if isinstance(item, Exception):
            self._fail(item, raw, None, 1)
        elif item.value is None:
            self.stats.tombstones += 1
        else:
            attempts = 0
            while True:
                attempts += 1
                try:
                    self.handler(item.value)
                    self.stats.processed += 1
                    break
                except Exception as exc:
                    if attempts > self.max_retries or self._stop.is_set():
                        self._fail(exc, raw, item.value, attempts)
                        break
                    self._stop.wait(self.retry_delay)
        if self.commit_strategy == "after_processing":
            consumer.mark_processed(*where)

    def _fail(self, exc: Exception, raw: Message, instance: Any, attempts: int) -> None:
        if self.dead_letter_topic is None and self.error_handler is None:
            raise self._unhandled(exc, raw, attempts) from exc
        if self.dead_letter_topic is not None:
            self._dead_letter(raw, exc, attempts)
        if self.error_handler is not None:
            self.error_handler(exc, raw, instance)
        self.stats.failed += 1

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous: dict[int, Any] = {}
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            if sig is not None:
                previous[sig] = signal.signal(sig, lambda *_: self.stop())
        signal.signal(
            signal.SIGINT,
            lambda *_: self._sigint(lambda: signal.signal(signal.SIGINT, previous[signal.SIGINT])),
        )
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class AsyncConsumerLoop(_LoopBase[M]):
    """``ConsumerLoop`` for async handlers, with up to ``max_concurrent`` at a time.

    ``handler``, ``error_handler``, ``on_startup`` and ``on_shutdown`` are coroutine functions.
    Fetching runs on the consumer's worker thread, so the event loop never blocks. Offsets
    are committed in order per partition whatever order the handlers finish in.
    """

    def __init__(self, *args: Any, max_concurrent: int = 10, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if type(max_concurrent) is not int or max_concurrent < 1:
            raise InvalidArgumentError(
                f"max_concurrent must be an int >= 1, got {max_concurrent!r}",
                argument="max_concurrent",
            )
        self.max_concurrent = max_concurrent
        self._fatal: BaseException | None = None

    async def run(self) -> LoopStats:
        """Consume until ``stop()``, SIGINT or SIGTERM; wait for running handlers; return stats.

        Raises:
            ConsumerError: a failure nobody handled, or Kafka reported an error.
            ConsumeInterrupted: Ctrl-C, once running handlers finished and the consumer closed.
        """
        consumer = self._take_consumer()
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        self._fatal = None
        with self._running_state(), self._signals(loop):
            try:
                if self.on_startup is not None:
                    await self.on_startup()
                slots = asyncio.Semaphore(self.max_concurrent)
                in_flight = InFlight()
                batch = self._batch_size()
                while not self._stop.is_set():
                    results = await consumer.afetch_results(batch, self.poll_timeout)
                    for raw, item in results:
                        await slots.acquire()
                        if self._stop.is_set():
                            slots.release()
                            break
                        in_flight.start(*coordinates(raw))
                        task = asyncio.create_task(
                            self._process(consumer, in_flight, slots, raw, item)
                        )
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
            finally:
                if tasks:
                    await asyncio.gather(*tasks, return_exceptions=True)
                try:
                    if self.on_shutdown is not None:
                        await self.on_shutdown()
                finally:
                    await consumer.aclose()
                    await loop.run_in_executor(None, self._close_dead_letters)
        if self._fatal is not None:
            raise self._fatal
        return self.stats

    async def _process(
        self,
        consumer: ModelConsumer[M],
        in_flight: InFlight,
        slots: asyncio.Semaphore,
        raw: Message,
        item: Item,
    ) -> None:
        topic, partition, offset = coordinates(raw)
        if self.commit_strategy == "before_processing":
            consumer.mark_processed(topic, partition, offset)
        try:
            await self._handle(raw, item)
        except BaseException as exc:
            # Unhandled: stop, and never let the partition's committed offset pass this one.
            if self._fatal is None:
                self._fatal = exc
            self.stop()
            return
        finally:
            slots.release()
        next_offset = in_flight.finish(topic, partition, offset)
        if next_offset is not None and self.commit_strategy == "after_processing":
            consumer.mark_processed_up_to(topic, partition, next_offset)

    async def _handle(self, raw: Message, item: Item) -> None:
        if isinstance(item, Exception):
            await self._fail(item, raw, None, 1)
            return
        if item.value is None:
            self.stats.tombstones += 1
            return
        attempts = 0
        while True:
            attempts += 1
            try:
                await self.handler(item.value)
                self.stats.processed += 1
                return
            except Exception as exc:
                if attempts > self.max_retries or self._stop.is_set():
                    await self._fail(exc, raw, item.value, attempts)
                    return
                await asyncio.sleep(self.retry_delay)

    async def _fail(self, exc: Exception, raw: Message, instance: Any, attempts: int) -> None:
        if self.dead_letter_topic is None and self.error_handler is None:
            raise self._unhandled(exc, raw, attempts) from exc
        if self.dead_letter_topic is not None:
            await asyncio.get_running_loop().run_in_executor(
                None, self._dead_letter, raw, exc, attempts
            )
        if self.error_handler is not None:
            await self.error_handler(exc, raw, instance)
        self.stats.failed += 1

    @staticmethod
    def _drop_sigint(loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)

    @contextlib.contextmanager
    def _signals(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        installed = []
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            if sig is None:
                continue
            previous = signal.getsignal(sig)
            try:
                if sig == signal.SIGINT:
                    # Removing it makes asyncio put Python's default back: a 2nd Ctrl-C raises.
                    loop.add_signal_handler(sig, self._sigint, lambda: self._drop_sigint(loop))
                else:
                    loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                signal.signal(sig, lambda *_: self.stop())  # Windows: no loop signal handlers
            installed.append((sig, previous))
        try:
            yield
        finally:
            for sig, previous in installed:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
                signal.signal(sig, previous)


def consumer_loop(
    model: type[M], settings: ConsumerProfile | None = None, **kwargs: Any
) -> Callable[[Callable[[M], Any]], ConsumerLoop[M]]:
    """Decorator: ``@consumer_loop(Order, group_id="billing")`` turns a handler into a loop.

    The decorated name is the ``ConsumerLoop``; call ``.run()`` (or ``.start()``) on it.
    """

    def wrap(handler: Callable[[M], Any]) -> ConsumerLoop[M]:
        return ConsumerLoop(model, handler, settings, **kwargs)

    return wrap


def async_consumer_loop(
    model: type[M], settings: ConsumerProfile | None = None, **kwargs: Any
) -> Callable[[Callable[[M], Awaitable[Any]]], AsyncConsumerLoop[M]]:
    """Decorator for async handlers; the decorated name is the ``AsyncConsumerLoop``."""

    def wrap(handler: Callable[[M], Awaitable[Any]]) -> AsyncConsumerLoop[M]:
        return AsyncConsumerLoop(model, handler, settings, **kwargs)

    return wrap
