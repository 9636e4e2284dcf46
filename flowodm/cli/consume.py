"""``flowodm consume TOPIC --model package.module:Class --to FILE``: a topic into a file.

Reads the topic as it is when the command starts (``flowodm.read_topic``: every partition up to
the end offsets taken then, rows in partition then offset order) and writes the rows to a
Parquet, CSV or JSON Lines file, atomically: the rows go to a temporary file beside FILE, which
is renamed to FILE only once it is complete, so FILE is never half written.

Exit codes: 0 every message read was written (up to the end offsets, or ``--max-messages``, or
for ``--follow`` until its limit); 1 messages failed to decode (written to ``--report``, the
other rows to FILE), or ``--timeout`` stopped the read before the end offsets; 2 usage error;
130 interrupted (nothing is written).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowodm.cli.flags import add_connection_flags, connect_from_flags, positive_float, positive_int
from flowodm.cli.summary import check_report_path
from flowodm.cli.usage import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from flowodm.exceptions import FlowODMError

if TYPE_CHECKING:
    import pandas as pd

    from flowodm.consume.read_report import ReadReport
    from flowodm.consume.reader import Start

__all__ = ["add_parser", "output_format", "parse_start", "run", "write_frame"]

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl"}
_FORMATS[".ndjson"] = "jsonl"
_SHOWN = 10

_DESCRIPTION = """\
Read TOPIC as it is now into FILE, one row per message, one column per model field.

Every partition is read from --from up to its end offset taken when the command starts
(messages produced after that are not read), and rows are written in partition, then offset
order. FILE is .parquet, .csv or .jsonl (or name the format with --format). In CSV and JSON
Lines, timestamps are ISO 8601 and nested values JSON; missing values are empty CSV cells and
JSON nulls. Messages that fail to decode are not written; --report FILE lists them (partition,
offset, field, message).
"""

_EPILOG = """\
exit codes:
  0    every message read was written; the last line says how the read ended:
         result: every message up to the end offsets written (1,000 rows in 'orders.parquet')
  1    messages failed to decode (the other rows are written), or --timeout stopped the read
       before the end offsets:
         result: 3 message(s) failed to decode (recorded in 'bad.csv'); 997 rows written
  2    usage error: bad flag or --from, unknown format, unusable --model
  130  interrupted (Ctrl-C); nothing is written
