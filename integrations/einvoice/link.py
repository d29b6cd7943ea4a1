"""Identity numbers: checked (the 4xxx stage), then linked to who sold and who bought.

``check_identities`` holds every number an invoice states to the rules of
``einvoice-format.md`` §7, the same rules for the seller, the buyer and the software provider;
the tax authority refuses an invoice naming a number no one can have been given. A passport
number (``SHChieu``) and a budget-unit code (``MDVQHNSach``) have no structure the format
states beyond their length, which the schema checks, so nothing more is checked for them.

A 12-digit number is a personal ID (the tax code of individuals and household businesses since
July 2025) and links at once. A 10- or 13-digit tax code may be a business, or an individual's
legacy personal tax code that the tax registry maps to a personal ID; when the registry cannot
answer now, the link is kept pending and retried later, never dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime

from integrations.einvoice import codes
from integrations.einvoice.codes import Code
from integrations.einvoice.document import InvoiceDocument
from integrations.einvoice.findings import Finding
from integrations.einvoice.rules import VIETNAM_TIME
from integrations.errors import IdentityError, UpstreamError
from integrations.identity import PersonalId, TaxCode, parse_taxpayer_id
from integrations.store.invoices import InvoiceStore, LinkRecord
from integrations.store.models import LinkState

LegacyLookup = Callable[[Sequence[str]], Awaitable[dict[str, str | None]]]
"""Maps 10-digit tax codes to the personal ID they were issued to (``None``: not personal)."""

Reader = Callable[..., TaxCode | PersonalId]
"""Reads one identity number, given ``today``; raises ``IdentityError`` when it cannot be."""


def check_identities(document: InvoiceDocument, *, now: datetime) -> list[Finding]:
    """A finding for each identity number the invoice states that cannot have been issued.

    A tax code field (``MST``) takes a 10-digit code, a branch code, or since 07/2025 a
    12-digit personal ID number; ``CCCDan`` only the last. ``now`` is the receipt time (naive:
    Vietnam time), against which a birth year is judged.
    """
    today = (now.astimezone(VIETNAM_TIME) if now.tzinfo else now).date()
    buyer = document.buyer
    buyer_code, buyer_id = (buyer.tax_code, buyer.personal_id) if buyer else (None, None)
    fields: tuple[tuple[Code, str, str | None, Reader], ...] = (
        (codes.SELLER_TAX_CODE, "NDHDon/NBan/MST", document.seller.tax_code, parse_taxpayer_id),
        (codes.BUYER_TAX_CODE, "NDHDon/NMua/MST", buyer_code, parse_taxpayer_id),
        (codes.BUYER_PERSONAL_ID, "NDHDon/NMua/CCCDan", buyer_id, PersonalId),
        (codes.PROVIDER_TAX_CODE, "TTChung/MSTTCGP", document.provider_tax_code, parse_taxpayer_id),
    )
    findings = []
    for code, path, value, read in fields:
        refusal = _refusal(value, read, today)
        if refusal is not None:
            findings.append(code.finding(refusal, path=f"HDon/DLHDon/{path}"))
    return findings


def _refusal(value: str | None, read: Reader, today: date) -> str | None:
    """Why ``value`` cannot have been issued, or None when it may have been (or is absent)."""
    if not value:
        return None
    try:
        read(value, today=today)
    except IdentityError as error:
        return str(error)
    return None


class IdentityLinker:
    def __init__(self, legacy_lookup: LegacyLookup | None = None) -> None:
        self.legacy_lookup = legacy_lookup

    async def links(
        self,
        *,
        seller_tax_code: str,
        buyer_tax_code: str | None,
        buyer_personal_id: str | None,
    ) -> tuple[LinkRecord, ...]:
        links = [self._direct("seller", seller_tax_code)]
        if buyer_personal_id:
            links.append(_resolved("buyer", "personal_id", buyer_personal_id))
        if buyer_tax_code and buyer_tax_code != buyer_personal_id:
            links.append(await self._buyer_tax_code(buyer_tax_code))
        return tuple(links)

    async def resolve(self, kind: str, value: str) -> str | None:
        """Retry one pending link: the subject, or ``None`` while the registry cannot say."""
        if kind != "legacy_tax_code" or self.legacy_lookup is None:
            return None
        try:
            mapping = await self.legacy_lookup([value])
        except UpstreamError:
            return None
        return mapping.get(value) or value

    def _direct(self, role: str, value: str) -> LinkRecord:
        identity = parse_taxpayer_id(value)
        kind = "personal_id" if isinstance(identity, PersonalId) else "tax_code"
        return _resolved(role, kind, str(identity))

    async def _buyer_tax_code(self, value: str) -> LinkRecord:
        identity = parse_taxpayer_id(value)
        if isinstance(identity, PersonalId):
            return _resolved("buyer", "personal_id", str(identity))
        if not _may_be_personal(identity) or self.legacy_lookup is None:
            return _resolved("buyer", "tax_code", str(identity))
        subject = await self.resolve("legacy_tax_code", str(identity))
        if subject is None:
            return LinkRecord("buyer", "legacy_tax_code", str(identity), None, LinkState.PENDING)
        return LinkRecord("buyer", "legacy_tax_code", str(identity), subject, LinkState.RESOLVED)


def _may_be_personal(code: TaxCode) -> bool:
    """Branch codes belong to organisations; only plain 10-digit codes can be legacy personal."""
    return code.branch is None


def _resolved(role: str, kind: str, value: str) -> LinkRecord:
    return LinkRecord(role, kind, value, value, LinkState.RESOLVED)


async def retry_pending_links(
    store: InvoiceStore, linker: IdentityLinker, *, limit: int = 500
) -> int:
    """Try every pending link once more; returns how many are now resolved."""
    resolved = 0
    for link_id, kind, value in await store.pending_links(limit=limit):
        subject = await linker.resolve(kind, value)
        await store.settle_link(link_id, subject)
        resolved += subject is not None
    return resolved
