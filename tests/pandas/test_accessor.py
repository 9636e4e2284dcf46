"""``df.flowodm`` without Kafka: validate, to_models, iter_models, dry runs and reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.exceptions import (
    ArgumentTypeError,
    DataFrameValidationError,
    InvalidArgumentError,
)
from flowodm.pandas import ProduceReport, ProduceRun, ValidationReport
from tests.pandas.conftest import validation_report
from tests.pandas.models import Invoice, Order, Reading, Status
from tests.schema.tz import local_tz

__all__ = ["local_tz"]

UTC = dt.UTC


def messy_orders() -> pd.DataFrame:
    """One row per kind of trouble, around valid rows; index labels are not positions."""
    frame = pd.DataFrame(
        {
            "order_id": pd.Series(
                ["a", "b", None, "d", "e", "f", "g", "h"], dtype="string[pyarrow]"
            ),
            "customer_id": pd.Categorical(["C1", "C2", "C1", np.nan, "C1", "C2", "C1", "C2"]),
            "amount": pd.Series([1.5, -1.0, 2.0, 3.0, np.nan, 4.0, 5.0, np.float32(6.5)]),
            "quantity": pd.Series([1, 2, 3, 4, 5, None, 7, 8], dtype="Int64"),
            # pandas-stubs refuse None (NaT) in to_datetime's list; pandas takes it.
            "created_at": pd.to_datetime(
                [  # type: ignore[arg-type]
                    "2024-01-01 10:00",
                    "2024-01-02 00:00",
                    "2024-01-03 00:00",
                    None,
                    "2024-01-05 00:00",
                    "2024-01-06 00:00",
                    "2024-01-07 00:00",
                    "2024-01-08 00:00:00.123456789",
                ],
                format="ISO8601",
            ),
            "status": ["NEW", "PAID", "NEW", "PAID", "NEW", "PAID", "LOST", "SHIPPED"],
            "note": [np.nan, None, pd.NA, "x", "y", "z", "w", np.str_("v")],
        },
    )
    frame.index = pd.Index([10, 11, 12, 13, 14, 15, 16, 17], name="row")
    return frame


EXPECTED_PROBLEMS = {
    (11, "amount", "greater_than_equal"),
    (12, "order_id", "missing"),
    (13, "customer_id", "missing"),
    (13, "created_at", "missing"),
    (14, "amount", "missing"),
    (15, "quantity", "missing"),
    (16, "status", "enum"),
}


def test_validate_reports_every_problem_by_index_field_and_reason() -> None:
    frame = messy_orders()
    report = frame.flowodm.validate(Order)
    assert isinstance(report, ValidationReport)
    assert {(e.index, e.field, e.type) for e in report.errors} == EXPECTED_PROBLEMS
    assert report.total == 8
    assert report.invalid == 6
    assert report.valid == 2
    assert report.invalid_index == [11, 12, 13, 14, 15, 16]
    missing = next(e for e in report.errors if e.index == 14)
    assert "missing value" in missing.message
    assert "'amount' does not accept None" in missing.message


def test_the_frame_is_never_modified() -> None:
    frame = messy_orders()
    before = frame.copy(deep=True)
    frame.flowodm.validate(Order)
    frame.flowodm.produce(Order, on_invalid="report", dry_run=True, progress=False)
    frame.iloc[[0, 7]].flowodm.to_models(Order)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("columnar", [True, False])
def test_a_missing_value_never_takes_the_fields_default(columnar: bool) -> None:
    # count defaults to 0 and level to NEW, but neither accepts None: a gap is an invalid row.
    frame = pd.DataFrame(
        {
            "sensor": ["a", "b", "c"],
            "count": pd.Series([1, None, 3], dtype="Int64"),
            "level": pd.Categorical(["PAID", "NEW", None]),
        }
    )
    report = frame.flowodm.produce(
        Reading, on_invalid="report", dry_run=True, progress=False, columnar=columnar
    )
    assert {(e.index, e.field, e.type) for e in report.errors} == {
        (1, "count", "missing"),
        (2, "level", "missing"),
    }
    assert report.delivered == 1
    (only,) = frame.loc[[0]].flowodm.to_models(Reading)
    assert (only.count, only.level) == (1, Status.PAID)


def test_to_models_coerces_pandas_values_to_plain_python() -> None:
    frame = messy_orders().loc[[10, 17]]
    first, last = frame.flowodm.to_models(Order)
    assert first.created_at == dt.datetime(2024, 1, 1, 10, tzinfo=UTC)  # naive = UTC
    assert type(first.created_at) is dt.datetime
    assert first.note is None
    assert first.status is Status.NEW
    assert type(first.quantity) is int
    assert last.amount == 6.5
    assert last.note == "v"
    assert last.created_at == dt.datetime(2024, 1, 8, 0, 0, 0, 123456, tzinfo=UTC)


def test_naive_timestamps_are_utc_whatever_the_local_time_zone(local_tz: str) -> None:
    frame = messy_orders().loc[[10]]
    (order,) = frame.flowodm.to_models(Order)
    assert order.created_at == dt.datetime(2024, 1, 1, 10, tzinfo=UTC)
    report = frame.flowodm.produce(Order, dry_run=True, progress=False)
    assert report.delivered == 1


def test_to_models_raises_with_every_invalid_row() -> None:
    with pytest.raises(DataFrameValidationError) as info:
        messy_orders().flowodm.to_models(Order)
    assert "6 of 8 row(s) do not validate as Order" in str(info.value)
    assert "no models were returned" in str(info.value)
    report = validation_report(info.value)
    assert {(e.index, e.field, e.type) for e in report.errors} == EXPECTED_PROBLEMS


def test_iter_models_streams_chunks_and_stops_at_an_invalid_chunk() -> None:
    frame = messy_orders()
    models = frame.loc[[10, 17]].flowodm.iter_models(Order, chunk_size=1)
    assert [m.order_id for m in models] == ["a", "h"]
    seen = []
    with pytest.raises(DataFrameValidationError) as info:
        for model in frame.flowodm.iter_models(Order, chunk_size=2):
            seen.append(model.order_id)
    assert seen == []  # row 10's chunk holds invalid row 11: none of it is yielded
    report = validation_report(info.value)
    assert report.invalid_index == [11]
    assert report.total == 2  # the rows checked so far, not the whole frame
    assert "no model of rows 10 to 11 was yielded" in str(info.value)
    assert "the 0 model(s) of the rows before were" in str(info.value)
    later = frame.loc[[10, 17, 11]].flowodm.iter_models(Order, chunk_size=1)
    assert [next(later).order_id, next(later).order_id] == ["a", "h"]
    with pytest.raises(DataFrameValidationError, match=r"the 2 model\(s\) of the rows before"):
        next(later)


def test_produce_raise_mode_raises_before_anything_with_the_report() -> None:
    with pytest.raises(DataFrameValidationError) as info:
        messy_orders().flowodm.produce(Order, dry_run=True, progress=False)
    assert "nothing was sent" in str(info.value)
    assert "on_invalid='report'" in str(info.value)
    assert validation_report(info.value).invalid == 6


def test_dry_run_report_accounts_for_every_row() -> None:
    report = messy_orders().flowodm.produce(
        Order, on_invalid="report", dry_run=True, progress=False
    )
    assert isinstance(report, ProduceReport)
    assert report.dry_run
    assert report.delivered == 2
    assert report.invalid == 6
    assert report.delivered + report.invalid + len(report.failed) == report.total == 8
    assert report.elapsed > 0
    assert report.rows_per_second == pytest.approx(report.total / report.elapsed)
    assert f"{report.rows_per_second:,.0f} rows/s" in report.summary()
    frame = report.to_frame()
    assert list(frame.columns) == ["index", "status", "field", "type", "message", "input"]
    assert set(frame["status"]) == {"invalid"}
    assert set(frame["index"]) == {11, 12, 13, 14, 15, 16}


def test_reports_render_as_text_and_escaped_html() -> None:
    frame = pd.DataFrame({"sensor": ["<script>x", "ok", "ok"], "count": [1, -1, 2]})
    report = frame.flowodm.produce(Reading, on_invalid="report", dry_run=True, progress=False)
    text = repr(report)
    assert "1 would be delivered (dry run), 2 invalid" in text
    assert "row 1 count: Input should be greater than or equal to 0" in text
    page = report._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    validation = frame.flowodm.validate(Reading)
    assert "2 invalid" in repr(validation)
    assert "<table" in validation._repr_html_()


@pytest.mark.parametrize(
    ("total", "issued", "problem"),
    [
        (Decimal("123456.789"), "2024-01-01", "total"),  # a third decimal place
        (Decimal("1234567.1"), "2024-01-01", "total"),  # too many digits before the point
        (12.5, "2024-01-01", None),
        (Decimal("1.5"), pd.Timestamp("2024-01-01 10:30"), "issued"),  # a time on a date
    ],
)
def test_decimal_and_date_rules(total: object, issued: object, problem: str | None) -> None:
    frame = pd.DataFrame({"number": [1], "total": [total], "issued": [issued]})
    report = frame.flowodm.validate(Invoice)
    assert [e.field for e in report.errors] == ([problem] if problem else [])


def test_wrong_types_are_reported_not_coerced_into_lies() -> None:
    frame = pd.DataFrame(
        {
            "sensor": [1, "s2", "s3", "s4"],
            "count": ["7", "x", 2.5, 3],
            "ok": ["yes", True, "maybe", None],
        }
    )
    report = frame.flowodm.validate(Reading)
    assert {(e.index, e.field) for e in report.errors} == {
        (0, "sensor"),
        (1, "count"),
        (2, "count"),
        (2, "ok"),
    }


def test_model_must_be_a_flow_model_class() -> None:
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(TypeError, match="needs a FlowBaseModel subclass, got class dict"):
        frame.flowodm.validate(dict)
    with pytest.raises(TypeError, match="got instance of str"):
        frame.flowodm.produce("Order", dry_run=True)
    with pytest.raises(TypeError, match="FlowBaseModel subclass"):
        frame.flowodm.to_models(int)


def test_duplicate_index_labels_are_refused() -> None:
    frame = pd.DataFrame({"sensor": ["a", "b"]}, index=[3, 3])
    with pytest.raises(ValueError, match="duplicate labels"):
        frame.flowodm.validate(Reading)
    with pytest.raises(ValueError, match="reset_index"):
        frame.flowodm.produce(Reading, dry_run=True, progress=False)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"on_invalid": "skip"}, "on_invalid must be"),
        ({"chunk_size": 0}, "chunk_size must be"),
        ({"dead_letter": "dlq"}, "dead_letter needs on_invalid='report'"),
        ({"timeout": -1}, "timeout must be"),
    ],
)
def test_bad_options_are_rejected(options: dict[str, object], message: str) -> None:
    frame = pd.DataFrame({"sensor": ["a"]})
    with pytest.raises(ValueError, match=message):
        frame.flowodm.produce(Reading, dry_run=True, **options)


def test_a_bad_progress_option_fails_before_connecting() -> None:
    frame = pd.DataFrame({"sensor": ["a"]})
    # No connection is configured: the option's own error must come first.
    with pytest.raises(InvalidArgumentError, match=r"progress='bar' is not understood"):
        frame.flowodm.produce(Reading, progress="bar")


def test_accessor_is_cheap_and_stateless() -> None:
    frame = pd.DataFrame({"anything": [object()]})
    first, second = frame.flowodm, frame.flowodm
    assert type(first) is type(second)
    assert not hasattr(first, "__dict__")


def test_empty_frame() -> None:
    frame = pd.DataFrame({"sensor": pd.Series([], dtype="str")})
    assert frame.flowodm.to_models(Reading) == []
    report = frame.flowodm.produce(Reading, dry_run=True, progress=False)
    assert (report.total, report.delivered, report.invalid) == (0, 0, 0)


def test_raise_mode_re_encodes_when_the_frame_is_too_big_to_keep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("flowodm.pandas.pipeline._KEEP_BUDGET", 0)
    frame = pd.DataFrame({"sensor": [f"s{i}" for i in range(50)], "count": range(50)})
    report = frame.flowodm.produce(Reading, dry_run=True, chunk_size=7, progress=False)
    assert (report.total, report.delivered, report.invalid) == (50, 50, 0)


def test_dry_run_progress_counts_the_rows_it_would_send() -> None:
    from tests.pandas.bars import RecordingBar

    frame = pd.DataFrame({"sensor": ["a", "b", "way too long"]})
    frame.flowodm.produce(Reading, on_invalid="report", dry_run=True, progress=RecordingBar)
    bar = RecordingBar.instances[-1]
    assert bar.n == 2
    assert bar.postfixes[-1] == {"invalid": 1, "failed": 0}


def test_produce_refuses_an_unknown_option_naming_the_closest() -> None:
    frame = pd.DataFrame({"order_id": ["o-1"], "amount": [1.0]})
    unknown = (
        r"produce\(\) got an unexpected keyword argument 'chunksize' \(did you mean 'chunk_size'"
    )
    with pytest.raises(ArgumentTypeError, match=unknown):
        frame.flowodm.produce(Order, chunksize=10, dry_run=True)
    with pytest.raises(ArgumentTypeError, match=r"'chunksize' \(did you mean 'chunk_size'") as run:
        ProduceRun(Order, chunksize=10, dry_run=True)  # type: ignore[call-arg]
    assert run.value.argument == "chunksize"
