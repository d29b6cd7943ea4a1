"""Identity links: which taxpayer sold, and which bought.

A 12-digit number is a personal ID (the tax code of individuals and household businesses since
July 2025) and links at once. A 10- or 13-digit tax code may be a business, or an individual's
legacy personal tax code that the tax registry maps to a personal ID; when the registry cannot
answer now, the link is kept pending and retried later, never dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from integrations.errors import UpstreamError
from integrations.identity import PersonalId, TaxCode, parse_taxpayer_id
from integrations.store.invoices import InvoiceStore, LinkRecord
from integrations.store.models import LinkState

LegacyLookup = Callable[[Sequence[str]], Awaitable[dict[str, str | None]]]
"""Maps 10-digit tax codes to the personal ID they were issued to (``None``: not personal)."""


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
