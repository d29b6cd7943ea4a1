from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.money import decimal_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E+5"), "100000"),
        (Decimal("222900.000000"), "222900"),
        (Decimal("1250000.50"), "1250000.5"),
        (Decimal("-0.000001"), "-0.000001"),
        (Decimal("0.000000"), "0"),
    ],
)
def test_decimals_are_written_positionally_without_trailing_zeros(
    value: Decimal, text: str
) -> None:
    assert decimal_text(value) == text
