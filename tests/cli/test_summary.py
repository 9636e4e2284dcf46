"""The summary of ``flowodm produce``: its last line tells apart what exit code 1 can mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowodm.cli.summary import Outcome, Problem, Totals, format_summary, problems_of
from flowodm.pandas.reports import DeliveryFailure, ProduceReport, RowError


def _outcome(
    *,
    rows: int = 10,
    delivered: int = 10,
    invalid: int = 0,
    failed: int = 0,
    maybe_written: int = 0,
    dead_letter_failed: int = 0,
    dry_run: bool = False,
    stopped: str | None = None,
    rows_read: int | None = None,
    report_path: Path | None = None,
    dead_letter: str | None = None,
) -> Outcome:
    totals = Totals(
        keep=10,
        rows=rows,
        delivered=delivered,
        invalid=invalid,
        failed=failed,
        maybe_written=maybe_written,
        dead_letter_failed=dead_letter_failed,
    )
    return Outcome(
        source="orders.csv",
        topic="orders",
        dry_run=dry_run,
        start=0,
        rows_read=rows if rows_read is None else rows_read,
        totals=totals,
        elapsed=1.0,
        dead_letter=dead_letter,
        report_path=report_path,
        stopped=stopped,
    )


@pytest.mark.parametrize(
    ("outcome", "last_line"),
    [
        (_outcome(), "result: every row delivered"),
        (_outcome(dry_run=True), "result: every row is valid (dry run: nothing was sent)"),
        (
            _outcome(delivered=7, invalid=3, report_path=Path("errors.csv")),
            "result: 3 invalid row(s) not sent (recorded in 'errors.csv'); "
            "every valid row delivered",
        ),
        (
            _outcome(delivered=9, invalid=1, dead_letter="orders-dlq"),
            "result: 1 invalid row(s) not sent (recorded on dead-letter topic 'orders-dlq'); "
            "every valid row delivered",
        ),
        (
            _outcome(delivered=8, invalid=2, dry_run=True),
            "result: 2 invalid row(s); every other row is valid (dry run: nothing was sent)",
        ),
        (
            _outcome(delivered=8, invalid=2, dry_run=True, stopped="bad row"),
            "result: stopped early: no row after row 9 was checked; 2 invalid row(s)",
        ),
        (
            _outcome(delivered=0, failed=10, maybe_written=10),
            "result: 10 row(s) failed to deliver (10 may have been written)",
        ),
        (
            _outcome(delivered=5, failed=2, invalid=3),
            "result: 2 row(s) failed to deliver; 3 invalid row(s) not sent",
        ),
        (
            _outcome(delivered=9, invalid=1, dead_letter="dlq", dead_letter_failed=1),
            "result: 1 dead-letter copy(ies) failed; 1 invalid row(s) not sent (recorded on "
            "dead-letter topic 'dlq')",
        ),
        (
            _outcome(rows=4_000, delivered=4_000, rows_read=4_000, stopped="bad row"),
            "result: stopped early: no row after row 3,999 was sent",
        ),
        (
            _outcome(rows=0, delivered=0, rows_read=5, stopped="columns do not fit"),
            "result: stopped early: no row from row 0 on was sent",
        ),
    ],
)
def test_the_last_line_says_which_outcome_it_was(outcome: Outcome, last_line: str) -> None:
    summary = format_summary(outcome)
    assert summary.splitlines()[-1] == last_line
    # Exit code 0 exactly when the line says every row made it.
    assert outcome.ok == last_line.startswith("result: every row")


def test_problems_are_listed_by_file_row() -> None:
    errors = [RowError(7, "amount", "bad", "float_parsing", "x"), RowError(2, "qty", "bad", "int")]
    failures = [DeliveryFailure(5, "_MSG_TIMED_OUT", True), DeliveryFailure(1, "E", False)]
    problems = problems_of(errors, failures)
    assert [(p.row, p.status) for p in problems] == [
        (1, "failed"),
        (2, "invalid"),
        (5, "failed, may have been written"),
        (7, "invalid"),
    ]


def test_a_chunks_report_is_counted_and_its_problems_kept_in_row_order() -> None:
    report = ProduceReport(
        model="Order",
        topic="orders",
        total=4,
        delivered=2,
        errors=(RowError(3, "amount", "bad", "float_parsing", "x"),),
        failed=(DeliveryFailure(1, "_MSG_TIMED_OUT: timed out", True),),
    )
    totals = Totals(keep=5)
    problems = totals.add(report)
    assert problems == [
        Problem(1, "failed, may have been written", None, "delivery", "_MSG_TIMED_OUT: timed out"),
        Problem(3, "invalid", "amount", "float_parsing", "bad", "x"),
    ]
    assert (totals.delivered, totals.invalid, totals.failed, totals.maybe_written) == (2, 1, 1, 1)
