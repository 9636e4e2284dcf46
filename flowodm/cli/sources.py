"""Input files for ``flowodm produce``: CSV, JSON Lines and Parquet, read as a stream of chunks.

Every reader yields DataFrames of at most ``chunk_size`` rows whose index is each row's position
in the file (0-based, header excluded), so a row error names the file row and a checkpoint can
say "rows before N are done". Nothing is read ahead beyond one chunk and one parser block, so
memory stays flat however large the file is.

A row that cannot be parsed (a CSV row with the wrong number of fields or bytes that are not
UTF-8, a JSON Lines line that is not one JSON object) ends the stream: every row before it is
yielded first, in the usual chunks, and only then is the error raised, so a backfill finishes
and checkpoints exactly the rows before the bad one.

Values are never re-interpreted on the way in:

- CSV cells stay strings (pydantic parses them into the model's field types); only an empty,
  unquoted cell is missing. ``"NA"`` or ``"null"`` stay text, and ``""`` is an empty string.
- JSON Lines values keep their JSON types (objects stay dicts, big integers stay exact).
- Parquet columns keep their types; integer columns with nulls become Python ints and ``None``
  rather than floats, and nested columns become Python lists and dicts.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO, TYPE_CHECKING, Any, Literal, TypeAlias, get_args

from flowodm._optional import require
from flowodm.cli.usage import UsageError
from flowodm.exceptions import FlowODMError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMATS",
    "STDIN",
    "STDIN_DEFAULT_FORMAT",
    "Format",
    "Source",
    "read_chunks",
    "resolve_source",
]

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = get_args(Format)
STDIN = "-"
STDIN_DEFAULT_FORMAT: Format = "jsonl"
_Stream: TypeAlias = IO[bytes] | gzip.GzipFile

_SUFFIX_FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class Source:
    """An input to read: a file path (or ``-`` for stdin), its format, and gzip compression.

    Attributes:
        path: The path as given on the command line, or ``-`` for standard input.
        format: ``csv``, ``jsonl`` or ``parquet``.
        gzip: Whether the file is gzip-compressed (``.csv.gz``, ``.jsonl.gz``).
    """

    path: str
    format: Format
    gzip: bool = False

    @property
    def is_stdin(self) -> bool:
        """Whether the rows come from standard input."""
        return self.path == STDIN

    @property
    def label(self) -> str:
        """How messages name this input."""
        return "<stdin>" if self.is_stdin else self.path

    def row_count(self) -> int | None:
        """Return the number of rows when the file says so up front (Parquet), else ``None``."""
        if self.format != "parquet":
            return None
        count: int = _open_parquet(self).metadata.num_rows
        return count


def resolve_source(path: str, format_name: str | None = None) -> Source:
    """Check that ``path`` can be read and decide its format (from ``format_name`` or the name).

    Raises:
        UsageError: the file is missing or a directory, its format cannot be told from its
            name and none was given, or the format cannot be read from where it is.
    """
    if format_name is not None and format_name not in FORMATS:
        raise UsageError(f"unknown --format {format_name!r}: use one of {', '.join(FORMATS)}")
    chosen: Format | None = format_name
    if path == STDIN:
        chosen = chosen or STDIN_DEFAULT_FORMAT
        if chosen == "parquet":
            raise UsageError(
                "Parquet cannot be read from stdin (the reader needs to seek); pass the file path"
            )
        return Source(STDIN, chosen)
    file = Path(path)
    if not file.exists():
        raise UsageError(f"input file {path!r} does not exist")
    if not file.is_file():
        raise UsageError(f"input {path!r} is not a regular file")
    name = file.name.lower()
    compressed = name.endswith(".gz")
    suffix = PurePath(name.removesuffix(".gz")).suffix
    chosen = chosen or _SUFFIX_FORMATS.get(suffix)
    if chosen is None:
        raise UsageError(
            f"cannot tell the format of {path!r} from its extension {suffix or '(none)'!r}: "
            f"pass --format {'|'.join(FORMATS)}"
        )
    if compressed and chosen == "parquet":
        raise UsageError(
            f"{path!r}: gzip-compressed Parquet is not supported; Parquet compresses its own "
            "column chunks, so pass the uncompressed .parquet file"
        )
    return Source(path, chosen, gzip=compressed)


def read_chunks(
    source: Source, *, chunk_size: int, start: int = 0, stop: int | None = None
) -> Iterator[pd.DataFrame]:
    """Yield rows ``start`` to ``stop`` (exclusive) of ``source`` as DataFrames of ``chunk_size``.

    Each frame's index holds the rows' positions in the file. Rows before ``start`` are read
    and skipped (Parquet skips whole row groups without reading them).

    Raises:
        FlowODMError: the input cannot be parsed; the message names the file and, where the
            parser knows it, the row.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if stop is not None and stop <= start:
        return
    if source.format == "jsonl":
        yield from _jsonl_chunks(source, chunk_size=chunk_size, start=start, stop=stop)
    elif source.format == "csv":
        yield from _csv_chunks(source, chunk_size=chunk_size, start=start, stop=stop)
    else:
        yield from _parquet_chunks(source, chunk_size=chunk_size, start=start, stop=stop)


