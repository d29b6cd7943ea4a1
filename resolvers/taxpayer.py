"""Taxpayers: businesses, branches, household businesses and individuals in the tax registry.

A business's registration is public record; an individual's is that person's tax data and is
read under the person's ``tax`` domain. Which is which is known only from the record (a
household business's tax code is its owner's ID number), so the guard runs after the load.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry

from integrations.access import Domain
from integrations.errors import IdentityError
from integrations.identity import TaxCode, parse_taxpayer_id
from integrations.upstreams import Taxpayer as TaxpayerRecord
from integrations.upstreams import TaxpayerKind, TaxStatus
from resolvers import invoices
from resolvers.access import refuse
from resolvers.connections import DEFAULT_PAGE
from resolvers.context import Info

if TYPE_CHECKING:
    from resolvers.invoices import InvoiceConnection

strawberry.enum(TaxpayerKind, name="TaxpayerKind")
strawberry.enum(TaxStatus, name="TaxStatus")


@strawberry.type(description="A registration in the tax registry.")
class Taxpayer:
    tax_code: str
    kind: TaxpayerKind
    name: str
    status: TaxStatus
    status_date: date | None
    tax_office: str
    legacy_code: str | None = strawberry.field(
        description="The 10-digit personal tax code used before the personal ID replaced it."
    )
    parent_tax_code: str | None
    address: str

    @classmethod
    def of(cls, record: TaxpayerRecord) -> Taxpayer:
        return cls(
            tax_code=record.tax_code,
            kind=record.kind,
            name=record.name,
            status=record.status,
            status_date=record.status_date,
            tax_office=record.tax_office,
            legacy_code=record.legacy_code,
            parent_tax_code=record.parent_tax_code,
            address=record.address,
        )

    @strawberry.field(description="Invoices sold, newest first: for the merchant and officers.")
    async def invoices_sold(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Annotated[InvoiceConnection, strawberry.lazy("resolvers.invoices")] | None:
        return await invoices.sold_by(info, self.tax_code, first, after, "invoicesSold")


async def load_taxpayer(info: Info, key: str, field_name: str) -> Taxpayer | None:
    """The registration under ``key`` (tax code or personal ID), if the reader may see it."""
    return await _guarded(info, await info.context.loaders.taxpayers.load(key), field_name)


async def _guarded(info: Info, record: TaxpayerRecord | None, field_name: str) -> Taxpayer | None:
    if record is None:
        return None
    if record.kind is TaxpayerKind.INDIVIDUAL:
        subject = record.personal_id or record.tax_code
        await info.context.access.person(subject, Domain.TAX, field_name)
    return Taxpayer.of(record)


async def taxpayer(info: Info, tax_code: str) -> Taxpayer | None:
    """A registration by tax code, personal ID number, or pre-2025 personal tax code."""
    try:
        parsed = parse_taxpayer_id(tax_code)
    except IdentityError as exc:
        raise refuse(exc) from exc
    loaders = info.context.loaders
    if isinstance(parsed, TaxCode) and parsed.branch is None:
        # A 10-digit code may be a retired personal tax code: ask both lists in one tick.
        personal_id, record = await asyncio.gather(
            loaders.legacy_ids.load(parsed.value), loaders.taxpayers.load(parsed.value)
        )
        if personal_id is None:
            return await _guarded(info, record, "taxpayer")
        return await load_taxpayer(info, personal_id, "taxpayer")
    return await load_taxpayer(info, parsed.value, "taxpayer")
