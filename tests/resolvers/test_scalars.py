from __future__ import annotations

from decimal import Decimal

import pytest

from resolvers.scalars import parse_decimal, serialize_decimal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E+5"), "100000"),
        (Decimal("1250000.50"), "1250000.50"),
        (Decimal("-0.000001"), "-0.000001"),
    ],
)
def test_decimals_are_written_positionally(value: Decimal, text: str) -> None:
    assert serialize_decimal(value) == text


@pytest.mark.parametrize("value", [1.5, 2, "1e5", "1,5", " 1", "NaN", ""])
def test_only_decimal_strings_are_read(value: object) -> None:
    with pytest.raises(ValueError, match="Decimal must be a string"):
        parse_decimal(value)


def test_decimal_strings_are_read_exactly() -> None:
    assert parse_decimal("-12.50") == Decimal("-12.50")
