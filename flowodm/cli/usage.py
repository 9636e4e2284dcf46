"""How a command ends: its exit codes, and the usage error for input that cannot work as given.

Exit codes: 0 success, 1 the job failed (a ``FlowODMError``, or rows not delivered), 2 usage
error, 130 interrupted (Ctrl-C). ``UsageError`` stays inside ``flowodm.cli``: the handler turns
it into argparse's own usage message and exit code 2, the same outcome as a misspelt flag, so it
is deliberately not a ``FlowODMError`` (which means "the job failed", exit code 1).
"""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "UsageError"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """The command line cannot be carried out as given; the message says which option and why."""
