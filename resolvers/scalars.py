"""Scalars with a fixed wire form: money as a decimal string, dates as ISO 8601.

``Date`` and ``DateTime`` are strawberry's own (``isoformat`` out, ISO text in). ``Decimal`` is
ours: strawberry's would print ``Decimal("1E+5")`` as ``"1E+5"`` and accept floats on input,
and money must never pass through a float.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types.scalar import ScalarDefinition

from integrations.money import decimal_text

_DECIMAL_TEXT = re.compile(r"-?\d+(\.\d+)?")


def parse_decimal(value: Any) -> Decimal:
    if not isinstance(value, str) or not _DECIMAL_TEXT.fullmatch(value):
        raise ValueError(f"Decimal must be a string like '1250000.50', got {value!r}")
    return Decimal(value)


DecimalScalar: ScalarDefinition = strawberry.scalar(
    name="Decimal",
    description='An exact decimal number as a string, e.g. money: "1250000.50".',
    serialize=decimal_text,
    parse_value=parse_decimal,
)

SCALARS: dict[object, ScalarDefinition] = {Decimal: DecimalScalar}
"""The scalar map the schema is built with (``StrawberryConfig(scalar_map=SCALARS)``)."""
