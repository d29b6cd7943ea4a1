"""Local conventions for what the pages show: dates dd/mm/yyyy, times in Vietnam's time zone,
money with dots between thousands (1.234.567 ₫), IDs exactly as they are."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Final

VIETNAM: Final = timezone(timedelta(hours=7), "ICT")
"""Indochina Time, all year: Vietnam keeps no daylight saving."""

CURRENCY_SIGNS: Final = {"VND": "₫"}


DAY_TYPED: Final = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*")


def iso_day(text: str) -> str:
    """A day typed as ``20/11/2026`` in ISO form (``2026-11-20``), as the API takes it;
    anything else unchanged, for the API to refuse with its own message."""
    typed = DAY_TYPED.fullmatch(text)
    if typed is None:
        return text
    day_of_month, month_number, year = typed.groups()
    return f"{year}-{int(month_number):02d}-{int(day_of_month):02d}"


def day(value: date | str | None) -> str:
    """``2026-11-20`` as ``20/11/2026``; a time is first moved to Vietnam's time. Text that is
    no ISO date is shown as it is (a value typed wrong, shown back to be mended)."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = _local(value).date()
    return value.strftime("%d/%m/%Y")


def month(value: str) -> str:
    """A summary's ``2026-11`` as ``11/2026``."""
    year, _, number = value.partition("-")
    return f"{number}/{year}" if number else value


def moment(value: datetime | str | None) -> str:
    """A time as ``20/11/2026 14:05`` in Vietnam's time."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _local(value).strftime("%d/%m/%Y %H:%M")


def _local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VIETNAM)


def number(value: Decimal | int | str | None, places: int = 0) -> str:
    """Dots between thousands and a comma before decimals: ``1.234.567,5``."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{amount:,.{places}f}" if places else f"{amount:,.0f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def quantity(value: Decimal | str | None) -> str:
    """A quantity with as many decimals as it has: ``2``, ``1,5``."""
    if value in (None, ""):
        return ""
    amount = Decimal(str(value)).normalize()
    places = max(0, -amount.as_tuple().exponent)  # type: ignore[operator]
    return number(amount, int(places))


def money(value: Decimal | int | str | None, currency: str = "VND") -> str:
    """``1.234.567 ₫`` for dong (no minor unit); other currencies with two decimals and code."""
    if value in (None, ""):
        return ""
    if currency == "VND":
        return f"{number(value)} {CURRENCY_SIGNS['VND']}"
    return f"{number(value, 2)} {currency}"
