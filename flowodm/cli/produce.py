"""``flowodm produce FILE --model package.module:Class``: backfill a file into a Kafka topic.

Reads CSV, JSON Lines or Parquet (or stdin) in chunks, validates each row against the model,
produces the valid rows and reports the rest with their file row numbers. ``--checkpoint``
makes a long backfill resumable after a crash (see ``docs/backfill.md``). With ``--workers N``
or ``--scheduler ADDRESS``, FILE may be a glob pattern: each file is one partition produced on
a Dask cluster, and the checkpoint records finished files (see ``docs/dask.md``).

Exit codes: 0 every row was delivered (with ``--dry-run``: every row is valid), 1 a row was
invalid or not delivered, or the run failed (the summary's last line, ``result: …``, says
which); 2 usage error (bad flag, unknown format, missing file, unusable ``--model``,
checkpoint of another file, a pattern without a cluster); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flowodm.cli.flags import add_connection_flags, non_negative_int, positive_float, positive_int
from flowodm.cli.usage import EXIT_USAGE, UsageError

__all__ = ["add_parser", "run"]

DEFAULT_CHUNK_SIZE = 10_000
DEFAULT_SHOWN_ERRORS = 10

_DESCRIPTION = """\
Produce every row of FILE as a message of the model's topic.

FILE is a .csv, .jsonl (or .ndjson) or .parquet file, optionally gzip-compressed (.csv.gz,
.jsonl.gz), or - to read JSON Lines (or --format csv) from stdin. Rows are numbered from 0 in
file order (the CSV header is not a row; blank JSON Lines lines are not rows); every error and
the --report name rows by that number. CSV cells are read as text and parsed by the model's
field types; only an empty, unquoted cell counts as missing.

On a Dask cluster (--workers N starts a local one for the run, --scheduler ADDRESS uses a
running one), FILE may be a quoted glob pattern ('data/*.parquet'): each matched file is read
whole and produced on a worker as one partition, and rows are named by file and row. Without
either flag a pattern is refused.
"""

_EPILOG = """\
checkpoint guarantee:
  With --checkpoint FILE each chunk is finished (every row acknowledged by the broker, or
  recorded as invalid in --report / on --dead-letter) before FILE records, atomically, how
  many leading rows are done; a row whose delivery failed is never counted as done, and the
  run stops after the chunk in which it failed. Running the same command again starts at the
  first row not done: no row is lost, and the only rows that can be sent twice are those of
  the one chunk that was in flight when the earlier run died or stopped (at most --chunk-size
  rows). FILE records the input's path, size, modification time and a hash of its first MiB,
  and the topic; resuming on a different or changed file, or into another topic, is refused.
  A row that cannot be parsed (a CSV row with the wrong number of fields or non-UTF-8 bytes, a
  JSON Lines line that is not an object) stops the run after every row before it is finished
  and checkpointed, so the checkpoint ends exactly at the bad row.
  On a cluster (--workers/--scheduler) the unit is a file: FILE records every matched file's
  identity and each file whose rows were all delivered or recorded; a rerun skips those and
  sends again only the files that were in flight or failed. A pattern that now matches other
  files, or a changed file, is refused.

exit codes:
  0    every row was delivered (with --dry-run: every row is valid)
  1    not every row was delivered: rows were invalid (not sent, and recorded), deliveries
       failed, or the run stopped early or could not start. The summary's last line says
       which, for instance:
         result: 3 invalid row(s) not sent (recorded in 'errors.csv'); every valid row delivered
         result: 12 row(s) failed to deliver (12 may have been written)
         result: stopped early: no row after row 4,999 was sent
       (a run that could not start prints one "flowodm: error: ..." line on stderr instead)
  2    usage error: bad flag, unknown format, missing file, unusable --model, wrong checkpoint,
       a pattern matching nothing or used without --workers/--scheduler, stdin on a cluster
  130  interrupted (Ctrl-C); the summary is printed
