"""The one written form of money and other exact decimals on the wire."""

from __future__ import annotations

from decimal import Decimal


def decimal_text(value: Decimal) -> str:
    """Plain digits, no exponent, no trailing fraction zeros: 222900.000000 -> "222900".

    The store keeps six fraction digits whatever was received, so trailing zeros say nothing
    about the invoice; receipts, JSON bodies and GraphQL all write amounts this way.
    """
    return format(value.normalize(), "f")
