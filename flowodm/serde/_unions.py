"""Union branch choice for the fastavro path: fastavro's rule, judged by FlowODM's strictness.

FlowODM writes with fastavro's ``strict_allow_default=True``: a record datum needs every field
that has no default, and may not carry extra ones. fastavro's ``write_union`` picks the branch
of an untagged value by validating it against each branch *without* that option, so a missing
field counts as ``None`` there. For the union ``[R1{f0: "null"}, R2{}]`` the datum ``{}``
validates as ``R1``, which is picked, and the write then fails ("Field f0 ... missing"),
although ``R2`` fits it exactly. Plain fastavro (no strict option) writes it as ``R1`` with
``f0`` filled in as ``null``, a field the datum never had.

``tag_union_records`` makes the choice again with fastavro's validator in strict mode (a field
without a value or a default fails; a default counts as a value), then writes each chosen
record branch in tuple notation ``(full name, dict)``, which fastavro writes as that branch.
The choice is otherwise ``write_union``'s: the first valid branch, except that among valid
record branches the one sharing the most field names with the dict wins (the first of equals),
a later valid non-record branch beats them, and a ``float`` branch yields to a later
``double``. That is the branch ``schemaless_writer(..., strict=True)`` picks.

Whenever fastavro's own (lenient) choice writes without an error it is the strict choice too:
the strictly valid branches are a subset of the leniently valid ones, and a branch that writes
under ``strict_allow_default`` is strictly valid. So ``AvroCodec`` only calls this after a
failed write, to retry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastavro.validation import _validate  # the validator write_union itself calls

__all__ = ["has_union", "tag_union_records"]

_STRICT = {"strict": True}
_NAMED = ("record", "error", "enum", "fixed")


def has_union(schema: Any, named: dict[str, Any], seen: set[str] | None = None) -> bool:
    """Whether the fastavro-parsed ``schema`` contains a union anywhere."""
    seen = set() if seen is None else seen
    if isinstance(schema, list):
        return True
    if isinstance(schema, str):
        if schema in named and schema not in seen:
            seen.add(schema)
            return has_union(named[schema], named, seen)
        return False
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if isinstance(kind, (list, dict)):
        return has_union(kind, named, seen)
    if kind in ("record", "error"):
        seen.add(str(schema.get("name")))
        return any(has_union(f["type"], named, seen) for f in schema["fields"])
    if kind == "array":
        return has_union(schema["items"], named, seen)
    if kind == "map":
        return has_union(schema["values"], named, seen)
    return isinstance(kind, str) and has_union(kind, named, seen)


def tag_union_records(datum: Any, schema: Any, named: dict[str, Any]) -> Any:
    """``datum`` with each untagged record in a union tagged with the strictly chosen branch.

    Returns ``datum`` itself when nothing changes. A value no branch fits is left as it is (the
    write then reports it).

    Raises:
        Exception: whatever fastavro's validator raises (e.g. for an unparsable date string).
    """
    return _walk(datum, schema, named)


def _walk(datum: Any, schema: Any, named: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return _union(datum, schema, named)
    if isinstance(schema, str):
        return _walk(datum, named[schema], named) if schema in named else datum
    kind = schema.get("type")
    if isinstance(kind, (list, dict)):
        return _walk(datum, kind, named)
    if kind in ("record", "error"):
        if not isinstance(datum, Mapping):
            return datum
        out = None
        for field in schema["fields"]:
            name = field["name"]
            if name in datum:
                value = _walk(datum[name], field["type"], named)
                if value is not datum[name]:
                    out = dict(datum) if out is None else out
                    out[name] = value
        return datum if out is None else out
    if kind == "array":
        if not isinstance(datum, Sequence) or isinstance(datum, (str, bytes)):
            return datum
        items = [_walk(item, schema["items"], named) for item in datum]
        return datum if all(a is b for a, b in zip(items, datum, strict=True)) else items
    if kind == "map":
        if not isinstance(datum, Mapping):
            return datum
        values = {k: _walk(v, schema["values"], named) for k, v in datum.items()}
        return datum if all(values[k] is v for k, v in datum.items()) else values
    if isinstance(kind, str) and kind in named:
        return _walk(datum, named[kind], named)
    return datum


def _union(datum: Any, branches: list[Any], named: dict[str, Any]) -> Any:
    if isinstance(datum, tuple):  # tuple notation: fastavro selects by name
        if len(datum) != 2:
            return datum
        name, value = datum
        for branch in branches:
            if _branch_name(branch) == name:
                inner = _walk(value, branch, named)
                return datum if inner is value else (name, inner)
        return datum
    index = _choose(datum, branches, named)
    if index < 0:
        return datum
    branch = branches[index]
    inner = _walk(datum, branch, named)
    if _kind(branch, named) == "record":
        return (_branch_name(branch), inner)
    return inner


def _choose(datum: Any, branches: list[Any], named: dict[str, Any]) -> int:
    """Index of the branch ``write_union`` would pick with strict validation, or -1."""
    best, most, could_be_float = -1, -1, False
    for index, candidate in enumerate(branches):
        kind = _kind(candidate, named)
        if could_be_float:
            if kind == "double":
                return index
            continue
        if not _validate(datum, candidate, named, raise_errors=False, field="", options=_STRICT):
            continue
        if kind == "record":
            record = named[candidate] if isinstance(candidate, str) else candidate
            fields = len({f["name"] for f in record["fields"]} & set(datum))
            if fields > most:
                best, most = index, fields
        elif kind == "float":
            best, could_be_float = index, True
        else:
            return index
    return best


def _kind(branch: Any, named: dict[str, Any]) -> Any:
    """The branch's type name, through a reference to a named type."""
    if isinstance(branch, str):
        return named[branch]["type"] if branch in named else branch
    return branch.get("type")


def _branch_name(branch: Any) -> Any:
    """The name fastavro's ``write_union`` matches tuple notation against."""
    if isinstance(branch, dict) and branch.get("type") in _NAMED:
        return branch["name"]
    return branch if isinstance(branch, str) else branch.get("type")
