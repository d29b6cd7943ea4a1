"""Shared set-up for the intake benchmarks: keys, merchants and unique signed invoices."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from gateway.keys import DemoPki
from integrations.einvoice.compose import (
    InvoiceDraft,
    LineDraft,
    PartyDraft,
    compose_invoice,
    compose_message,
)
from integrations.einvoice.pki import SignerIdentity
from integrations.einvoice.signing import sign_envelope, sign_invoice

SELLER = "0100109106"
SELLER_NAME = "Công ty TNHH Nhà hàng Sen Hồ Tây"
SELLER_PARTY = PartyDraft(SELLER_NAME, tax_code=SELLER, address="614 Lạc Long Quân, Hà Nội")
BUYERS = ("001099012345", "079301000123", "048085004321", "001190007777")

MENU = (
    ("Gỏi cuốn tôm thịt", 85000, "8%", "phần"),
    ("Phở bò tái chín", 75000, "8%", "tô"),
    ("Cá kho tộ", 165000, "8%", "phần"),
    ("Rau muống xào tỏi", 55000, "8%", "đĩa"),
    ("Cơm chiên hải sản", 95000, "8%", "đĩa"),
    ("Nước ép cam", 45000, "8%", "ly"),
    ("Bia Sài Gòn Special", 28000, "10%", "lon"),
    ("Rượu vang đỏ Đà Lạt", 450000, "10%", "chai"),
)


def restaurant_draft(
    number: int, *, series: str | None = None, seller: PartyDraft = SELLER_PARTY
) -> InvoiceDraft:
    """A realistic dinner bill of eight lines (about 6 KB once signed), by default the
    restaurant's (``seller`` another merchant's)."""
    today = datetime.now(UTC).date()
    lines = tuple(
        LineDraft(name, Decimal(1 + (number + i) % 4), Decimal(price), rate, unit)
        for i, (name, price, rate, unit) in enumerate(MENU)
    )
    buyer = BUYERS[number % len(BUYERS)]
    return InvoiceDraft(
        seller=seller,
        buyer=PartyDraft("Khách hàng", personal_id=buyer, address="Hà Nội"),
        lines=lines,
        series=series or f"C{today:%y}TBN",
        number=number,
        issued_on=today,
    )


def signed_invoices(
    signer: SignerIdentity, start: int, count: int, *, seller: PartyDraft = SELLER_PARTY
) -> Iterator[bytes]:
    now = datetime.now(UTC)
    for number in range(start, start + count):
        draft = restaurant_draft(number, seller=seller)
        yield sign_invoice(compose_invoice(draft), signer, signing_time=now)


def signed_batches(signer: SignerIdentity, start: int, batches: int, size: int) -> Iterator[bytes]:
    """206 messages of ``size`` cash-register invoices each, signed once in CKSNNT."""
    now = datetime.now(UTC)
    today = now.date()
    for batch in range(batches):
        first = start + batch * size
        invoices = [
            compose_invoice(
                replace(
                    restaurant_draft(n, series=f"C{today:%y}MBN"),
                    cash_register_code=f"M1-{today:%y}-BN001-{n:011d}",
                )
            )
            for n in range(first, first + size)
        ]
        envelope = compose_message(206, invoices, sender=f"V{SELLER}", tax_code=SELLER)
        yield sign_envelope(envelope, signer, signing_time=now)


def bench_pki(folder: Path) -> tuple[DemoPki, SignerIdentity]:
    pki = DemoPki(folder).ensure()
    return pki, pki.ensure_merchant(SELLER, SELLER_NAME)
