"""The errors that end a DataFrame produce with rows not delivered, each carrying the report.

Why: a produce run must not lose rows unnoticed. ``df.flowodm.produce`` raises
``PartialDeliveryError`` when a valid row was not acknowledged (``raise_on_error=False``
returns the report instead, as with ``produce_many``), and Ctrl-C ends a run with
``ProduceInterrupted`` (a ``KeyboardInterrupt``). In both, ``result`` is the run's public
``ProduceReport`` and the message or note names the rows and says what to send again.
"""

from __future__ import annotations

from flowodm.exceptions import PartialDeliveryError
from flowodm.pandas.reports import ProduceReport
from flowodm.produce.interrupt import ProduceInterrupted

__all__ = ["has_undelivered", "interrupted_error", "undelivered_error"]

_SHOWN = 5  # failed rows named in a message; the report has them all


def has_undelivered(report: ProduceReport) -> bool:
    """Whether a valid row (or a dead-letter copy of an invalid one) was not acknowledged."""
    return bool(
        report.failed
        or report.unconfirmed
        or report.dead_letter_failed
        or report.dead_letter_unconfirmed
    )


def _named_failures(report: ProduceReport) -> str:
    shown = "; ".join(
        f"row {f.index!r}: {f.error} ("
        + ("may have been written" if f.maybe_written else "not written")
        + ")"
        for f in report.failed[:_SHOWN]
    )
    more = f"; and {len(report.failed) - _SHOWN} more" if len(report.failed) > _SHOWN else ""
    return shown + more


def undelivered_error(report: ProduceReport) -> PartialDeliveryError:
    """The error ``df.flowodm.produce`` raises when ``has_undelivered(report)``."""
    missing = len(report.failed) + report.unconfirmed
    valid = report.total - report.invalid
    parts = [f"{missing} of {valid} row(s) were not delivered to {report.topic!r}"]
    if report.failed:
        parts.append(f": {_named_failures(report)}")
    if report.unconfirmed:
        parts.append(f" ({report.unconfirmed} got no report: they may have been written)")
    if report.dead_letter_failed or report.dead_letter_unconfirmed:
        copies = len(report.dead_letter_failed) + report.dead_letter_unconfirmed
        parts.append(f"; {copies} invalid row(s) were not copied to {report.dead_letter_topic!r}")
    parts.append(
        f". {report.summary()}. The error's .result is the ProduceReport: resend "
        "df.loc[err.result.failed_index] once the cause is fixed (rows 'may have been "
        "written' may already be on the topic), or pass raise_on_error=False to have the "
        "report returned instead of raised"
    )
    return PartialDeliveryError("".join(parts), result=report, topic=report.topic)


def interrupted_error(report: ProduceReport, rows: int) -> ProduceInterrupted:
    """The ``KeyboardInterrupt`` for a Ctrl-C in a run that had been handed ``rows`` rows."""
    error = ProduceInterrupted(
        f"producing to {report.topic!r} was interrupted: {report.summary()}", result=report
    )
    unconfirmed = (
        f" {report.unconfirmed} row(s) got no report and cannot be identified (they may "
        "have been written): resend the last chunk too if duplicates are acceptable."
        if report.unconfirmed
        else ""
    )
    error.add_note(
        f"To resume, send df.iloc[{rows}:] (the rows never handed to the run) and "
        "df.loc[exc.result.failed_index] (purged or failed; those 'may have been written' may "
        f"already be on the topic). The other rows before position {rows} were delivered or "
        f"are invalid (exc.result.invalid_index).{unconfirmed}"
    )
    return error
