"""Value conversions shared by schema defaults, datum conversion and the encoder.

One implementation each of: naive-as-UTC datetimes, epoch offsets, decimal quantizing and the
Avro ``bytes``/``decimal`` encoding, so defaults, datums and encoded bytes always agree.
"""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal

__all__ = ["decimal_bytes", "epoch_units", "quantize_decimal", "to_utc"]

_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)


def to_utc(value: dt.datetime) -> dt.datetime:
    """Return ``value`` as an aware UTC stdlib ``datetime``; naive values are taken as UTC.

    Subclasses such as ``pandas.Timestamp`` become plain ``datetime`` (sub-microsecond digits
    are dropped), so fastavro never takes its slow or local-time paths.
    """
    if type(value) is not dt.datetime:
        if value.tzinfo is not None:
            value = value.astimezone(_UTC)  # the subclass converts its own zone (pandas/pytz)
        value = dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo and _UTC,
            fold=value.fold,
        )
    tz = value.tzinfo
    if tz is _UTC:
        return value
    if tz is None:
        return value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


def epoch_units(value: dt.datetime, per_second: int) -> int:
    """Time since the Unix epoch in ``1/per_second`` units, floored as fastavro does."""
    delta = to_utc(value) - _EPOCH
    return (delta.days * 86400 + delta.seconds) * per_second + (
        delta.microseconds * per_second // 1_000_000
    )


def quantize_decimal(value: Decimal, precision: int, scale: int) -> Decimal:
    """Return ``value`` with exactly ``scale`` decimal places and at most ``precision`` digits.

    Raises:
        ValueError: the value is not finite, needs rounding, or has too many digits.
    """
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite decimal")
    context = decimal.Context(prec=precision, traps=[decimal.Inexact, decimal.InvalidOperation])
    try:
        return value.quantize(Decimal(1).scaleb(-scale), context=context)
    except decimal.Inexact:
        raise ValueError(
            f"{value} has more than {scale} decimal places; rounding would change it"
        ) from None
    except decimal.InvalidOperation:
        raise ValueError(
            f"{value} does not fit decimal(precision={precision}, scale={scale}): "
            f"at most {precision - scale} digits before the point"
        ) from None


def decimal_bytes(value: Decimal, scale: int) -> bytes:
    """Avro ``bytes``/``decimal`` encoding of ``value``, byte-identical to fastavro's."""
    sign, digits, exp = value.as_tuple()
    assert isinstance(exp, int)
    unscaled = int("".join(map(str, digits)) or "0") * 10 ** (exp + scale)
    size = (unscaled.bit_length() + 8) // 8  # fastavro sizes by the magnitude, not the sign
    encoded: bytes = (-unscaled if sign else unscaled).to_bytes(size, "big", signed=True)
    return encoded