# --- byte streams -------------------------------------------------------------------------------


def _open_binary(source: Source) -> _Stream:
    """Open ``source`` for reading bytes, decompressing gzip on the fly."""
    if source.is_stdin:
        return sys.stdin.buffer
    if source.gzip:
        return gzip.open(source.path, "rb")
    return open(source.path, "rb")  # closed by the caller's finally


def _close(source: Source, stream: _Stream) -> None:
    if not source.is_stdin:  # stdin belongs to the process, not to this reader
        stream.close()


def _unreadable(source: Source, exc: BaseException) -> FlowODMError:
    """Wrap an I/O or decompression error so it names the input."""
    return FlowODMError(f"{source.label}: cannot read the {source.format} input: {exc}")


# --- JSON Lines ---------------------------------------------------------------------------------


def _jsonl_chunks(
    source: Source, *, chunk_size: int, start: int, stop: int | None
) -> Iterator[pd.DataFrame]:
    """Parse one JSON object per non-blank line; blank lines are not rows.

    A line that cannot be parsed (or an input that cannot be read further) ends the rows: those
    before it are yielded, then the error is raised.
    """
    stream = _open_binary(source)
    records: list[dict[str, Any]] = []
    row, first = 0, start
    error: FlowODMError | None = None
    try:
        for line_number, line in _numbered_rows(source, stream):
            if row < start:
                row += 1  # skipped rows are counted, not parsed
                continue
            if stop is not None and row >= stop:
                break
            records.append(_parse_json_object(source, line, line_number, row))
            row += 1
            if len(records) == chunk_size:
                yield _records_frame(records, first)
                records, first = [], row
    except FlowODMError as exc:
        error = exc
    finally:
        _close(source, stream)
    if records:
        yield _records_frame(records, first)
    if error is not None:
        raise error


