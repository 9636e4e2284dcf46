"""Matching frame columns to model fields: mappings, aliases, and all-at-once errors."""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from flowodm.exceptions import DataFrameValidationError
from flowodm.pandas.columns import ColumnPlan, plan_columns
from tests.pandas.conftest import validation_report
from tests.pandas.models import Invoice, Order

ORDER_COLUMNS = ["order_id", "customer_id", "amount", "quantity", "created_at", "status", "note"]


def _mapping(plan: ColumnPlan) -> dict[Hashable, str]:
    return {col: f.name for col, f in plan.pairs}


def test_columns_match_fields_by_name() -> None:
    plan = plan_columns(Order, ORDER_COLUMNS)
    assert _mapping(plan) == {c: c for c in ORDER_COLUMNS}
    assert plan.key_column is None


def test_optional_columns_may_be_absent() -> None:
    plan = plan_columns(Order, ORDER_COLUMNS[:-1])
    assert "note" not in _mapping(plan).values()


def test_every_missing_and_extra_column_is_listed_at_once() -> None:
    columns = ["order_id", "amt", "qty", "created_at", "status", "extra1"]
    with pytest.raises(DataFrameValidationError) as info:
        plan_columns(Order, columns, total=7)
    message = str(info.value)
    for name in ("customer_id", "amount", "quantity", "amt", "qty", "extra1"):
        assert repr(name) in message
    assert "did you mean 'amount'?" in message
    assert "Nothing was sent" in message
    report = validation_report(info.value)
    assert report.total == 7
    assert report.valid == 0
    kinds = sorted((e.type, e.field) for e in report.errors)
    assert kinds == [
        ("extra_column", "amt"),
        ("extra_column", "extra1"),
        ("extra_column", "qty"),
        ("missing_column", "amount"),
        ("missing_column", "customer_id"),
        ("missing_column", "quantity"),
    ]
    assert all(e.index is None for e in report.errors)


def test_extra_ignore_drops_unknown_columns() -> None:
    plan = plan_columns(Order, [*ORDER_COLUMNS, "junk"], extra="ignore")
    assert plan.ignored == ("junk",)
    assert "junk" not in _mapping(plan)


def test_mapping_renames_columns_and_wins_over_a_same_named_column() -> None:
    columns = ["id", "customer_id", "amount", "total", "quantity", "created_at", "status"]
    plan = plan_columns(
        Order, columns, columns={"id": "order_id", "total": "amount"}, extra="ignore"
    )
    assert _mapping(plan)["id"] == "order_id"
    assert _mapping(plan)["total"] == "amount"
    assert "amount" not in _mapping(plan)
    assert plan.ignored == ("amount",)


def test_aliases_match_columns() -> None:
    plan = plan_columns(Invoice, ["number", "total", "issued", "Reference"])
    assert _mapping(plan)["Reference"] == "ref"


def test_mapping_may_target_an_alias() -> None:
    plan = plan_columns(Invoice, ["number", "total", "issued", "r"], columns={"r": "Reference"})
    assert _mapping(plan)["r"] == "ref"


def test_unknown_mapping_entries_are_errors() -> None:
    with pytest.raises(DataFrameValidationError) as info:
        plan_columns(Order, ORDER_COLUMNS, columns={"nope": "amount", "note": "notes"})
    message = str(info.value)
    assert "'nope', which is not a column of the frame" in message
    assert "'notes', which is not a field or alias of Order (did you mean 'note'?)" in message


def test_two_columns_for_one_field_is_an_error() -> None:
    with pytest.raises(DataFrameValidationError, match="both map to field 'ref'"):
        plan_columns(Invoice, ["number", "total", "issued", "ref", "Reference"])


def test_duplicate_frame_columns_are_an_error() -> None:
    with pytest.raises(DataFrameValidationError, match="several columns named 'amount'"):
        plan_columns(Order, [*ORDER_COLUMNS, "amount"])


def test_key_column_need_not_be_a_field() -> None:
    plan = plan_columns(Order, [*ORDER_COLUMNS, "partition_key"], key="partition_key")
    assert plan.key_column == "partition_key"
    assert "partition_key" not in _mapping(plan)


def test_missing_key_column_is_an_error() -> None:
    with pytest.raises(DataFrameValidationError, match="key column 'pk' is not in the frame"):
        plan_columns(Order, ORDER_COLUMNS, key="pk")


def test_extra_must_be_forbid_or_ignore() -> None:
    with pytest.raises(ValueError, match="extra must be"):
        plan_columns(Order, ORDER_COLUMNS, extra="allow")  # type: ignore[arg-type]
