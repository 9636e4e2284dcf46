"""Checking what callers pass: one rule for bad arguments, one "did you mean" for typos.

A bad value raises ``InvalidArgumentError`` (a ``ValueError``), a wrong type or an unknown
keyword ``ArgumentTypeError`` (a ``TypeError``); both name the argument and what it takes.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Mapping
from typing import Any

from flowodm.exceptions import ArgumentTypeError, InvalidArgumentError

__all__ = [
    "did_you_mean",
    "positive_count",
    "positive_seconds",
    "reject_unknown",
    "require_choice",
]


def did_you_mean(name: str, candidates: Collection[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest candidate, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def reject_unknown(call: str, given: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Refuse keywords ``call`` does not take, as Python would, with the closest valid one.

    Raises:
        ArgumentTypeError: a keyword is not one of ``allowed``.
    """
    unknown = [name for name in given if name not in allowed]
    if unknown:
        name = unknown[0]
        raise ArgumentTypeError(
            f"{call}() got an unexpected keyword argument {name!r}{did_you_mean(name, allowed)}; "
            f"it takes: {', '.join(sorted(allowed))}",
            argument=name,
        )


def positive_seconds(name: str, value: object) -> float:
    """Return ``value`` as seconds if it is a positive number (not a bool).

    Raises:
        ArgumentTypeError: ``value`` is not a number.
        InvalidArgumentError: ``value`` is zero, negative, NaN or infinite (a wait that never
            ends is a hang, not a timeout).
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ArgumentTypeError(
            f"{name} must be a positive number of seconds, got {value!r}", argument=name
        )
    if not (value > 0 and math.isfinite(value)):
        raise InvalidArgumentError(
            f"{name} must be a positive number of seconds, got {value!r}", argument=name
        )
    return float(value)


def require_choice(name: str, value: object, choices: Collection[str]) -> str:
    """Return ``value`` if it is one of ``choices``.

    Raises:
        InvalidArgumentError: it is not; the message lists the choices.
    """
    if not isinstance(value, str) or value not in choices:
        listed = " or ".join(repr(choice) for choice in choices)
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        raise InvalidArgumentError(f"{name} must be {listed}, not {value!r}{hint}", argument=name)
    return value


def positive_count(name: str, value: object, unit: str = "rows") -> int:
    """Return ``value`` if it is an int of at least 1 (not a bool).

    Raises:
        ArgumentTypeError: ``value`` is not an int.
        InvalidArgumentError: ``value`` is below 1.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentTypeError(
            f"{name} must be a positive number of {unit}, not {value!r}", argument=name
        )
    if value < 1:
        raise InvalidArgumentError(
            f"{name} must be a positive number of {unit}, not {value!r}", argument=name
        )
    return value
