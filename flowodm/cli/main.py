"""Entry point of the ``flowodm`` command: builds the parser and maps errors to exit codes.

Exit codes (``flowodm.cli.usage``): 0 success, 1 the job failed (a ``FlowODMError``, or rows
not delivered), 2 usage error, 130 interrupted. Expected failures print one line to stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from flowodm.cli.usage import EXIT_FAILED, EXIT_INTERRUPTED
from flowodm.exceptions import FlowODMError

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser; each subcommand module adds its own sub-parser."""
    parser = argparse.ArgumentParser(
        prog="flowodm",
        description=(
            "Kafka messages as pydantic models: local sandbox, backfills, topic reads, "
            "schema tools and a demo."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from flowodm.cli import consume, demo, produce, sandbox, schema

    sandbox.add_parser(subparsers)
    produce.add_parser(subparsers)
    consume.add_parser(subparsers)
    schema.add_parser(subparsers)
    demo.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command = args.handler
    try:
        return command(args)
    except FlowODMError as exc:
        print(f"flowodm: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("flowodm: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
