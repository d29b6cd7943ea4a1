"""The tax officer's workbench: filtered invoice lists, exact summaries, federated views.

Officer reads need a purpose and a case reference (the policy's officer rule) and are audited:
each query notes one read about the person or taxpayer its filter names, or ``*`` for a search
across many, beside the people whose purchases a page shows. The federated views are root
fields rather than fields of ``Citizen`` and ``Taxpayer``, so that every officer-only read
goes through this one guard. ``invoices`` stays open to the parties themselves: a merchant
lists its own sales, a citizen or a consented app one person's purchases, but never by risk
flag. Their answers carry ``asOf``: they may come from a read replica (``docs/analytics.md``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import strawberry

from integrations.access import Decision, search_subject
from integrations.errors import GatewayError, IdentityError
from integrations.identity import PersonalId, parse_taxpayer_id
from integrations.risk import FlagCode
from integrations.store.analytics import (
    AnalyticsError,
    GroupBy,
    InvoiceFilter,
    InvoicePage,
    InvoiceSort,
    SortKey,
    SummaryRow,
    cursor_of,
)
from integrations.store.models import InvoiceKind, InvoiceStatus
from resolvers.access import refuse
from resolvers.connections import DEFAULT_PAGE, page_size
from resolvers.context import Info
from resolvers.invoices import Invoice, InvoiceConnection
from resolvers.taxpayer import Taxpayer, load_taxpayer

strawberry.enum(InvoiceKind, name="InvoiceKind")
strawberry.enum(GroupBy, name="InvoiceGroupBy")
strawberry.enum(SortKey, name="InvoiceSortKey")

AS_OF = (
    "How current the answer is: every invoice the primary committed by this time is counted;"
    " one accepted later may be missing while the read replica analytics use catches up."
    " Null when that replica has replayed nothing since it started (its age is unknown)."
)


@strawberry.input(description="Which invoices to list, sum or export; each field narrows the set.")
class InvoiceSearch:
    seller: str | None = strawberry.field(default=None, description="The seller's tax code.")
    buyer: str | None = strawberry.field(
        default=None, description="The buyer's tax code or personal ID number."
    )
    issued_from: date | None = None
    issued_to: date | None = None
    amount_min: Decimal | None = strawberry.field(
        default=None, description="Least total payable, inclusive."
    )
    amount_max: Decimal | None = strawberry.field(
        default=None, description="Greatest total payable, inclusive."
    )
    tax_rate: str | None = strawberry.field(
        default=None, description="A line's rate label, such as 8% or KCT."
    )
    kind: InvoiceKind | None = None
    status: InvoiceStatus | None = None
    series: str | None = None
    flag: FlagCode | None = strawberry.field(
        default=None, description="An active risk flag: tax officers only."
    )

    def to_filter(self) -> InvoiceFilter:
        try:
            return InvoiceFilter(
                seller=self.seller,
                buyer=self.buyer,
                issued_from=self.issued_from,
                issued_to=self.issued_to,
                amount_min=self.amount_min,
                amount_max=self.amount_max,
                tax_rate=self.tax_rate,
                kind=self.kind,
                status=self.status,
                series=self.series,
                flag=self.flag.value if self.flag else None,
            )
        except (IdentityError, AnalyticsError) as exc:
            raise refuse(exc) from exc


@strawberry.input(description="The order of an invoice list; newest first unless told.")
class InvoiceOrder:
    key: SortKey = SortKey.ISSUED_ON
    descending: bool = True


@strawberry.type(description="One part of a group's key: the dimension and its value.")
class InvoiceGroupKey:
    by: GroupBy
    value: str


@strawberry.type(
    description=(
        "One group of a summary in one currency: its count and exact sums. A group whose"
        " invoices are in several currencies comes once per currency; amounts are never added"
        " across currencies, and the *Vnd sums give each in dong at its invoices' own rates."
    )
)
class InvoiceGroup:
    key: list[InvoiceGroupKey]
    currency: str = strawberry.field(
        description="DVTTe: the ISO 4217 code of the group's amounts (VND, USD...)."
    )
    count: int
    total_before_tax: Decimal
    total_tax: Decimal
    total_payable: Decimal
    total_before_tax_vnd: Decimal | None = strawberry.field(
        description=(
            "totalBeforeTax in dong: the sum of each invoice's amount times its own exchange"
            " rate (TGia; 1 for VND), exact. Null when an invoice of the group states no rate."
        )
    )
    total_tax_vnd: Decimal | None = strawberry.field(
        description="totalTax in dong, as totalBeforeTaxVnd."
    )
    total_payable_vnd: Decimal | None = strawberry.field(
        description="totalPayable in dong, as totalBeforeTaxVnd."
    )
    buyers: int | None = strawberry.field(
        description="Distinct identified buyers, where the view counts them."
    )
    as_of: datetime | None = strawberry.field(description=AS_OF)

    @classmethod
    def of(
        cls, row: SummaryRow, group_by: tuple[GroupBy, ...], as_of: datetime | None
    ) -> InvoiceGroup:
        key = [
            InvoiceGroupKey(by=by, value=value) for by, value in zip(group_by, row.key, strict=True)
        ]
        return cls(
            key=key,
            currency=row.currency,
            count=row.count,
            total_before_tax=row.total_before_tax,
            total_tax=row.total_tax,
            total_payable=row.total_payable,
            total_before_tax_vnd=row.total_before_tax_vnd,
            total_tax_vnd=row.total_tax_vnd,
            total_payable_vnd=row.total_payable_vnd,
            buyers=row.buyers,
            as_of=as_of,
        )


async def _summary(
    info: Info,
    where: InvoiceFilter,
    group_by: tuple[GroupBy, ...],
    *,
    distinct_buyers: bool = False,
) -> list[InvoiceGroup]:
    analytics = info.context.analytics
    try:
        rows = await analytics.summarise(where, group_by, distinct_buyers=distinct_buyers)
    except GatewayError as exc:
        raise refuse(exc) from exc
    as_of = await analytics.as_of()
    return [InvoiceGroup.of(row, group_by, as_of) for row in rows]


@strawberry.type(description="A person's purchases by month, beside their tax registration.")
class PersonPurchases:
    id_number: str

    @strawberry.field(description="Purchases by month (YYYY-MM) and currency, oldest first.")
    async def months(self, info: Info) -> list[InvoiceGroup]:
        return await _summary(info, InvoiceFilter(buyer=self.id_number), (GroupBy.MONTH,))

    @strawberry.field(description="The person's registration in the tax registry.")
    async def taxpayer(self, info: Info) -> Taxpayer | None:
        return await load_taxpayer(info, self.id_number, "taxpayer")

    @strawberry.field(description=AS_OF)
    async def as_of(self, info: Info) -> datetime | None:
        return await info.context.analytics.as_of()


@strawberry.type(description="A merchant's sales and tax, beside its tax registration.")
class MerchantSales:
    tax_code: str

    @strawberry.field(
        description="Sales by month (YYYY-MM) and currency, with the distinct buyers of each."
    )
    async def months(self, info: Info) -> list[InvoiceGroup]:
        where = InvoiceFilter(seller=self.tax_code)
        return await _summary(info, where, (GroupBy.MONTH,), distinct_buyers=True)

    @strawberry.field(
        description="Amounts and tax by line rate and currency, computed from the lines."
    )
    async def tax_by_rate(self, info: Info) -> list[InvoiceGroup]:
        return await _summary(info, InvoiceFilter(seller=self.tax_code), (GroupBy.TAX_RATE,))

    @strawberry.field(description="Distinct identified buyers over all the merchant's sales.")
    async def distinct_buyers(self, info: Info) -> int:
        return await info.context.analytics.count_buyers(InvoiceFilter(seller=self.tax_code))

    @strawberry.field(description="The merchant's registration in the tax registry.")
    async def taxpayer(self, info: Info) -> Taxpayer | None:
        return await load_taxpayer(info, self.tax_code, "taxpayer")

    @strawberry.field(description=AS_OF)
    async def as_of(self, info: Info) -> datetime | None:
        return await info.context.analytics.as_of()


async def invoices(
    info: Info,
    filter: InvoiceSearch | None = None,
    sort: InvoiceOrder | None = None,
    first: int = DEFAULT_PAGE,
    after: str | None = None,
) -> InvoiceConnection:
    """Invoices matching ``filter`` in ``sort`` order. Officers search everything; others
    list what they are party to (a merchant's own sales by default)."""
    size = page_size(first)
    where = filter.to_filter() if filter else InvoiceFilter()
    order = InvoiceSort(sort.key, sort.descending) if sort else InvoiceSort()
    where, decision = await info.context.access.search(where, "invoices")
    try:
        page = await info.context.analytics.search(where, order, first=size, after=after)
    except GatewayError as exc:
        raise refuse(exc) from exc
    return await _connection(info, page, order, decision, has_previous=after is not None)


async def _connection(
    info: Info, page: InvoicePage, order: InvoiceSort, decision: Decision, *, has_previous: bool
) -> InvoiceConnection:
    stored = await info.context.store.many([row.id for row in page.items])
    info.context.access.note_buyers(stored, decision, "invoices")
    cursors = {row.id: cursor_of(row, order) for row in page.items}
    connection = InvoiceConnection.of(
        [(Invoice.of(item), cursors[item.id]) for item in stored],
        has_next=page.has_next,
        has_previous=has_previous,
    )
    return replace(connection, as_of=await info.context.analytics.as_of())


async def invoice_summary(
    info: Info, filter: InvoiceSearch | None = None, group_by: list[GroupBy] | None = None
) -> list[InvoiceGroup]:
    """Counts and exact sums (decimal strings) per group and currency, grouped in the
    database, with the sums in dong at each invoice's own rate."""
    where = filter.to_filter() if filter else InvoiceFilter()
    access = info.context.access
    decision = access.workbench(search_subject(where), "invoiceSummary")
    dims = tuple(dict.fromkeys(group_by or ()))
    groups = await _summary(info, where, dims)
    if GroupBy.BUYER in dims:
        access.note_people(_people(groups, dims.index(GroupBy.BUYER)), decision, "invoiceSummary")
    return groups


def _people(groups: list[InvoiceGroup], position: int) -> set[str]:
    """The persons among the buyers a summary names one group each."""
    return {group.key[position].value for group in groups if _is_person(group.key[position].value)}


def _is_person(text: str) -> bool:
    try:
        PersonalId(text)
    except IdentityError:
        return False
    return True


async def person_purchases(info: Info, id_number: str) -> PersonPurchases:
    """One person's purchases by month beside their tax registration: officers only."""
    try:
        person = PersonalId(id_number).value
    except IdentityError as exc:
        raise refuse(exc) from exc
    info.context.access.workbench(person, "personPurchases")
    return PersonPurchases(id_number=person)


async def merchant_sales(info: Info, tax_code: str) -> MerchantSales:
    """One merchant's sales, tax by rate and buyers beside its registration: officers only."""
    try:
        seller = parse_taxpayer_id(tax_code).value
    except IdentityError as exc:
        raise refuse(exc) from exc
    info.context.access.workbench(seller, "merchantSales")
    return MerchantSales(tax_code=seller)
