"""Scalars with a fixed wire form: money as a decimal string, dates as ISO 8601.

``Date`` and ``DateTime`` are strawberry's own (``isoformat`` out, ISO text in). ``Decimal`` is
ours: strawberry's would print ``Decimal("1E+5")`` as ``"1E+5"`` and accept floats on input,
and money must never pass through a float. Every ``Decimal`` the schema takes is an amount, so
input is read as one (``integrations.money.parse_amount``'s rules): what the store could not
hold is refused here as BAD_USER_INPUT, in a variable or written in the document.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types.scalar import ScalarDefinition

from integrations.money import AmountInvalid, decimal_text, plain_decimal, shown, storable_amount
from resolvers.errors import PublicError


class DecimalInvalid(PublicError, ValueError):
    """A ``Decimal`` input that is not an amount the store could hold.

    A coded error rather than a bare ValueError: graphql-core keeps the exception a scalar
    raises for a value written in the document, and an uncoded one would be masked as INTERNAL.
    """

    code = "BAD_USER_INPUT"
    hint = AmountInvalid.hint


def parse_decimal(value: Any) -> Decimal:
    decimal = plain_decimal(value) if isinstance(value, str) else None
    if decimal is None:
        raise DecimalInvalid(f"Decimal must be a string like '1250000.50', got {shown(value)}")
    try:
        return storable_amount(decimal)
    except AmountInvalid as exc:
        raise DecimalInvalid(f"Decimal {exc.message}") from exc


DecimalScalar: ScalarDefinition = strawberry.scalar(
    name="Decimal",
    description=(
        'An exact decimal number as a string, e.g. money: "1250000.50". As input, at most 17'
        " digits before the point and 6 after."
    ),
    serialize=decimal_text,
    parse_value=parse_decimal,
)

SCALARS: dict[object, ScalarDefinition] = {Decimal: DecimalScalar}
"""The scalar map the schema is built with (``StrawberryConfig(scalar_map=SCALARS)``)."""
