"""The input of a backfill on a Dask cluster: the files FILE matches, one Dask partition each.

Each file is read whole, on the worker that produces it, by the same readers as a one-file
backfill (``read_chunks``), so values are parsed exactly as they are there (CSV cells as text,
JSON types kept, Parquet integer columns with nulls as Python ints) and each row's index label
is its position in its file. One file is one partition and one unit of the checkpoint, so a
file must fit in a worker's memory; split larger files.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowodm.cli.backfill import complete_json_columns, is_pattern
from flowodm.cli.sources import STDIN, Source, read_chunks, resolve_source
from flowodm.cli.usage import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from flowodm.model import FlowBaseModel

__all__ = ["files_frame", "match_files", "read_file"]


def match_files(pattern: str, format_name: str | None) -> list[Source]:
    """The inputs FILE names: the files a glob pattern matches (sorted), or the one file.

    Raises:
        UsageError: stdin, a pattern that matches nothing, or files of different formats.
    """
    if pattern == STDIN:
        raise UsageError(
            "FILE - (stdin) cannot be produced on a Dask cluster: the workers read the files "
            "themselves; drop --workers/--scheduler, or pass file paths"
        )
    # A file whose name has [, ? or * in it is that file, as in one-file mode.
    literal = not is_pattern(pattern) or Path(pattern).exists()
    paths = [pattern] if literal else sorted(glob.glob(pattern, recursive=True))
    if not paths:
        raise UsageError(
            f"no file matches {pattern!r}; check the pattern (quote it, so that the shell does "
            "not expand it first)"
        )
    sources = [resolve_source(path, format_name) for path in paths]
    formats = {s.format for s in sources}
    if len(formats) > 1:
        raise UsageError(
            f"{pattern!r} matches files of several formats ({', '.join(sorted(formats))}); "
            "narrow the pattern to one format, e.g. 'data/*.parquet'"
        )
    return sources


def read_file(
    source: Source,
    *,
    model: type[FlowBaseModel],
    mapping: Mapping[str, str] | None,
    key: str | None,
    chunk_size: int,
    empty: pd.DataFrame,
) -> pd.DataFrame:
    """Read one whole file into a frame whose index is each row's position in the file.

    Runs on a worker (pickled by reference). ``mapping`` and ``key`` are ``--columns`` and
    ``--key`` (a JSON Lines file gets the columns no line had, as in a one-file backfill);
    ``empty`` is returned for a file without rows. Not named ``columns``: ``dd.from_map``
    would take a ``columns`` argument for column projection.
    """
    import pandas as pd

    frames = list(read_chunks(source, chunk_size=chunk_size))
    if not frames:
        return empty
    frame = frames[0] if len(frames) == 1 else pd.concat(frames)
    if source.format == "jsonl":
        frame = complete_json_columns(frame, model, mapping, key)
    return frame


def files_frame(
    sources: Sequence[Source],
    *,
    model: type[FlowBaseModel],
    mapping: Mapping[str, str] | None,
    key: str | None,
    chunk_size: int,
) -> Any:
    """A Dask DataFrame with one partition per file of ``sources``, in order.

    Its metadata (which the accessor checks the columns against on the client) comes from the
    first row of the first file that has one, read here.
    """
    import dask.dataframe as dd

    meta = _meta(sources, model, mapping, key)
    return dd.from_map(  # type: ignore[no-untyped-call]
        read_file,
        list(sources),
        meta=meta,
        enforce_metadata=False,  # JSON Lines files may differ in the keys they have
        label="flowodm-read-file",
        model=model,
        mapping=mapping,
        key=key,
        chunk_size=chunk_size,
        empty=meta,
    )


def _meta(
    sources: Sequence[Source],
    model: type[FlowBaseModel],
    mapping: Mapping[str, str] | None,
    key: str | None,
) -> pd.DataFrame:
    import pandas as pd

    for source in sources:
        first = next(read_chunks(source, chunk_size=1), None)
        if first is not None:
            if source.format == "jsonl":
                first = complete_json_columns(first, model, mapping, key)
            return first.iloc[:0]
    return pd.DataFrame()
