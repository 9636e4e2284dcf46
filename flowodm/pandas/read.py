"""``read_topic``: a topic as it is now, as a DataFrame with one column per model field.

What is read, in which order, and when the read stops is ``flowodm.consume.reader``'s (its
module docstring): every partition from ``start`` to the end offsets taken when the read
starts, rows sorted by partition then offset. Column dtypes are in
``flowodm.pandas.read_columns``.

Every message read is accounted for in the ``ReadReport`` at ``df.attrs["flowodm_report"]``:

- a row, or
- a **tombstone** (null value, Kafka's deletion marker): no row, counted in
  ``report.tombstones``;
- a **failure** (its key or value does not decode, or does not validate as the model): no
  row, listed in ``report.failures`` with partition, offset, field and reason. With
  ``on_error="raise"`` (the default) a failure raises ``TopicReadError``, whose ``partial`` is
  the frame of the other rows and ``report`` the report; ``on_error="report"`` returns the frame.

Two decoding paths give the same frame (``columnar=False`` forces the second):

- **columnar**, for models whose fields are all exact (``read_columns``): values whose writer
  schema is the model's own are decoded straight into the columns, a run of them at once into
  arrays when the schema is a flat record of scalars (``read_vector``), else each by the
  schema's generated column decoder; values written with another schema version are decoded
  with Avro schema resolution (``decode_datum``) into the same columns (``read_columnar``).
  Nothing is validated, because for these fields nothing could fail or change: Avro's types
  are the fields' types.
- **model**, for every other model: values are validated as the model in chunks of 256
  (``consume.decoding``), exactly as ``consume_iter`` does, and the columns are taken from the
  models (nested models as dicts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
from pydantic import BaseModel

from flowodm._arguments import did_you_mean, require_choice
from flowodm.consume.read_report import TopicReadError, interrupted_read
from flowodm.consume.reader import OnError, Start, TopicReader
from flowodm.exceptions import ArgumentTypeError, InvalidArgumentError
from flowodm.kafka.connection import get_connection
from flowodm.pandas.pipeline import check_model
from flowodm.pandas.read_columnar import ColumnarSink
from flowodm.pandas.read_columns import ColumnPlan, column_plan
from flowodm.pandas.read_sink import ModelSink, Sink
from flowodm.serde.model_codec import get_model_codec
from flowodm.settings import display_name

if TYPE_CHECKING:
    from flowodm.kafka.connection import Connection
    from flowodm.progress import ProgressOption
    from flowodm.serde.model_codec import ModelCodec

__all__ = [
    "METADATA_COLUMNS",
    "REPORT_ATTR",
    "check_read_options",
    "empty_frame",
    "read_frame",
    "read_topic",
]

M = TypeVar("M", bound=BaseModel)

#: The optional columns of each message's coordinates, in this order after the fields.
METADATA_COLUMNS = ("_topic", "_partition", "_offset", "_key", "_timestamp")
#: Where the read's ``ReadReport`` is kept: ``df.attrs[REPORT_ATTR]``.
REPORT_ATTR = "flowodm_report"


def read_topic(
    model: type[M],
    *,
    start: Start = "earliest",
    max_messages: int | None = None,
    timeout: float | None = None,
    follow: bool = False,
    topic: str | None = None,
    connection: Connection | None = None,
    consumer_config: Mapping[str, Any] | None = None,
    metadata: bool | Sequence[str] = False,
    on_error: OnError = "raise",
    progress: ProgressOption = None,
    columnar: bool = True,
) -> pd.DataFrame:
    """Read the model's topic as it is now into a DataFrame (see the module docstring).

    Args:
        model: The ``FlowBaseModel`` subclass of the topic's values.
        start: ``"earliest"`` (default), ``"latest"`` (with ``follow``), a ``datetime``
            (naive means UTC) or ``{partition: offset}`` (only those partitions).
        max_messages: Stop after this many messages (the first in partition, offset order).
        timeout: Stop after this many seconds overall; the report says the read stopped early.
        follow: Read on past the end offsets until ``max_messages`` or ``timeout``.
        topic: Read this topic instead of the model's ``Settings.topic``.
        connection: The connection (default: the current one).
        consumer_config: librdkafka properties for this read (e.g. ``isolation.level``).
        metadata: Add message coordinates after the fields: ``True`` for all of
            ``_topic, _partition, _offset, _key, _timestamp``, or a list of some of them.
        on_error: ``"raise"`` (default) or ``"report"`` (module docstring).
        progress: A bar counting messages read: ``None`` (in notebooks and terminals unless
            ``FLOWODM_PROGRESS=0``), ``False``, ``True``, ``"text"``, ``"widget"`` or a tqdm class.
        columnar: Allow the columnar path (default); ``False`` validates every row as the model.

    Returns:
        One row per message, with the report at ``df.attrs["flowodm_report"]``.

    Raises:
        TopicReadError: a message failed to decode and ``on_error="raise"``.
        ReadInterrupted: Ctrl-C (a ``KeyboardInterrupt``), with ``.report`` and ``.partial``.
        ConsumerError: the topic or a named partition does not exist, or the broker failed.
        SchemaRegistryError: a writer's schema could not be fetched.
        ArgumentTypeError / InvalidArgumentError: a bad argument (named).
    """
    wanted = check_read_options(model, metadata, on_error, columnar)
    conn = connection if connection is not None else get_connection()
    codec = get_model_codec(model, conn, topic=topic)
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
    return read_frame(model, codec, reader, wanted, on_error=on_error, columnar=columnar)


def check_read_options(
    model: type[BaseModel],
    metadata: object,
    on_error: object,
    columnar: object,
    caller: str = "read_topic",
) -> tuple[str, ...]:
    """Check ``read_topic``'s options before anything connects; return the metadata columns."""
    check_model(model, caller)
    wanted = _metadata_columns(metadata)
    require_choice("on_error", on_error, ("raise", "report"))
    if not isinstance(columnar, bool):
        raise ArgumentTypeError(
            f"columnar must be True or False, not {columnar!r}", argument="columnar"
        )
    return wanted


