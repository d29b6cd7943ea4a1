"""BUYER_UNKNOWN and ISSUED_AFTER_CEASED: the parties as the agencies know them.

A buyer's personal ID number that the population registry has no record of names nobody, so
the purchase cannot be a person's. An invoice dated after the seller's tax registration
ceased was issued by a business that no longer exists for tax. Both read an agency; when it
cannot answer, the check says so (``None``) and earlier findings stand.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.errors import UpstreamError
from integrations.risk.flags import Flag, FlagCode
from integrations.store.risk import InvoiceFacts
from integrations.upstreams.population import PopulationClient
from integrations.upstreams.tax import TaxRegistryClient, TaxStatus


@dataclass(frozen=True, slots=True)
class BuyerCheck:
    population: PopulationClient
    scope: str
    codes: frozenset[FlagCode] = frozenset({FlagCode.BUYER_UNKNOWN})

    async def run(self, facts: InvoiceFacts) -> list[Flag] | None:
        buyer = facts.buyer_personal_id
        if not buyer:
            return []
        try:
            people = await self.population.people([buyer], scope=self.scope)
        except UpstreamError:
            return None
        if people.get(buyer) is not None:
            return []
        return [Flag(FlagCode.BUYER_UNKNOWN, f"{buyer} is not on the population registry")]


@dataclass(frozen=True, slots=True)
class SellerStatusCheck:
    tax: TaxRegistryClient
    scope: str
    codes: frozenset[FlagCode] = frozenset({FlagCode.ISSUED_AFTER_CEASED})

    async def run(self, facts: InvoiceFacts) -> list[Flag] | None:
        seller = facts.seller_tax_code
        try:
            taxpayers = await self.tax.taxpayers([seller], scope=self.scope)
        except UpstreamError:
            return None
        taxpayer = taxpayers.get(seller)
        if taxpayer is None or taxpayer.status is not TaxStatus.CEASED:
            return []
        ceased = taxpayer.status_date
        if ceased is not None and facts.issued_on <= ceased:
            return []
        when = ceased.isoformat() if ceased else "an unrecorded date"
        detail = f"issued {facts.issued_on.isoformat()}, seller ceased on {when}"
        return [Flag(FlagCode.ISSUED_AFTER_CEASED, detail)]
