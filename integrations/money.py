"""The one written form of money and other exact decimals on the wire, and the one reader of
amounts given as input.

An amount read from a caller (a filter bound, a cursor position) must be one the store could
hold: the money columns are ``numeric(23, 6)``, so at most 17 digits before the point and 6
after. Anything else (NaN, Infinity, an exponent, 1e999999999, forty digits) is the caller's
mistake, refused here with ``AmountInvalid`` before it reaches SQL, where it would fail as an
internal error.
"""

from __future__ import annotations

import re
from decimal import Decimal

from integrations.errors import GatewayError

MONEY_DIGITS = 23
"""Significant digits of a money column (``integrations.store.models.MONEY``)."""
MONEY_PLACES = 6
"""Digits after the point of a money column."""

_PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_SHOWN = 40


class AmountInvalid(GatewayError, ValueError):
    """An amount given as input is not plain decimal text, or not one the store could hold."""

    code = "AMOUNT_INVALID"
    hint = (
        f"Write an amount as plain digits with at most {MONEY_DIGITS - MONEY_PLACES} before the"
        f" point and {MONEY_PLACES} after, like 1250000.50."
    )


def decimal_text(value: Decimal) -> str:
    """Plain digits, no exponent, no trailing fraction zeros: 222900.000000 -> "222900".

    The store keeps six fraction digits whatever was received, so trailing zeros say nothing
    about the invoice; receipts, JSON bodies and GraphQL all write amounts this way.
    """
    return format(value.normalize(), "f")


def plain_decimal(text: str) -> Decimal | None:
    """``text`` as a Decimal when written as plain digits (``-12.50``), else None.

    No exponent, sign but ``-``, spaces, separators, NaN or Infinity; only ASCII digits.
    """
    return Decimal(text) if _PLAIN.fullmatch(text) else None


def parse_amount(text: str) -> Decimal:
    """``text`` as an amount the store could hold, else ``AmountInvalid``."""
    value = plain_decimal(text)
    if value is None:
        raise AmountInvalid(f"{shown(text)} is not a plain decimal like 1250000.50")
    return storable_amount(value)


def storable_amount(value: Decimal) -> Decimal:
    """``value`` with six decimals if a money column could hold it exactly, else
    ``AmountInvalid``.

    Trailing zeros after the sixth decimal are fine (``1.50000000``); a seventh significant
    decimal is not, since no stored amount has one and rounding it would move a bound.
    """
    if not value.is_finite():
        raise AmountInvalid(f"{shown(value)} is not a finite number")
    if value and value.adjusted() >= MONEY_DIGITS - MONEY_PLACES:
        raise AmountInvalid(
            f"{shown(value)} has more than {MONEY_DIGITS - MONEY_PLACES} digits before the point"
        )
    exact = value.quantize(Decimal(1).scaleb(-MONEY_PLACES))
    if exact != value:
        raise AmountInvalid(f"{shown(value)} has more than {MONEY_PLACES} digits after the point")
    return exact


def shown(value: object) -> str:
    """``value`` quoted for an error message, cut short so a huge input is not echoed back.

    A Decimal is written positionally (0.0000001, not 1E-7) unless its exponent is itself huge.
    """
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        plain = isinstance(exponent, int) and abs(exponent) <= _SHOWN
        value = format(value, "f") if plain else str(value)
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 5]}…{text[-4:]}"
