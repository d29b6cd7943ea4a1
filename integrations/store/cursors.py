"""Page cursors of the invoice reads: base64 of ``|``-separated fields, read back strictly.

A cursor is accepted only if it is exactly the text this module would write for the position
it names: canonical base64, the expected number of fields, each field in the one form its
writer uses (an ISO date, a lowercase UUID, an amount with six decimals the money columns could
hold). Anything else (other base64 spellings, NaN, 1e999999999, 2026-13-45, a foreign UUID
form) is ``CursorInvalid``, so no hand-made value reaches SQL. The message names the argument
and shows only the start of what was sent.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

from integrations.errors import GatewayError
from integrations.money import MONEY_PLACES, parse_amount, shown

T = TypeVar("T")


class CursorInvalid(GatewayError, ValueError):
    """A page cursor that the read it was passed to did not issue."""

    code = "CURSOR_INVALID"
    hint = "Pass back an endCursor from a previous page of the same query, or none for the first."


def encode(*fields: str) -> str:
    return base64.urlsafe_b64encode("|".join(fields).encode()).decode()


def decode(cursor: str, count: int) -> list[str]:
    """The ``count`` fields of ``cursor``, if it is canonical base64 of that many fields."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
    except (binascii.Error, UnicodeError) as exc:
        raise invalid(cursor) from exc
    fields = text.split("|")
    if len(fields) != count or encode(*fields) != cursor:
        raise invalid(cursor)
    return fields


def write_day(day: date) -> str:
    return day.isoformat()


def read_day(cursor: str, text: str) -> date:
    return _read(cursor, text, date.fromisoformat, write_day)


def write_id(invoice_id: uuid.UUID) -> str:
    return str(invoice_id)


def read_id(cursor: str, text: str) -> uuid.UUID:
    return _read(cursor, text, uuid.UUID, write_id)


def write_amount(amount: Decimal) -> str:
    return format(amount.quantize(Decimal(1).scaleb(-MONEY_PLACES)), "f")


def read_amount(cursor: str, text: str) -> Decimal:
    return _read(cursor, text, parse_amount, write_amount)


def _read(cursor: str, text: str, parse: Callable[[str], T], write: Callable[[T], str]) -> T:
    """``parse(text)`` if it reads and is written back as exactly ``text``, else refused."""
    try:
        value = parse(text)
    except ValueError as exc:
        raise invalid(cursor) from exc
    if write(value) != text:
        raise invalid(cursor)
    return value


def invalid(cursor: str, why: str = "is not one this gateway issued") -> CursorInvalid:
    return CursorInvalid(f"after: cursor {shown(cursor)} {why}")