def empty_frame(
    model: type[BaseModel], codec: ModelCodec[Any], wanted: tuple[str, ...], columnar: bool
) -> pd.DataFrame:
    """The frame of a read that found no message: ``read_topic``'s columns and dtypes, no rows.

    Built by the very sink a read uses, so it is the exact ``meta`` of a Dask read.
    """
    return _sink(model, codec, wanted, columnar).frame(codec.topic)


def read_frame(
    model: type[BaseModel],
    codec: ModelCodec[Any],
    reader: TopicReader,
    wanted: tuple[str, ...],
    *,
    on_error: OnError,
    columnar: bool,
) -> pd.DataFrame:
    """Read with ``reader`` (not yet opened) into ``read_topic``'s frame, with its report.

    ``read_topic`` is this with a reader of its arguments; a Dask task is this with a reader
    of one offset range (``TopicReader(until=...)``).

    Raises:
        TopicReadError: a message failed to decode and ``on_error="raise"``.
    """
    sink = _sink(model, codec, wanted, columnar)
    with reader:
        for batch in reader.batches():
            sink.add(batch)
    frame = sink.frame(codec.topic)
    report = reader.report(
        display_name(model),
        returned=len(frame),
        failures=sink.failures,
        tombstones=sink.tombstones,
        columnar=sink.columnar,
    )
    frame.attrs[REPORT_ATTR] = report
    if report.stopped == "interrupted":
        raise interrupted_read(report, frame)
    if report.failures and on_error == "raise":
        raise TopicReadError(report, frame)
    return frame


def _metadata_columns(metadata: object) -> tuple[str, ...]:
    if metadata is True:
        return METADATA_COLUMNS
    if metadata is False or metadata is None:
        return ()
    if isinstance(metadata, str) or not isinstance(metadata, Sequence):
        raise ArgumentTypeError(
            f"metadata must be True, False or a list of {', '.join(METADATA_COLUMNS)}, "
            f"not {metadata!r}",
            argument="metadata",
        )
    for name in metadata:
        if name not in METADATA_COLUMNS:
            hint = did_you_mean(name, METADATA_COLUMNS) if isinstance(name, str) else ""
            raise InvalidArgumentError(
                f"metadata: unknown column {name!r}{hint}; the columns are "
                f"{', '.join(METADATA_COLUMNS)}",
                argument="metadata",
            )
    return tuple(c for c in METADATA_COLUMNS if c in metadata)


def _sink(
    model: type[BaseModel], codec: ModelCodec[Any], wanted: tuple[str, ...], columnar: bool
) -> Sink:
    plan = column_plan(model)
    fast = codec.column_decoder if columnar and _columnar(plan, codec) else None
    if fast is None:
        return ModelSink(codec, plan, wanted)
    return ColumnarSink(codec, plan, wanted, fast)


def _columnar(plan: ColumnPlan, codec: ModelCodec[Any]) -> bool:
    # A schema_path file may give a field another Avro type than its annotation: validate.
    return plan.columnar and not codec.is_json and codec.settings.schema_path is None
