"""Match a frame's columns to a model's fields, and report every mismatch at once.

Frame columns match fields through an explicit ``columns={"frame column": "field"}`` mapping,
then by field name, then by alias. Missing required fields, unexpected columns, unknown mapping
entries and two columns claiming one field are all collected and raised together, before
anything is coerced or sent, so one run of the error message is enough to fix the frame.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from flowodm._arguments import did_you_mean, require_choice
from flowodm.exceptions import DataFrameValidationError
from flowodm.pandas.fields import FrameField, frame_fields
from flowodm.pandas.reports import RowError, ValidationReport

__all__ = ["ColumnPlan", "Extra", "plan_columns"]

Extra = Literal["forbid", "ignore"]


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """Which frame column feeds which field, and which column holds the message key.

    Attributes:
        pairs: ``(frame column, field)`` for every matched column, in model field order.
        key_column: The frame column whose value becomes the key, if one was named.
        ignored: Frame columns dropped because ``extra="ignore"``.
    """

    pairs: tuple[tuple[Hashable, FrameField], ...]
    key_column: Hashable | None
    ignored: tuple[Hashable, ...] = ()

    def column_for(self, field_name: str) -> Hashable | None:
        """Return the frame column feeding ``field_name``, if any."""
        return next((col for col, f in self.pairs if f.name == field_name), None)


def _suggest(name: Hashable, candidates: Iterable[str]) -> str:
    if not isinstance(name, str):
        return ""
    return did_you_mean(name, list(candidates))


class _Matcher:
    """Collects matches and problems while walking the columns once."""

    def __init__(self, model: type[BaseModel], frame_columns: list[Hashable]) -> None:
        self.model = model
        self.fields = frame_fields(model)
        self.frame_columns = frame_columns
        self.by_name: dict[str, FrameField] = {}
        for f in self.fields:  # names first, so an alias never shadows another field's name
            self.by_name.setdefault(f.name, f)
        for f in self.fields:
            for alias in f.names[1:]:
                self.by_name.setdefault(alias, f)
        self.matched: dict[str, Hashable] = {}
        self.problems: list[RowError] = []

    def claim(self, column: Hashable, f: FrameField) -> None:
        if f.name in self.matched:
            self.problems.append(
                RowError(
                    None,
                    str(column),
                    f"columns {self.matched[f.name]!r} and {column!r} both map to field "
                    f"{f.name!r}; drop or rename one of them",
                    "duplicate_column",
                )
            )
        else:
            self.matched[f.name] = column

    def apply_mapping(self, columns: Mapping[Hashable, str]) -> set[Hashable]:
        used: set[Hashable] = set()
        for column, target in columns.items():
            if column not in self.frame_columns:
                hint = _suggest(column, (str(c) for c in self.frame_columns))
                self.problems.append(
                    RowError(
                        None,
                        str(column),
                        f"columns= maps {column!r}, which is not a column of the frame{hint}",
                        "unknown_mapping",
                    )
                )
                continue
            f = self.by_name.get(target)
            if f is None:
                hint = _suggest(target, self.by_name)
                self.problems.append(
                    RowError(
                        None,
                        str(column),
                        f"columns= maps {column!r} to {target!r}, which is not a field or alias "
                        f"of {self.model.__name__}{hint}",
                        "unknown_mapping",
                    )
                )
                used.add(column)
                continue
            self.claim(column, f)
            used.add(column)
        return used


def plan_columns(
    model: type[BaseModel],
    frame_columns: Iterable[Hashable],
    *,
    columns: Mapping[Hashable, str] | None = None,
    extra: Extra = "forbid",
    key: Hashable | None = None,
    total: int = 0,
) -> ColumnPlan:
    """Decide which frame column feeds which field of ``model``.

    Args:
        model: The pydantic model rows become.
        frame_columns: The frame's column labels.
        columns: Explicit ``{frame column: field name or alias}`` entries; they win over names.
        extra: ``"forbid"`` rejects columns that match no field; ``"ignore"`` drops them.
        key: A frame column holding the message key (it need not be a field).
        total: Number of rows, for the report carried by the error.

    Raises:
        DataFrameValidationError: required fields have no column, a column matches nothing
            (with ``extra="forbid"``), a mapping entry is unknown, or two columns claim one
            field; the message lists every problem and the report has one entry per problem.
        InvalidArgumentError: ``extra`` is not ``"forbid"`` or ``"ignore"``.
    """
    require_choice("extra", extra, ("forbid", "ignore"))
    labels = list(frame_columns)
    duplicates = sorted({str(c) for c in labels if labels.count(c) > 1})
    m = _Matcher(model, labels)
    for dup in duplicates:
        m.problems.append(
            RowError(None, dup, f"the frame has several columns named {dup!r}", "duplicate_column")
        )
    used = m.apply_mapping(columns or {})
    if key is not None and key not in labels:
        hint = _suggest(key, (str(c) for c in labels))
        m.problems.append(
            RowError(None, str(key), f"key column {key!r} is not in the frame{hint}", "missing_key")
        )
    mapped = set(m.matched)  # fields an explicit mapping claimed win over same-named columns
    unmatched: list[Hashable] = []
    for column in labels:
        if column in used:
            continue
        f = m.by_name.get(column) if isinstance(column, str) else None
        if f is not None and f.name not in mapped:
            m.claim(column, f)
        elif column != key:
            unmatched.append(column)
    for f in m.fields:
        if f.required and f.name not in m.matched:
            hint = _suggest(f.name, (str(c) for c in unmatched))
            m.problems.append(
                RowError(
                    None,
                    f.name,
                    f"required field {f.name!r} has no column{hint}",
                    "missing_column",
                )
            )
    if extra == "forbid":
        for column in unmatched:
            hint = _suggest(column, m.by_name)
            m.problems.append(
                RowError(
                    None,
                    str(column),
                    f"column {column!r} matches no field of {model.__name__}{hint}",
                    "extra_column",
                )
            )
    if m.problems:
        _raise(model, m.problems, total)
    order = {f.name: i for i, f in enumerate(m.fields)}
    pairs = sorted(
        ((col, next(f for f in m.fields if f.name == name)) for name, col in m.matched.items()),
        key=lambda pair: order[pair[1].name],
    )
    ignored = tuple(unmatched) if extra == "ignore" else ()
    return ColumnPlan(pairs=tuple(pairs), key_column=key, ignored=ignored)


def _raise(model: type[BaseModel], problems: list[RowError], total: int) -> None:
    listing = "; ".join(p.message for p in problems)
    fixes = []
    if any(p.type == "extra_column" for p in problems):
        fixes.append("pass extra='ignore' to drop unexpected columns")
    if any(p.type in ("missing_column", "extra_column") for p in problems):
        fixes.append("map frame columns to fields with columns={'column': 'field'}")
    fix = f". To fix: {' or '.join(fixes)}" if fixes else ""
    report = ValidationReport(model=model.__name__, total=total, errors=tuple(problems))
    raise DataFrameValidationError(
        f"the frame's columns do not fit {model.__name__}: {listing}{fix}. Nothing was sent.",
        report=report,
    )
