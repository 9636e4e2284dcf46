"""The options of a DataFrame produce run, and the progress snapshot its callback receives.

Declared once here and used with ``Unpack`` by ``ProduceRun`` and ``df.flowodm.produce``, so
both take (and document) exactly the same keywords.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from flowodm.pandas.columns import Extra
from flowodm.progress import ProgressOption

__all__ = ["DEFAULT_CHUNK_SIZE", "OnInvalid", "RunOptions", "RunProgress"]

DEFAULT_CHUNK_SIZE = 8192
OnInvalid = Literal["raise", "report"]


@dataclass(frozen=True, slots=True)
class RunProgress:
    """A snapshot passed to ``callback`` after each chunk.

    Attributes:
        rows: Rows handed to the run so far.
        delivered: Rows acknowledged so far.
        invalid: Invalid rows so far.
        failed: Rows whose delivery failed so far.
        elapsed: Seconds since the run started.
    """

    rows: int
    delivered: int
    invalid: int
    failed: int
    elapsed: float


class RunOptions(TypedDict, total=False):
    """Keyword options shared by ``df.flowodm.produce`` and ``ProduceRun``; all may be omitted.

    Attributes:
        key: A frame column holding the message keys; default: the model's ``key_field``.
        columns: ``{frame column: field name or alias}`` for columns named differently.
        extra: ``"forbid"`` (default: columns matching no field are an error) or ``"ignore"``.
        dead_letter: A topic that receives each invalid row as JSON (``index``, ``values``,
            ``errors``, ``model``, ``topic``), keyed as the row would have been when its key
            value is present and usable; needs ``on_invalid="report"``.
        chunk_size: Rows coerced, checked and encoded together (default 8,192).
        progress: ``None`` (a bar in notebooks and terminals unless ``FLOWODM_PROGRESS=0``),
            ``False``, ``True``, ``"text"``, ``"widget"``, or a tqdm class. The bar counts rows
            acknowledged by the broker.
        callback: Called with a ``RunProgress`` after each chunk, on the calling thread.
        timeout: Seconds librdkafka may take per message (default: the connection's
            ``produce_timeout``); a message not acknowledged by then is failed, may have been
            written.
        stall_timeout: Give up with ``BulkDeliveryTimeoutError`` when no message is acknowledged
            for this many seconds (default: ``timeout``).
        connection: A specific connection (default: the current one).
        topic: Write to this topic instead of the model's.
        dry_run: Validate and encode only; nothing is sent and no connection is needed.
        columnar: Allow the columnar fast path for models of plain scalar fields (default).
    """

    key: Hashable | None
    columns: Mapping[Hashable, str] | None
    extra: Extra
    dead_letter: str | None
    chunk_size: int
    progress: ProgressOption
    callback: Callable[[RunProgress], None] | None
    timeout: float | None
    stall_timeout: float | None
    connection: Any
    topic: str | None
    dry_run: bool
    columnar: bool