"""


def add_parser(subparsers: Any) -> None:
    """Add ``flowodm produce`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "produce",
        help="produce the rows of a CSV, JSON Lines or Parquet file (a backfill)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="input file, or - for stdin")
    parser.add_argument(
        "--model",
        required=True,
        metavar="SPEC",
        help="the FlowBaseModel class: package.module:Class (looked up in the working "
        "directory first, then on sys.path) or path/to/file.py:Class",
    )
    parser.add_argument(
        "--format",
        choices=("csv", "jsonl", "parquet"),
        help="input format (default: from the file extension; jsonl for stdin)",
    )
    parser.add_argument("--topic", help="topic to produce to (default: the model's Settings.topic)")

    rows = parser.add_argument_group("rows")
    rows.add_argument("--key", metavar="COLUMN", help="column whose value becomes the message key")
    rows.add_argument(
        "--columns",
        type=parse_column_mapping,
        metavar="COL=FIELD,...",
        help="rename file columns to model fields, e.g. order_no=order_id,amt=amount",
    )
    rows.add_argument(
        "--extra",
        choices=("forbid", "ignore"),
        default="forbid",
        help="file columns that match no field: forbid (an error, the default) or ignore",
    )
    rows.add_argument(
        "--on-invalid",
        choices=("report", "raise"),
        default="report",
        help="invalid rows: report them and go on (default), or stop at the first chunk with one",
    )
    rows.add_argument(
        "--dead-letter", metavar="TOPIC", help="also produce invalid rows (as JSON) to TOPIC"
    )
    rows.add_argument(
        "--dry-run", action="store_true", help="validate every row and report; send nothing"
    )
    rows.add_argument(
        "--limit", type=positive_int, metavar="N", help="read at most N rows (after a resume)"
    )
    rows.add_argument(
        "--chunk-size",
        type=positive_int,
        default=DEFAULT_CHUNK_SIZE,
        metavar="N",
        help=f"rows read, sent and checkpointed together (default {DEFAULT_CHUNK_SIZE:,})",
    )

    output = parser.add_argument_group("progress and results")
    output.add_argument(
        "--checkpoint",
        type=Path,
        metavar="FILE",
        help="record progress in FILE and resume from it (see 'checkpoint guarantee' below); "
        "needs --report or --dead-letter so invalid rows stay recorded across runs",
    )
    output.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write every row error to FILE (.csv or .jsonl); appended to when resuming",
    )
    output.add_argument(
        "--show-errors",
        type=non_negative_int,
        default=DEFAULT_SHOWN_ERRORS,
        metavar="N",
        help=f"row errors printed in the summary (default {DEFAULT_SHOWN_ERRORS})",
    )
    output.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr counting delivered rows, with the invalid and "
        "failed counts (default: when stderr is a terminal)",
    )

    cluster = parser.add_argument_group(
        "Dask cluster (one partition per file; see docs/dask.md)"
    ).add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="produce on the running distributed cluster at ADDRESS (e.g. tcp://host:8786)",
    )
    cluster.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="start a local Dask cluster of N worker processes for this run",
    )

    kafka = add_connection_flags(parser)
    kafka.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help="give up on a row not acknowledged within SECONDS; it is reported as failed "
        "(may have been written)",
    )
    parser.set_defaults(handler=run, produce_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Run ``flowodm produce`` and return its exit code."""
    from flowodm.cli.backfill import run_backfill

    try:
        return run_backfill(args)
    except UsageError as exc:
        parser: argparse.ArgumentParser = args.produce_parser
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def parse_column_mapping(text: str) -> dict[str, str]:
    """Parse ``--columns a=b,c=d`` into ``{"a": "b", "c": "d"}`` (file column → field)."""
    mapping: dict[str, str] = {}
    for item in text.split(","):
        column, sep, field = item.partition("=")
        column, field = column.strip(), field.strip()
        if not sep or not column or not field:
            raise argparse.ArgumentTypeError(
                f"{item.strip()!r} is not COLUMN=FIELD; write e.g. --columns order_no=order_id"
            )
        if column in mapping:
            raise argparse.ArgumentTypeError(f"column {column!r} is mapped twice")
        mapping[column] = field
    return mapping
