from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.money import (
    MONEY_DIGITS,
    MONEY_PLACES,
    AmountInvalid,
    decimal_text,
    parse_amount,
    storable_amount,
)
from integrations.store.models import MONEY


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


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("0", Decimal("0.000000")),
        ("-12.50", Decimal("-12.500000")),
        ("99999999999999999.999999", Decimal("99999999999999999.999999")),
        ("1.50000000000", Decimal("1.500000")),
        ("007", Decimal("7.000000")),
    ],
)
def test_amounts_the_store_could_hold_are_read_with_six_decimals(
    text: str, amount: Decimal
) -> None:
    parsed = parse_amount(text)
    assert (parsed, parsed.as_tuple().exponent) == (amount, -MONEY_PLACES)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("NaN", "not a plain decimal"),
        ("Infinity", "not a plain decimal"),
        ("-Infinity", "not a plain decimal"),
        ("1e999999999", "not a plain decimal"),
        ("1E+5", "not a plain decimal"),
        ("+1", "not a plain decimal"),
        (" 1", "not a plain decimal"),
        ("1,5", "not a plain decimal"),
        ("١٢", "not a plain decimal"),
        ("", "not a plain decimal"),
        ("9" * 40, "more than 17 digits before the point"),
        ("100000000000000000", "more than 17 digits before the point"),
        ("0.0000001", "'0.0000001' has more than 6 digits after the point"),
        ("1.0000005", "more than 6 digits after the point"),
    ],
)
def test_anything_else_is_refused_with_a_code(text: str, why: str) -> None:
    with pytest.raises(AmountInvalid, match=why) as raised:
        parse_amount(text)
    assert raised.value.code == "AMOUNT_INVALID"


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "1e999999999", "1e-999999999"])
def test_stored_amounts_are_finite_and_within_the_column(value: str) -> None:
    with pytest.raises(AmountInvalid):
        storable_amount(Decimal(value))


def test_a_huge_amount_is_not_echoed_back() -> None:
    with pytest.raises(AmountInvalid) as raised:
        parse_amount("9" * 1_000_000)
    assert len(raised.value.message) < 100


def test_the_limits_are_the_money_columns() -> None:
    assert MONEY == {"max_digits": MONEY_DIGITS, "decimal_places": MONEY_PLACES}
