"""The command line's usage error: a flag, argument or input path that cannot work as given.

It stays inside ``flowodm.cli``: the handler turns it into argparse's own usage message and exit
code 2, the same outcome as a misspelt flag, so it is deliberately not a ``FlowODMError`` (which
means "the job failed", exit code 1).
"""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """The command line cannot be carried out as given; the message says which option and why."""
