"""Where a topic read starts: ``Start`` and the check of what callers pass for it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from flowodm._arguments import require_choice
from flowodm.exceptions import ArgumentTypeError, InvalidArgumentError

__all__ = ["Start", "check_start", "partition_offsets"]

#: ``"earliest"``, ``"latest"``, a ``datetime`` (naive means UTC) or ``{partition: offset}``.
Start: TypeAlias = "Literal['earliest', 'latest'] | dt.datetime | Mapping[int, int]"


def check_start(start: object) -> str | int | dict[int, int]:
    """``start`` checked: a keyword, epoch milliseconds (from a datetime), or partition offsets.

    Raises:
        InvalidArgumentError: an unknown keyword, or a negative partition or offset.
        ArgumentTypeError: a value of another type.
    """
    if isinstance(start, str):
        return require_choice("start", start, ("earliest", "latest"))
    if isinstance(start, dt.datetime):
        aware = start if start.tzinfo is not None else start.replace(tzinfo=dt.UTC)
        return int(aware.timestamp() * 1000)
    if isinstance(start, Mapping):
        return partition_offsets(start, "start")
    raise ArgumentTypeError(
        f"start must be 'earliest', 'latest', a datetime or {{partition: offset}}, "
        f"not {type(start).__name__}",
        argument="start",
    )


def partition_offsets(mapping: Mapping[Any, Any], argument: str) -> dict[int, int]:
    """``mapping`` checked as ``{partition: offset}``: ints, none negative, at least one.

    Raises:
        ArgumentTypeError: a partition or offset that is not an int.
        InvalidArgumentError: a negative one, or an empty mapping.
    """
    offsets: dict[int, int] = {}
    for partition, offset in mapping.items():
        for what, value in (("partition", partition), ("offset", offset)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ArgumentTypeError(
                    f"{argument} maps partitions to offsets (ints), got {what} {value!r}",
                    argument=argument,
                )
            if value < 0:
                raise InvalidArgumentError(
                    f"{argument}: {what} {value} is negative", argument=argument
                )
        offsets[partition] = offset
    if not offsets:
        raise InvalidArgumentError(f"{argument}={{}} names no partition to read", argument=argument)
    return offsets
