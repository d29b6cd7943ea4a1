"""Page cursors are read back only in the exact form the store writes them."""

from __future__ import annotations

import base64
import uuid
from datetime import date
from decimal import Decimal

import pytest

from integrations.store import cursors
from integrations.store.cursors import CursorInvalid
from integrations.store.invoices import decode_cursor, encode_cursor

DAY = date(2026, 2, 1)
INVOICE = uuid.UUID("0b7e5a3c-2d1f-4f6a-9c8e-1a2b3c4d5e6f")


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_an_issued_cursor_reads_back_its_position() -> None:
    assert decode_cursor(encode_cursor(DAY, INVOICE)) == (DAY, INVOICE)


ISSUED = encode_cursor(DAY, INVOICE)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param(ISSUED.rstrip("="), id="padding-dropped"),
        pytest.param(f"{ISSUED}\n", id="newline"),
        pytest.param(ISSUED.replace("-", "+").replace("_", "/") + "!", id="foreign-alphabet"),
        pytest.param("8J+Ygw\ud800", id="surrogate"),
        pytest.param("Ｍ", id="not-ascii"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe|x").decode(), id="not-utf8"),
        pytest.param(b64(f"2026-02-01|{INVOICE}|x"), id="three-fields"),
        pytest.param(b64(f"issued_on:desc|2026-02-01|{INVOICE}"), id="workbench-cursor"),
        pytest.param(b64(f"20260201|{INVOICE}"), id="basic-date"),
        pytest.param(b64(f"2026-02-30|{INVOICE}"), id="no-such-day"),
        pytest.param(b64(f"2026-W05-7|{INVOICE}"), id="week-date"),
        pytest.param(b64(f"2026-02-01|{str(INVOICE).upper()}"), id="uppercase-uuid"),
        pytest.param(b64(f"2026-02-01|{INVOICE.hex}"), id="bare-uuid"),
        pytest.param(b64(f"2026-02-01|{{{INVOICE}}}"), id="braced-uuid"),
    ],
)
def test_anything_else_is_a_cursor_error(cursor: str) -> None:
    with pytest.raises(CursorInvalid) as raised:
        decode_cursor(cursor)
    assert raised.value.code == "CURSOR_INVALID"
    assert raised.value.message.startswith("after: cursor ")


@pytest.mark.parametrize(
    "text",
    [
        "NaN", "sNaN", "Infinity", "-Infinity", "1e999999999", "1E+5", "9" * 40,
        "100000000000000000.000000", "108000", "108000.5", "108000.0000001", " 108000.000000",
    ],
)  # fmt: skip
def test_cursor_amounts_are_six_decimal_amounts_the_store_could_hold(text: str) -> None:
    with pytest.raises(CursorInvalid):
        cursors.read_amount(b64(text), text)


def test_cursor_amounts_read_back_as_written() -> None:
    amount = Decimal("-99999999999999999.999999")
    assert cursors.read_amount("c", cursors.write_amount(amount)) == amount
    assert cursors.write_amount(Decimal("0E-6")) == "0.000000"


def test_a_huge_cursor_is_not_echoed_back() -> None:
    with pytest.raises(CursorInvalid) as raised:
        decode_cursor("A" * 100_000)
    assert len(raised.value.message) < 100
