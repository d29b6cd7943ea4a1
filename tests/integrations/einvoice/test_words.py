"""Amounts in Vietnamese words, as TgTTTBChu writes them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.einvoice.words import amount_in_words, number_in_words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (15, "mười lăm"),
        (21, "hai mươi mốt"),
        (45, "bốn mươi lăm"),
        (105, "một trăm linh năm"),
        (110, "một trăm mười"),
        (21_600, "hai mươi mốt nghìn sáu trăm"),
        (1_005_000, "một triệu không trăm linh năm nghìn"),
        (1_000_005, "một triệu không trăm linh năm"),
        (1_250_000, "một triệu hai trăm năm mươi nghìn"),
        (1_000_000_005, "một tỷ không trăm linh năm"),
        (2_500_000_000_000, "hai nghìn năm trăm tỷ"),
    ],
)
def test_number_in_words(number: int, words: str) -> None:
    assert number_in_words(number) == words


def test_amount_in_words() -> None:
    assert amount_in_words(Decimal(1250000)) == "Một triệu hai trăm năm mươi nghìn đồng"
    assert amount_in_words(Decimal("125.50"), "USD") == (
        "Một trăm hai mươi lăm đô la Mỹ và năm mươi xu"
    )
    assert amount_in_words(Decimal(-21600)) == "Âm hai mươi mốt nghìn sáu trăm đồng"
    assert amount_in_words(Decimal(7), "JPY") == "Bảy JPY"