def _numbered_rows(source: Source, stream: _Stream) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` for each non-blank line, counting rows only among those."""
    line_number = 0
    try:
        for line in stream:
            line_number += 1
            if line.strip():
                yield line_number, line
    except (OSError, EOFError) as exc:  # truncated or corrupt gzip, unreadable file
        raise _unreadable(source, exc) from exc


def _parse_json_object(source: Source, line: bytes, line_number: int, row: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise FlowODMError(
            f"{source.label}: row {row} (line {line_number}) is not valid JSON: {reason}; "
            "fix the line, or remove it, and run again"
        ) from exc
    if not isinstance(value, dict):
        raise FlowODMError(
            f"{source.label}: row {row} (line {line_number}) is a JSON {type(value).__name__}, "
            'not an object; each line must be one JSON object such as {"field": value}'
        )
    return value


def _records_frame(records: list[dict[str, Any]], first: int) -> pd.DataFrame:
    import pandas as pd

    # dtype=object keeps each JSON value exactly (no int -> float upcast when a column has
    # nulls); a key missing from a line becomes a missing cell.
    return pd.DataFrame(records, index=pd.RangeIndex(first, first + len(records)), dtype=object)


# --- CSV ----------------------------------------------------------------------------------------


def _csv_chunks(
    source: Source, *, chunk_size: int, start: int, stop: int | None
) -> Iterator[pd.DataFrame]:
    """Stream a CSV file through pyarrow with every column read as text.

    Columns are read as bytes and checked as UTF-8 batch by batch, and a row with the wrong
    number of fields is skipped by the parser and recorded, so a bad row costs only the rows
    from it on: the rows before it in the same parser block are still yielded.
    """
    pa = require("pyarrow", extra="pandas")
    pacsv = require("pyarrow.csv", extra="pandas")
    stream = _open_binary(source)
    bad_rows: list[Any] = []

    def on_invalid_row(row: Any) -> str:
        bad_rows.append(row)
        return "skip"  # _csv_batches stops at the first one, after the rows before it

    ended = _Ended()
    try:
        names = _read_csv_header(source, stream)
        try:
            reader = pacsv.open_csv(
                stream,
                # Single-threaded so the parser knows the row number of a malformed row.
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid_row
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.binary()),
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, OSError, EOFError) as exc:
            raise _unreadable(source, exc) from exc
        read = _until_unreadable(source, reader, ended, (pa.ArrowInvalid, OSError, EOFError))
        batches = _csv_batches(source, read, bad_rows, ended)
        yield from _arrow_frames(
            batches, chunk_size=chunk_size, start=start, stop=stop, nested=False
        )
    finally:
        _close(source, stream)
    if ended.error is not None:
        raise ended.error


def _csv_batches(
    source: Source, batches: Iterator[Any], bad_rows: list[Any], ended: _Ended
) -> Iterator[Any]:
    """Yield the parser's batches as text, ending (with ``ended.error``) before the first bad row.

    ``bad_rows`` fills as the parser meets rows with the wrong number of fields (it may do so
    for a block ahead of the batch yielded); rows arrive in file order, so the rows before the
    first bad row are exactly the first ``bad - position`` rows still to come.
    """
    position = 0
    for batch in batches:
        bad = _first_bad_row(bad_rows)
        rows = batch.num_rows if bad is None else min(batch.num_rows, bad - position)
        text, encoding_error = _text_batch(source, batch.slice(0, rows), position)
        if text.num_rows:
            yield text
        if encoding_error is not None:
            ended.error = encoding_error
            return
        position += rows
        if bad is not None and bad <= position:
            ended.error = _malformed_row(source, bad_rows[0])
            return


def _first_bad_row(bad_rows: list[Any]) -> int | None:
    """The 0-based data row of the first malformed row met so far (the parser counts from 1)."""
    if not bad_rows:
        return None
    number: int | None = bad_rows[0].number
    # Without a number (only when parsing multi-threaded, which this reader never does) no
    # row of the batch can be proven to come before it.
    return 0 if number is None else number - 1


def _text_batch(source: Source, batch: Any, position: int) -> tuple[Any, FlowODMError | None]:
    """Return ``batch`` (first row at ``position``) with its byte columns checked as UTF-8 text.

    On bytes that are not UTF-8 the batch is cut before the first row holding some, and the
    error naming that row and column comes back with it.
    """
    pa = require("pyarrow", extra="pandas")
    try:
        columns = [column.cast(pa.string()) for column in batch.columns]
    except pa.ArrowInvalid:
        row, name = _first_non_utf8(batch)
        error = FlowODMError(
            f"{source.label}: row {position + row} column {name!r} is not valid UTF-8; save "
            "the file as UTF-8 (or fix the row) and run again"
        )
        return _text_batch(source, batch.slice(0, row), position)[0], error
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names), None


def _first_non_utf8(batch: Any) -> tuple[int, str]:
    """The first (row, column name) of ``batch`` whose bytes are not UTF-8 (slow; errors only)."""
    found: tuple[int, str] | None = None
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        for row, value in enumerate(column.to_pylist()):
            if found is not None and row >= found[0]:
                break
            try:
                if value is not None:
                    value.decode("utf-8")
            except UnicodeDecodeError:
                found = (row, name)
                break
    if found is None:  # pragma: no cover - pyarrow refused the cast, so some value is bad
        return 0, batch.schema.names[0]
    return found


def _read_csv_header(source: Source, stream: _Stream) -> list[str]:
    """Read and check the header line: non-empty, unique column names."""
    try:
        line = stream.readline()
    except (OSError, EOFError) as exc:
        raise _unreadable(source, exc) from exc
    if not line.strip():
        raise FlowODMError(f"{source.label}: the first line must be the CSV header, found nothing")
    try:
        names = next(csv.reader([line.decode("utf-8-sig")], strict=True))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FlowODMError(
            f"{source.label}: the header line cannot be parsed as UTF-8 CSV ({exc}); "
            "the header must be one line of comma-separated column names"
        ) from exc
    seen: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if not name:
            raise FlowODMError(f"{source.label}: header column {number} has no name")
        if name in seen:
            raise FlowODMError(
                f"{source.label}: column name {name!r} appears twice in the header "
                f"(columns {seen[name]} and {number}); column names must be unique"
            )
        seen[name] = number
    return names


def _malformed_row(source: Source, bad: Any) -> FlowODMError:
    """The error for a row with the wrong number of fields, naming its file row."""
    where = f"row {bad.number - 1}" if bad.number is not None else "a row"
    return FlowODMError(
        f"{source.label}: {where} has {bad.actual_columns} fields but the header has "
        f"{bad.expected_columns}: {bad.text!r}; fix the row (quote values that contain "
        "commas) and run again"
    )


# --- Parquet ------------------------------------------------------------------------------------


def _open_parquet(source: Source) -> Any:
    pa = require("pyarrow", extra="pandas")
    pq = require("pyarrow.parquet", extra="pandas")
    try:
        return pq.ParquetFile(source.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FlowODMError(f"{source.label}: not a readable Parquet file: {exc}") from exc


def _parquet_chunks(
    source: Source, *, chunk_size: int, start: int, stop: int | None
) -> Iterator[pd.DataFrame]:
    """Read record batches, skipping whole row groups that lie before ``start``."""
    pa = require("pyarrow", extra="pandas")
    parquet = _open_parquet(source)
    first_group, position = 0, 0
    metadata = parquet.metadata
    while first_group < metadata.num_row_groups:
        group_rows: int = metadata.row_group(first_group).num_rows
        if position + group_rows > start:
            break
        position += group_rows
        first_group += 1
    groups = list(range(first_group, metadata.num_row_groups))
    ended = _Ended()
    try:
        batches = _until_unreadable(
            source,
            parquet.iter_batches(batch_size=chunk_size, row_groups=groups, use_threads=False),
            ended,
            (pa.ArrowInvalid, OSError),
        )
        yield from _arrow_frames(
            batches, chunk_size=chunk_size, start=start, stop=stop, nested=True, position=position
        )
    finally:
        parquet.close()
    if ended.error is not None:
        raise ended.error


def _until_unreadable(
    source: Source,
    batches: Iterator[Any],
    ended: _Ended,
    errors: tuple[type[BaseException], ...],
) -> Iterator[Any]:
    """Yield ``batches`` until one cannot be read; that error goes to ``ended``, not up.

    The caller first yields the rows it already holds, then raises ``ended.error``.
    """
    try:
        yield from batches
    except errors as exc:
        ended.error = _unreadable(source, exc)


# --- Arrow batches to DataFrame chunks ----------------------------------------------------------


class _Ended:
    """Why a stream of batches ended early: raised once the rows before it have been yielded."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: FlowODMError | None = None


def _arrow_frames(
    batches: Iterator[Any],
    *,
    chunk_size: int,
    start: int,
    stop: int | None,
    nested: bool,
    position: int = 0,
) -> Iterator[pd.DataFrame]:
    """Cut record batches (first row at file ``position``) into frames of rows [start, stop)."""
    pa = require("pyarrow", extra="pandas")
    pending: list[Any] = []
    pending_rows = 0
    first = start
    for batch in batches:
        low = max(start - position, 0)
        high = batch.num_rows if stop is None else min(batch.num_rows, stop - position)
        if high > low:
            if not pending:
                first = position + low
            pending.append(batch.slice(low, high - low))
            pending_rows += high - low
            while pending_rows >= chunk_size:
                table = pa.Table.from_batches(pending)
                yield _table_frame(table.slice(0, chunk_size), first, nested=nested)
                rest = table.slice(chunk_size)
                pending, pending_rows, first = rest.to_batches(), rest.num_rows, first + chunk_size
        position += batch.num_rows
        if stop is not None and position >= stop:
            break
    if pending_rows:
        yield _table_frame(pa.Table.from_batches(pending), first, nested=nested)


def _table_frame(table: Any, first: int, *, nested: bool) -> pd.DataFrame:
    import pandas as pd

    # Integer columns with nulls become Python ints and None, not float64 (which would round
    # integers above 2**53).
    frame: pd.DataFrame = table.to_pandas(integer_object_nulls=True)
    if nested:
        pa = require("pyarrow", extra="pandas")
        for field in table.schema:
            if pa.types.is_nested(field.type):
                # pandas would hold lists as numpy arrays, which pydantic does not accept as
                # lists; plain Python lists and dicts validate like JSON input does.
                values = table.column(field.name).to_pylist(maps_as_pydicts="strict")
                frame[field.name] = pd.Series(values, dtype=object, index=frame.index)
    frame.index = pd.RangeIndex(first, first + table.num_rows)
    return frame
