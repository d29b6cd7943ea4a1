"""Amounts in Vietnamese words, as an invoice's ``TgTTTBChu`` writes its total payable.

Groups of three digits are read with their scale (nghìn, triệu, tỷ). Inside a number, a group
after a higher one is read in full ("không trăm", "linh"), so 1,005,000 is "một triệu không
trăm linh năm nghìn"; and the usual sound changes apply (21 "hai mươi mốt", 15 "mười lăm").

>>> amount_in_words(Decimal(1250000))
'Một triệu hai trăm năm mươi nghìn đồng'
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

_DIGITS: Final = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_CURRENCY_WORDS: Final = {"VND": ("đồng", ""), "USD": ("đô la Mỹ", "xu"), "EUR": ("euro", "xu")}


def number_in_words(number: int) -> str:
    """Vietnamese words for a whole number: 1250000 → "một triệu hai trăm năm mươi nghìn"."""
    if number == 0:
        return _DIGITS[0]
    return " ".join(_number_words(number, leading=True))


def amount_in_words(amount: Decimal, currency: str = "VND") -> str:
    """TgTTTBChu: "Một triệu hai trăm năm mươi nghìn đồng"; other currencies name their unit."""
    unit, cents_unit = _CURRENCY_WORDS.get(currency, (currency, ""))
    whole, fraction = divmod(abs(amount), 1)
    words = f"{number_in_words(int(whole))} {unit}"
    cents = int((fraction * 100).quantize(Decimal(1), ROUND_HALF_UP))
    if cents and cents_unit:
        words += f" và {number_in_words(cents)} {cents_unit}"
    if amount < 0:
        words = f"âm {words}"
    return words[0].upper() + words[1:]


def _number_words(number: int, leading: bool) -> list[str]:
    billions, rest = divmod(number, 1_000_000_000)
    words: list[str] = []
    if billions:
        words += [*_number_words(billions, leading), "tỷ"]
        leading = False
    for scale, name in ((1_000_000, "triệu"), (1_000, "nghìn"), (1, "")):
        group = rest // scale % 1000
        if group:
            words += _group_words(group, full=not leading)
            words += [name] if name else []
            leading = False
    return words


def _group_words(group: int, full: bool) -> list[str]:
    """0..999; ``full`` when a higher group came first, so "không trăm" and "linh" are spoken."""
    hundreds, tens, units = group // 100, group // 10 % 10, group % 10
    words = [_DIGITS[hundreds], "trăm"] if full or hundreds else []
    if tens == 1:
        words.append("mười")
    elif tens:
        words += [_DIGITS[tens], "mươi"]
    elif units and words:
        words.append("linh")
    if units == 1 and tens >= 2:
        words.append("mốt")
    elif units == 5 and tens:
        words.append("lăm")
    elif units:
        words.append(_DIGITS[units])
    return words