"""


def add_parser(subparsers: Any) -> None:
    """Add ``flowodm consume`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "consume",
        help="read a topic into a Parquet, CSV or JSON Lines file",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("topic", metavar="TOPIC", help="the topic to read")
    parser.add_argument(
        "--model",
        required=True,
        metavar="SPEC",
        help="the FlowBaseModel class of the values: package.module:Class or path/to/file.py:Class",
    )
    parser.add_argument(
        "--to", required=True, type=Path, metavar="FILE", help="output .parquet, .csv or .jsonl"
    )
    parser.add_argument("--format", choices=("parquet", "csv", "jsonl"), help="output format")

    read = parser.add_argument_group("what to read")
    read.add_argument(
        "--from",
        dest="start",
        type=parse_start,
        default="earliest",
        metavar="WHERE",
        help="earliest (default), latest (with --follow), an ISO 8601 time (naive is UTC), "
        "or PARTITION:OFFSET,... (only those partitions)",
    )
    read.add_argument(
        "--max-messages", type=positive_int, metavar="N", help="read at most N messages"
    )
    read.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help="stop reading after SECONDS (exit code 1 if that was before the end offsets)",
    )
    read.add_argument(
        "--follow",
        action="store_true",
        help="read past the end offsets until --max-messages or --timeout",
    )
    read.add_argument(
        "--metadata",
        action="store_true",
        help="add the columns _topic, _partition, _offset, _key, _timestamp",
    )

    output = parser.add_argument_group("progress and results")
    output.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write messages that failed to decode (.csv/.jsonl)",
    )
    output.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar of messages read on stderr (default: when stderr is a terminal)",
    )

    add_connection_flags(parser)
    parser.set_defaults(handler=run, consume_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Run ``flowodm consume`` and return its exit code."""
    try:
        return _consume(args)
    except UsageError as exc:
        parser: argparse.ArgumentParser = args.consume_parser
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _consume(args: argparse.Namespace) -> int:
    from flowodm.cli.modelspec import load_model
    from flowodm.exceptions import InvalidArgumentError
    from flowodm.pandas.read import REPORT_ATTR, read_topic

    kind = output_format(args.to, args.format)
    if args.report is not None:
        check_report_path(args.report)
    if args.follow and args.max_messages is None and args.timeout is None:
        raise UsageError("--follow needs --max-messages or --timeout (it would never end)")
    if args.start == "latest" and not args.follow:
        raise UsageError("--from latest reads nothing without --follow")
    model = load_model(args.model)
    try:
        frame = read_topic(
            model,
            topic=args.topic,
            start=args.start,
            max_messages=args.max_messages,
            timeout=args.timeout,
            follow=args.follow,
            connection=connect_from_flags(args),
            metadata=args.metadata,
            on_error="report",
            progress=args.progress,
        )
    except InvalidArgumentError as exc:  # e.g. --from names a partition the topic lacks
        raise UsageError(str(exc)) from exc
    report: ReadReport = frame.attrs[REPORT_ATTR]
    write_frame(frame, args.to, kind)
    if args.report is not None:
        write_frame(report.to_frame(), args.report, check_report_path(args.report))
    print(_summary(report, args), flush=True)
    short = report.stopped == "timeout" and not args.follow
    return EXIT_FAILED if report.failures or short else EXIT_OK


def parse_start(text: str) -> Start:
    """Parse ``--from``: ``earliest``, ``latest``, an ISO 8601 time or ``P:O,P:O``."""
    if text in ("earliest", "latest"):
        return text  # type: ignore[return-value]
    if ":" in text and all(_is_offset_pair(item) for item in text.split(",")):
        offsets: dict[int, int] = {}
        for item in text.split(","):
            partition, _, offset = item.partition(":")
            if int(partition) in offsets:
                raise argparse.ArgumentTypeError(f"partition {partition} is named twice")
            offsets[int(partition)] = int(offset)
        return offsets
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not earliest, latest, an ISO 8601 time (2026-01-31T12:00:00Z) or "
            "PARTITION:OFFSET,... (0:100,1:250)"
        ) from None


def _is_offset_pair(item: str) -> bool:
    partition, sep, offset = item.partition(":")
    return bool(sep) and partition.strip().isdigit() and offset.strip().isdigit()


def output_format(path: Path, chosen: str | None) -> str:
    """The output format: ``chosen``, else from ``path``'s extension.

    Raises:
        UsageError: the extension is unknown and no format was named, or the directory of
            ``path`` does not exist.
    """
    if not path.parent.is_dir():
        raise UsageError(f"--to {str(path)!r}: directory {str(path.parent)!r} does not exist")
    kind = chosen or _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(
            f"--to {str(path)!r}: cannot tell the format from {path.suffix or 'no extension'!r}; "
            "use .parquet, .csv or .jsonl, or pass --format"
        )
    return kind


def write_frame(frame: pd.DataFrame, path: Path, kind: str) -> None:
    """Write ``frame`` to ``path`` as ``kind``: into a temporary file, then renamed over it.

    Raises:
        FlowODMError: the file cannot be written (nothing is left at ``path`` then).
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    frame = frame.copy(deep=False)
    frame.attrs = {}  # the ReadReport is not file metadata (pyarrow would warn about it)
    writers: dict[str, Callable[[pd.DataFrame, Path], None]] = {
        "parquet": _parquet,
        "csv": _csv,
        "jsonl": _jsonl,
    }
    try:
        writers[kind](frame, temporary)
        os.replace(temporary, path)
    except OSError as exc:
        raise FlowODMError(f"cannot write {str(path)!r}: {exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _text_cell(value: Any) -> Any:
    """An object cell for CSV and Parquet: nested values as JSON text, UUIDs as text."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(_json_value(value), default=str, ensure_ascii=False)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _json_value(value: Any) -> Any:
    from flowodm.pandas.coerce import python_value
    from flowodm.pandas.deadletter import jsonable

    return jsonable(python_value(value))


def _parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa

    try:
        frame.to_parquet(path, index=False)
        return
    except (pa.ArrowException, TypeError, ValueError):
        pass  # a column pyarrow cannot type (UUIDs, mixed nested values): write it as text
    table = frame.copy()
    for column in table.columns:
        if table[column].dtype == object:
            table[column] = table[column].map(_text_cell)
    table.to_parquet(path, index=False)


def _csv(frame: pd.DataFrame, path: Path) -> None:
    table = frame.copy()
    for column in table.columns:
        if table[column].dtype == object:
            table[column] = table[column].map(_text_cell)
        elif str(table[column].dtype).startswith("datetime64"):
            table[column] = table[column].map(lambda t: None if t is None else t.isoformat())
    table.to_csv(path, index=False, na_rep="")


def _jsonl(frame: pd.DataFrame, path: Path) -> None:
    columns = [str(c) for c in frame.columns]
    with path.open("w", encoding="utf-8") as out:
        for row in frame.itertuples(index=False, name=None):
            record = {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
            out.write(json.dumps(record, default=str, ensure_ascii=False, allow_nan=False) + "\n")


def _summary(report: ReadReport, args: argparse.Namespace) -> str:
    where = str(args.to)
    lines = [report.summary()]
    lines += [
        f"  partition {p.partition}: offsets {p.start:,} to {p.next - 1:,} read"
        + ("" if p.end is None else f" (end offset {p.end:,})")
        for p in report.partitions
        if p.next > p.start
    ]
    if report.failures:
        lines.append(f"First {min(_SHOWN, report.failed)} of {report.failed:,} failures:")
        lines += [
            f"  partition {f.partition} offset {f.offset}: {f.message}"
            for f in report.failures[:_SHOWN]
        ]
    rows = f"{report.returned:,} rows in {where!r}"
    if report.failures:
        recorded = f" (recorded in {str(args.report)!r})" if args.report is not None else ""
        hint = "" if args.report is not None else "; pass --report FILE to list them all"
        result = f"{report.failed:,} message(s) failed to decode{recorded}{hint}; {rows}"
    elif report.stopped == "timeout" and not args.follow:
        result = f"stopped at --timeout before the end offsets; {rows}, the rest not read"
    elif report.stopped == "max_messages":
        result = f"stopped at --max-messages; {rows}"
    elif args.follow:
        result = f"followed until --timeout; {rows}"
    else:
        result = f"every message up to the end offsets written ({rows})"
    lines.append(f"result: {result}")
    return "\n".join(lines)
