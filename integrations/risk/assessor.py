"""The risk assessor: computes, stores and refreshes the flags of accepted invoices.

The sweeper calls ``assess`` for each invoice waiting (new, or marked again because registry
data changed: a merchant's status, a certificate revoked by a new CRL), and the intake calls
``record_duplicate_attempt`` when it answers 409. ``refresh_seller`` (tax status, certificates
revoked) and ``refresh_buyer`` (population record) re-run at once only the checks those facts
feed, over every invoice of that party.

    >>> assessor = RiskAssessor(store=RiskStore(), population=population, tax=tax,
    ...                         revocations=trust_store)
    >>> flags = await assessor.assess(invoice_id)
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Callable, Collection
from datetime import UTC, datetime

from integrations.risk.certificates import CertificateCheck, RevocationSource
from integrations.risk.checks import Check, RiskSettings
from integrations.risk.duplicates import DuplicateCheck
from integrations.risk.flags import Flag, FlagCode
from integrations.risk.numbering import NumberingCheck
from integrations.risk.parties import BuyerCheck, SellerStatusCheck
from integrations.risk.totals import TotalsCheck
from integrations.store.risk import InvoiceFacts, RiskStore
from integrations.upstreams.population import PopulationClient
from integrations.upstreams.tax import TaxRegistryClient

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RiskAssessor:
    def __init__(
        self,
        *,
        store: RiskStore,
        population: PopulationClient,
        tax: TaxRegistryClient,
        revocations: RevocationSource,
        settings: RiskSettings | None = None,
        clock: Clock = utc_now,
    ) -> None:
        settings = settings or RiskSettings()
        self.store = store
        self.clock = clock
        self.numbering = NumberingCheck()
        self.duplicates = DuplicateCheck()
        self.buyer = BuyerCheck(population, settings.scope)
        self.seller = (
            SellerStatusCheck(tax, settings.scope),
            CertificateCheck(store, revocations, settings.near_expiry, clock),
        )
        self.checks: tuple[Check, ...] = (
            TotalsCheck(settings.rules),
            self.numbering,
            self.buyer,
            *self.seller,
            self.duplicates,
        )

    async def assess(
        self,
        invoice_id: uuid.UUID,
        *,
        pending: Collection[uuid.UUID] = (),
        facts: InvoiceFacts | None = None,
    ) -> list[Flag]:
        """Run every check on a newly accepted invoice and store the outcome; ``facts`` are
        its own when the caller read them already (a sweep reads its claim at once).

        The next number of its series is re-checked too: this invoice may close its gap. Not
        when the caller is about to assess that one in full (``pending``): invoices arriving
        in order would otherwise have their numbering judged twice each.
        """
        facts = facts or await self._facts(invoice_id)
        flags = await self._check(facts, self.checks)
        successor = facts.successor
        if successor is not None and successor not in pending:
            await self._run(successor, (self.numbering,))
        return flags

    async def record_duplicate_attempt(
        self, original_id: uuid.UUID, *, sha256: str, submitter: str
    ) -> list[Flag]:
        """Record other bytes sent under ``original_id``'s key, and flag the original."""
        await self.store.record_duplicate_attempt(
            original_id, sha256=sha256, submitter=submitter, at=self.clock()
        )
        return await self._run(original_id, (self.duplicates,))

    async def refresh_seller(self, tax_code: str) -> int:
        """Re-check a seller's invoices after its tax status or certificates changed."""
        return await self._refresh(self.store.sold_by(tax_code), self.seller)

    async def refresh_buyer(self, personal_id: str) -> int:
        """Re-check a person's purchases after their population record changed."""
        return await self._refresh(self.store.bought_by(personal_id), (self.buyer,))

    async def _refresh(
        self, invoice_ids: AsyncIterable[uuid.UUID], checks: tuple[Check, ...]
    ) -> int:
        count = 0
        async for invoice_id in invoice_ids:
            await self._run(invoice_id, checks)
            count += 1
        return count

    async def _run(self, invoice_id: uuid.UUID, checks: tuple[Check, ...]) -> list[Flag]:
        return await self._check(await self._facts(invoice_id), checks)

    async def _facts(self, invoice_id: uuid.UUID) -> InvoiceFacts:
        facts = await self.store.facts(invoice_id)
        if facts is None:
            raise LookupError(f"invoice {invoice_id} is not held")
        return facts

    async def _check(self, facts: InvoiceFacts, checks: tuple[Check, ...]) -> list[Flag]:
        raised: list[Flag] = []
        checked: set[FlagCode] = set()
        for check in checks:
            flags = await check.run(facts)
            if flags is not None:
                checked |= check.codes
                raised += flags
        await self.store.settle(
            facts.id,
            raised={flag.code.value: flag.detail for flag in raised},
            checked={code.value for code in checked},
            at=self.clock(),
        )
        return raised
