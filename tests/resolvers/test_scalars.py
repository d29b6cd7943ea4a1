from __future__ import annotations

from decimal import Decimal

import pytest

from resolvers.scalars import parse_decimal


@pytest.mark.parametrize("value", [1.5, 2, "1e5", "1,5", " 1", "NaN", ""])
def test_only_decimal_strings_are_read(value: object) -> None:
    with pytest.raises(ValueError, match="Decimal must be a string"):
        parse_decimal(value)


def test_decimal_strings_are_read_exactly() -> None:
    assert parse_decimal("-12.50") == Decimal("-12.50")
