"""``flowodm.dask.read_topic``: a topic as a Dask DataFrame, each offset range read on a worker.

Why: a topic too large for one process is read where its rows are then processed. The client
takes the snapshot exactly as ``flowodm.read_topic`` does (``TopicReader.open()``: the start
offsets, and end offsets checked against Tansu's short watermarks), then makes one task per
Kafka partition, or per range of at most ``max_messages_per_task`` offsets. Each task reads
exactly ``[start, end)`` of its partition on a worker (``TopicReader(until=...)``) through the
worker's cached connection and decodes it with ``read_topic``'s own machinery
(``flowodm.pandas.read.read_frame``), so every Dask partition is the pandas frame
``read_topic`` would give for that range, with the same dtypes, and ``meta`` is that frame
empty (``empty_frame``). Messages produced after the call are in no range.

**Failures.** ``on_error="raise"`` (default): computing a range with a message that does not
decode raises ``TopicReadError`` (its ``report`` and ``partial`` are that range's).
``on_error="report"``: each Dask partition keeps its range's ``ReadReport`` at
``attrs["flowodm_report"]``; ``compute_read(ddf)`` computes the frame in one pass and combines
them into one ``ReadReport``. A plain ``ddf.compute()`` has the rows but not the report (pandas
keeps ``attrs`` through ``concat`` only when they are equal), so a range with failures also
logs a warning on its worker (logger ``flowodm.dask``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
from dask.base import compute
from pydantic import BaseModel

from flowodm._arguments import positive_count
from flowodm.consume.read_report import PartitionRange, ReadReport
from flowodm.consume.reader import OnError, Start, TopicReader
from flowodm.dask.worker import worker_connection
from flowodm.exceptions import InvalidArgumentError
from flowodm.kafka.config import ConnectionConfig
from flowodm.kafka.connection import Connection, get_connection
from flowodm.pandas.read import REPORT_ATTR, check_read_options, empty_frame, read_frame
from flowodm.serde.model_codec import get_model_codec
from flowodm.settings import display_name

__all__ = ["RangeTask", "combine_reports", "compute_read", "read_range", "read_topic"]

logger = logging.getLogger("flowodm.dask")


@dataclass(frozen=True)
class RangeTask:
    """One Dask partition of a read: offsets ``[start, end)`` of one Kafka partition.

    ``config`` and ``consumer_config`` travel pickled to the worker and never show:
    ``repr(task)`` (what Dask logs and shows of a task) names only the model and the range.
    """

    model: type[BaseModel]
    topic: str
    partition: int
    start: int
    end: int
    config: ConnectionConfig = field(repr=False)
    consumer_config: Mapping[str, Any] = field(default_factory=dict, repr=False)
    metadata: tuple[str, ...] = ()
    on_error: OnError = "raise"
    columnar: bool = True

    def __repr__(self) -> str:
        return (
            f"RangeTask({display_name(self.model)} ← {self.topic}[{self.partition}] "
            f"{self.start}..{self.end})"
        )


def read_topic(
    model: type[BaseModel],
    *,
    start: Start = "earliest",
    topic: str | None = None,
    connection: Connection | None = None,
    consumer_config: Mapping[str, Any] | None = None,
    metadata: bool | Sequence[str] = False,
    on_error: OnError = "raise",
    columnar: bool = True,
    max_messages_per_task: int | None = None,
) -> dd.DataFrame:
    """The model's topic as it is now, as a lazy Dask DataFrame read on the workers.

    The snapshot (start and end offsets) is taken now, on the client; nothing else is read
    until the frame is computed. Dask partitions come in Kafka partition, then offset order, so
    computed rows are in ``flowodm.read_topic``'s order; each partition's index starts at 0.

    Args:
        model: The ``FlowBaseModel`` subclass of the topic's values (importable on workers).
        start: As ``flowodm.read_topic``: ``"earliest"``, a ``datetime`` or
            ``{partition: offset}`` (only those partitions).
        topic: Read this topic instead of the model's ``Settings.topic``.
        connection: The connection (default: the current one); its config is shipped to the
            workers, which each keep one connection per config (``worker_connection``).
        consumer_config: librdkafka properties for every reader (the snapshot's too).
        metadata: As ``flowodm.read_topic``: ``True`` or some of ``_topic, _partition,
            _offset, _key, _timestamp``.
        on_error: ``"raise"`` or ``"report"`` (module docstring).
        columnar: Allow the columnar decoding path (as ``flowodm.read_topic``).
        max_messages_per_task: Split each Kafka partition into ranges of at most this many
            offsets, one Dask partition each; ``None`` (default): one Dask partition per Kafka
            partition read. An empty Kafka partition still gives one (empty) Dask partition.

    Returns:
        A ``dask.dataframe.DataFrame`` whose ``meta`` has ``flowodm.read_topic``'s dtypes.

    Raises:
        ConsumerError: the topic or a named partition does not exist, or the broker failed.
        ArgumentTypeError / InvalidArgumentError: a bad argument (named).
    """
    wanted = check_read_options(model, metadata, on_error, columnar, "flowodm.dask.read_topic")
    per_task = (
        None
        if max_messages_per_task is None
        else positive_count("max_messages_per_task", max_messages_per_task, "messages")
    )
    conn = connection if connection is not None else get_connection()
    codec = get_model_codec(model, conn, topic=topic)
    extra = dict(consumer_config or {})
    ranges = _snapshot(conn, codec.topic, start, extra)
    tasks = [
        RangeTask(model, codec.topic, p, first, end, conn.config, extra, wanted, on_error, columnar)
        for p, first, end in _split(ranges, per_task)
    ]
    meta = empty_frame(model, codec, wanted, columnar)
    # Dask would turn object columns (dicts, bytes, keys) into strings: keep read_topic's dtypes.
    with dask.config.set({"dataframe.convert-string": False}):
        frame: dd.DataFrame = dd.from_map(  # type: ignore[no-untyped-call]
            read_range,
            tasks,
            meta=meta,
            enforce_metadata=False,
            label=f"flowodm-read-{uuid.uuid4().hex[:8]}",
        )
    return frame


def read_range(task: RangeTask) -> pd.DataFrame:
    """On a worker: read ``[task.start, task.end)`` of one partition into a typed frame.

    Raises:
        TopicReadError: a message failed to decode and ``on_error="raise"``.
    """
    connection = worker_connection(task.config)
    codec = get_model_codec(task.model, connection, topic=task.topic)
    reader = TopicReader(
        connection,
        task.topic,
        start={task.partition: task.start},
        until={task.partition: task.end},
        consumer_config=task.consumer_config,
        progress=False,
    )
    frame = read_frame(
        task.model, codec, reader, task.metadata, on_error=task.on_error, columnar=task.columnar
    )
    report: ReadReport = frame.attrs[REPORT_ATTR]
    if report.failures:
        logger.warning(
            "%d message(s) of %s[%d] offsets %d..%d failed to decode as %s (first: offset %d: "
            "%s); compute the frame with flowodm.dask.compute_read() to get the report",
            report.failed,
            task.topic,
            task.partition,
            task.start,
            task.end,
            report.model,
            report.failures[0].offset,
            report.failures[0].message,
        )
    return frame


def compute_read(ddf: dd.DataFrame) -> pd.DataFrame:
    """Compute a frame of ``read_topic`` in one pass, with its one combined ``ReadReport``.

    Returns ``flowodm.read_topic``'s frame for the same snapshot: the rows in partition,
    offset order with a ``RangeIndex``, and the report at ``attrs["flowodm_report"]``.
    Pass the frame as ``read_topic`` returned it (or persisted): each partition's report
    travels in that partition's ``attrs``.

    Raises:
        TopicReadError: a range failed to decode and the read has ``on_error="raise"``.
        InvalidArgumentError: a partition carries no report (not a ``read_topic`` frame).
    """
    began = time.monotonic()
    parts: tuple[pd.DataFrame, ...] = compute(*ddf.to_delayed())  # type: ignore[no-untyped-call]
    reports = []
    for number, part in enumerate(parts):
        report = part.attrs.get(REPORT_ATTR)
        if not isinstance(report, ReadReport):
            raise InvalidArgumentError(
                f"partition {number} of the frame carries no ReadReport: pass compute_read() "
                "the frame flowodm.dask.read_topic returned (or a persisted copy), before "
                "operations that drop pandas attrs",
                argument="ddf",
            )
        reports.append(report)
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()
    frame.attrs = {REPORT_ATTR: combine_reports(reports, elapsed=time.monotonic() - began)}
    return frame


def combine_reports(reports: Sequence[ReadReport], *, elapsed: float) -> ReadReport:
    """One ``ReadReport`` for the ranges of one read (in Kafka partition, offset order)."""
    first = reports[0]
    failures = sorted(
        (f for r in reports for f in r.failures), key=lambda f: (f.partition, f.offset)
    )
    by_partition: dict[int, list[PartitionRange]] = {}
    for report in reports:
        for part in report.partitions:
            by_partition.setdefault(part.partition, []).append(part)
    partitions = tuple(_merge(by_partition[p]) for p in sorted(by_partition))
    return ReadReport(
        model=first.model,
        topic=first.topic,
        read=sum(r.read for r in reports),
        returned=sum(r.returned for r in reports),
        failures=tuple(failures),
        tombstones=sum(r.tombstones for r in reports),
        partitions=partitions,
        stopped=next((r.stopped for r in reports if r.stopped is not None), None),
        elapsed=elapsed,
        columnar=sum(r.columnar for r in reports),
    )


def _merge(ranges: list[PartitionRange]) -> PartitionRange:
    """The ranges of one partition as one: ``next`` is where the first gap starts, if any."""
    ranges.sort(key=lambda r: r.start)
    gap = next((r for r in ranges if not r.complete), None)
    reached = ranges[-1].next if gap is None else gap.next
    return PartitionRange(ranges[0].partition, ranges[0].start, ranges[-1].end, reached)


def _snapshot(
    connection: Connection, topic: str, start: Start, consumer_config: Mapping[str, Any]
) -> list[tuple[int, int, int]]:
    """``(partition, first, end)`` per partition to read, as ``flowodm.read_topic`` takes them."""
    with TopicReader(
        connection, topic, start=start, consumer_config=consumer_config, progress=False
    ) as reader:
        ranges = [(r.partition, r.start, r.end or r.start) for r in reader.ranges()]
    if isinstance(start, dt.datetime):
        return [_first_at(connection, topic, start, r, consumer_config) for r in ranges]
    return ranges


def _first_at(
    connection: Connection,
    topic: str,
    start: dt.datetime,
    found: tuple[int, int, int],
    consumer_config: Mapping[str, Any],
) -> tuple[int, int, int]:
    """The offset of the partition's first message at or after ``start``.

    Tansu answers offsets by time per record batch, so ``TopicReader`` skips the batch's earlier
    messages while reading; a range of the batch's later offsets would not know to. One message
    read here (the reader's own check) fixes the start of the partition's first range instead.
    """
    partition, first, end = found
    if first >= end:
        return found
    with TopicReader(
        connection,
        topic,
        start=start,
        until={partition: end},
        max_messages=1,
        consumer_config=consumer_config,
        progress=False,
    ) as reader:
        for batch in reader.batches():
            for messages in batch.values():
                offset: int = messages[0].offset()  # type: ignore[assignment]
                return partition, offset, end
    return partition, end, end  # no message at or after ``start``


def _split(ranges: list[tuple[int, int, int]], per_task: int | None) -> list[tuple[int, int, int]]:
    """Each ``(partition, first, end)`` cut into ranges of at most ``per_task`` offsets."""
    if per_task is None:
        return ranges
    pieces: list[tuple[int, int, int]] = []
    for partition, first, end in ranges:
        if end - first <= per_task:
            pieces.append((partition, first, end))
        else:
            pieces += [(partition, a, min(a + per_task, end)) for a in range(first, end, per_task)]
    return pieces
