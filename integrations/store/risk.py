"""Risk flags and duplicate attempts: what the risk checks read, and where their flags go.

A flag is raised by adding a row and cleared by stamping ``cleared_at``; a flag raised again
later is a new row, so the history of every flag stays readable. Codes are plain strings here;
their registry lives with the checks (``integrations.risk.flags``).

An invoice waits for the sweeper while ``risk_assessed_at`` is empty. When registry data its
flags depend on changes (a seller's status, a certificate revoked), the invoices concerned are
marked so again (``reassess_*``): the mark is a column, so it survives a restart, and an
assessment that was already running when the mark was made does not erase it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from integrations.store.models import (
    Certificate,
    DuplicateAttempt,
    IdentityLink,
    Invoice,
    InvoiceDocument,
    InvoiceFlag,
    InvoiceLine,
    ProviderGrant,
)


@dataclass(frozen=True, slots=True)
class LineFacts:
    nature: int
    amount: Decimal | None
    tax_percent: Decimal | None


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """The stored facts of one invoice that the risk checks judge."""

    id: uuid.UUID
    seller_tax_code: str
    template: str
    series: str
    number: int
    issued_on: date
    currency: str
    buyer_tax_code: str | None
    buyer_personal_id: str | None
    total_before_tax: Decimal
    total_tax: Decimal
    lines: tuple[LineFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class FlagView:
    code: str
    detail: str
    raised_at: datetime


class RiskStore:
    async def facts(self, invoice_id: uuid.UUID) -> InvoiceFacts | None:
        row = await Invoice.get_or_none(id=invoice_id)
        if row is None:
            return None
        lines = await InvoiceLine.filter(invoice_id=invoice_id).order_by("position")
        return InvoiceFacts(
            id=row.id,
            seller_tax_code=row.seller_tax_code,
            template=row.template,
            series=row.series,
            number=row.number,
            issued_on=row.issued_on,
            currency=row.currency,
            buyer_tax_code=row.buyer_tax_code,
            buyer_personal_id=row.buyer_personal_id,
            total_before_tax=row.total_before_tax,
            total_tax=row.total_tax,
            lines=tuple(LineFacts(x.nature, x.amount, x.tax_percent) for x in lines),
        )

    async def original(self, invoice_id: uuid.UUID) -> bytes | None:
        document = await InvoiceDocument.get_or_none(invoice_id=invoice_id)
        return bytes(document.original) if document else None

    async def highest_number_below(self, facts: InvoiceFacts) -> int | None:
        """The highest number under this invoice's held in its series, if any."""
        row = (
            await _series(facts)
            .filter(number__lt=facts.number)
            .order_by("-number")
            .first()
            .values_list("number", flat=True)
        )
        return int(row) if row is not None else None

    async def next_held(self, facts: InvoiceFacts) -> uuid.UUID | None:
        """The invoice numbered right after this one in its series, when held."""
        return await (
            _series(facts).filter(number=facts.number + 1).first().values_list("id", flat=True)
        )

    async def templates_with_number(self, facts: InvoiceFacts) -> list[str]:
        """Other templates under which the seller used this series and number."""
        rows = await (
            Invoice.filter(
                seller_tax_code=facts.seller_tax_code, series=facts.series, number=facts.number
            )
            .exclude(template=facts.template)
            .values_list("template", flat=True)
        )
        return sorted(str(row) for row in rows)

    async def out_of_order(self, facts: InvoiceFacts) -> int | None:
        """A number of the same series whose date contradicts this one's place, if any."""
        row = (
            await _series(facts)
            .filter(
                Q(number__lt=facts.number, issued_on__gt=facts.issued_on)
                | Q(number__gt=facts.number, issued_on__lt=facts.issued_on)
            )
            .order_by("number")
            .first()
            .values_list("number", flat=True)
        )
        return int(row) if row is not None else None

    async def record_duplicate_attempt(
        self, invoice_id: uuid.UUID, *, sha256: str, submitter: str, at: datetime
    ) -> None:
        """Note that other bytes came in under the key of ``invoice_id`` (answered 409)."""
        await DuplicateAttempt.create(
            invoice_id=invoice_id, sha256=sha256, submitter=submitter[:64], attempted_at=at
        )

    async def duplicate_attempts(self, invoice_id: uuid.UUID) -> list[tuple[str, datetime]]:
        rows = await DuplicateAttempt.filter(invoice_id=invoice_id).order_by("attempted_at")
        return [(row.sha256, row.attempted_at) for row in rows]

    async def active(self, invoice_id: uuid.UUID) -> dict[str, FlagView]:
        rows = await InvoiceFlag.filter(invoice_id=invoice_id, cleared_at__isnull=True)
        return {row.code: FlagView(row.code, row.detail, row.raised_at) for row in rows}

    async def flags_of(self, invoice_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[FlagView]]:
        """Active flags per invoice, for a page of invoices at once."""
        rows = await InvoiceFlag.filter(
            invoice_id__in=list(invoice_ids), cleared_at__isnull=True
        ).order_by("code")
        flags: dict[uuid.UUID, list[FlagView]] = {}
        for row in rows:
            view = FlagView(row.code, row.detail, row.raised_at)
            flags.setdefault(row.invoice_id, []).append(view)
        return flags

    async def claim_unassessed(self, *, limit: int, at: datetime) -> list[uuid.UUID]:
        """Take up to ``limit`` of the oldest unassessed invoices for this caller.

        Each is claimed by a conditional update, so two workers sweeping at once never assess
        the same invoice twice.
        """
        rows = await (
            Invoice.filter(risk_assessed_at__isnull=True)
            .order_by("received_at")
            .limit(limit)
            .values_list("id", flat=True)
        )
        claimed = []
        for row in rows:
            invoice_id = uuid.UUID(str(row))
            taken = await Invoice.filter(id=invoice_id, risk_assessed_at__isnull=True).update(
                risk_assessed_at=at
            )
            if taken:
                claimed.append(invoice_id)
        return claimed

    async def settle(
        self,
        invoice_id: uuid.UUID,
        *,
        raised: Mapping[str, str],
        checked: Collection[str],
        at: datetime,
    ) -> None:
        """Make the active flags among ``checked`` codes exactly ``raised`` (code -> detail).

        Codes not in ``checked`` are left alone: a check that could not run today must not
        clear what it found yesterday.
        """
        async with in_transaction():
            # An invoice marked for re-assessment meanwhile stays marked: this one ran on the
            # data from before the change.
            await Invoice.filter(id=invoice_id, risk_assessed_at__isnull=False).update(
                risk_assessed_at=at
            )
            active = await self.active(invoice_id)
            for code in checked:
                if code in raised and code not in active:
                    await InvoiceFlag.create(
                        invoice_id=invoice_id, code=code, detail=raised[code], raised_at=at
                    )
                elif code not in raised and code in active:
                    await InvoiceFlag.filter(
                        invoice_id=invoice_id, code=code, cleared_at__isnull=True
                    ).update(cleared_at=at)

    async def reassess_sold_by(self, sellers: Collection[str]) -> int:
        """Mark every invoice of these sellers for the sweeper to assess again; how many."""
        if not sellers:
            return 0
        return await Invoice.filter(seller_tax_code__in=list(sellers)).update(risk_assessed_at=None)

    async def reassess_signed_with(self, revoked: Collection[tuple[str, int]]) -> int:
        """Mark the invoices that certificates revoked anew, given as (issuer, serial), may
        have signed; how many.

        An invoice names its signer (``signer_issuer``, ``signer_serial``). One stored before
        it did is marked when its seller is the merchant a revoked certificate is registered
        to, or lets that merchant sign for it; one signed with a certificate registered to
        nobody is then flagged when it is next assessed for another reason.
        """
        if not revoked:
            return 0
        holders: set[str] = set()
        concerned = []
        for issuer, serial in revoked:
            number = format(serial, "x")
            concerned.append(Q(signer_issuer=issuer, signer_serial=number))
            certificates = Certificate.filter(issuer=issuer, serial=number)
            holders.update(await certificates.values_list("merchant__tax_code", flat=True))
        granting = await ProviderGrant.filter(
            provider_tax_code__in=list(holders), can_sign=True
        ).values_list("merchant__tax_code", flat=True)
        sellers = holders | set(granting)
        if sellers:
            concerned.append(Q(seller_tax_code__in=list(sellers), signer_serial__isnull=True))
        return await Invoice.filter(Q(*concerned, join_type="OR")).update(risk_assessed_at=None)

    async def sold_by(self, tax_code: str, *, chunk: int = 500) -> AsyncIterator[uuid.UUID]:
        """Every invoice of a seller, in id order a chunk at a time."""
        async for invoice_id in _ids(Invoice.filter(seller_tax_code=tax_code), "id", chunk):
            yield invoice_id

    async def bought_by(self, subject: str, *, chunk: int = 500) -> AsyncIterator[uuid.UUID]:
        """Every invoice whose buyer link resolved to ``subject``."""
        links = IdentityLink.filter(role="buyer", subject=subject)
        async for invoice_id in _ids(links, "invoice_id", chunk):
            yield invoice_id


def _series(facts: InvoiceFacts) -> QuerySet[Invoice]:
    return Invoice.filter(
        seller_tax_code=facts.seller_tax_code, template=facts.template, series=facts.series
    )


async def _ids(query: QuerySet[Any], column: str, chunk: int) -> AsyncIterator[uuid.UUID]:
    after: uuid.UUID | None = None
    while True:
        page = query.filter(**{f"{column}__gt": after}) if after is not None else query
        ids = await page.order_by(column).limit(chunk).values_list(column, flat=True)
        for invoice_id in ids:
            yield invoice_id
        if len(ids) < chunk:
            return
        after = ids[-1]
