"""Invoices from the store: one by id, pages bought by a person or sold by a taxpayer, and
submission through the intake.

A page is one store query; the seller and buyer registrations of every invoice on it come
from the tax registry in one batched call.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from integrations.access import (
    AccessDenied,
    AccessSession,
    Domain,
    InvalidCursor,
    decide_workbench,
    require,
)
from integrations.einvoice.findings import MAX_LISTED, listing
from integrations.einvoice.findings import Finding as FindingRecord
from integrations.einvoice.pipeline import IntakeResult
from integrations.einvoice.pipeline import Outcome as IntakeOutcome
from integrations.risk import DESCRIPTIONS, FlagCode
from integrations.store.invoices import InvoiceKey as StoredKey
from integrations.store.invoices import Page, StoredInvoice, decode_cursor, encode_cursor
from integrations.store.models import InvoiceStatus
from integrations.store.risk import FlagView
from resolvers import taxpayer
from resolvers.access import refuse
from resolvers.connections import Connection, page_size
from resolvers.context import Info
from resolvers.errors import PublicError

if TYPE_CHECKING:
    from resolvers.taxpayer import Taxpayer

strawberry.enum(InvoiceStatus, name="InvoiceStatus")
strawberry.enum(FlagCode, name="RiskFlagCode")
strawberry.enum(IntakeOutcome, name="IntakeOutcome")

Fetch = Callable[[int, str | None], Awaitable[Page]]


@strawberry.type(description="A risk flag: a lead for tax officers, never a rejection.")
class RiskFlag:
    code: FlagCode
    description: str
    detail: str
    raised_at: datetime

    @classmethod
    def of(cls, view: FlagView) -> RiskFlag:
        code = FlagCode(view.code)
        return cls(
            code=code, description=DESCRIPTIONS[code], detail=view.detail, raised_at=view.raised_at
        )


@strawberry.type(description="An invoice's key: unique per seller for all time.")
class InvoiceKey:
    seller_tax_code: str = strawberry.field(description="NBan/MST: the seller's tax code.")
    template: str = strawberry.field(description="KHMSHDon: the template number.")
    series: str = strawberry.field(description="KHHDon: the series symbol.")
    number: int = strawberry.field(description="SHDon: the invoice number.")

    @classmethod
    def of(cls, key: StoredKey) -> InvoiceKey:
        return cls(
            seller_tax_code=key.seller_tax_code,
            template=key.template,
            series=key.series,
            number=key.number,
        )


@strawberry.type(description="A fee or charge outside VAT (TToan/DSLPhi/LPhi), in the total.")
class Fee:
    name: str | None = strawberry.field(description="TLPhi: the fee's name.")
    amount: Decimal | None = strawberry.field(description="TPhi: its amount.")


@strawberry.type(
    description=(
        "An accepted e-invoice as stored; amounts in its own currency. Field descriptions name"
        " the element of the invoice format each field shows (docs/invoice-fields.md); fields"
        " kept since a later release are null on invoices stored before it."
    )
)
class Invoice:
    id: strawberry.ID
    format_version: str = strawberry.field(
        description="PBan: the format version, as received (2.0.0, 2.0.1, 2.1.0)."
    )
    seller_tax_code: str
    template: str
    series: str
    number: int
    issued_on: date
    currency: str = strawberry.field(
        description="DVTTe: the ISO 4217 code the amounts are in (the symbol đ reads as VND)."
    )
    exchange_rate: Decimal | None = strawberry.field(
        description="TGia: dong per unit of the currency, as stated; null when none is."
    )
    payment_method: str | None = strawberry.field(
        description="HTTToan: the payment method as written, such as TM/CK."
    )
    seller_name: str
    buyer_name: str
    buyer_tax_code: str | None
    buyer_personal_id: str | None
    buyer_passport: str | None = strawberry.field(
        description="NMua/SHChieu: the buyer's passport or entry-exit document number."
    )
    buyer_budget_unit_code: str | None = strawberry.field(
        description="NMua/MDVQHNSach: the buyer's budget-relation unit code."
    )
    total_before_tax: Decimal
    total_tax: Decimal
    total_trade_discount: Decimal | None = strawberry.field(
        description="TToan/TTCKTMai: the trade discount, already taken off; null if unstated."
    )
    fees: list[Fee] | None = strawberry.field(
        description="TToan/DSLPhi: each fee, in the order written."
    )
    total_fees: Decimal | None = strawberry.field(
        description="The sum of the fees (TPhi), part of the total payable."
    )
    total_payable: Decimal
    status: InvoiceStatus
    tax_authority_code: str | None
    cash_register_code: str | None = strawberry.field(
        description="MCCQT of a cash-register (M-series) invoice: the code its register made."
    )
    is_cash_register: bool
    signer_subject: str | None = strawberry.field(
        description="DSCKS/NBan (or the batch's CKSNNT): the signing certificate's subject."
    )
    signer_serial: str | None = strawberry.field(
        description="The signing certificate's serial number, in hexadecimal."
    )
    signer_issuer: str | None = strawberry.field(
        description="The signing certificate's issuer, the signature authority."
    )
    signing_provider_tax_code: str | None = strawberry.field(
        description=(
            "The tax code the signing certificate names when it is not the seller's: the"
            " provider that signed for the seller. Null when the seller signed."
        )
    )
    received_at: datetime
    receipt_id: str
    relation: str | None
    related_id: strawberry.ID | None
    related_key: InvoiceKey | None = strawberry.field(
        description="TTHDLQuan: the key of the invoice this replacement or adjustment corrects."
    )

    @classmethod
    def of(cls, stored: StoredInvoice) -> Invoice:
        signer, related, fees = stored.signer, stored.related_key, stored.fees
        return cls(
            id=strawberry.ID(str(stored.id)),
            format_version=stored.version,
            seller_tax_code=stored.key.seller_tax_code,
            template=stored.key.template,
            series=stored.key.series,
            number=stored.key.number,
            issued_on=stored.issued_on,
            currency=stored.currency,
            exchange_rate=stored.exchange_rate,
            payment_method=stored.payment_method,
            seller_name=stored.seller_name,
            buyer_name=stored.buyer_name,
            buyer_tax_code=stored.buyer_tax_code,
            buyer_personal_id=stored.buyer_personal_id,
            buyer_passport=stored.buyer_passport,
            buyer_budget_unit_code=stored.buyer_budget_unit_code,
            total_before_tax=stored.total_before_tax,
            total_tax=stored.total_tax,
            total_trade_discount=stored.total_trade_discount,
            fees=None if fees is None else [Fee(name=f.name, amount=f.amount) for f in fees],
            total_fees=stored.total_fees,
            total_payable=stored.total_payable,
            status=stored.status,
            tax_authority_code=stored.tax_authority_code,
            cash_register_code=stored.cash_register_code,
            is_cash_register=stored.is_cash_register,
            signer_subject=signer.subject if signer else None,
            signer_serial=signer.serial if signer else None,
            signer_issuer=signer.issuer if signer else None,
            signing_provider_tax_code=signer.provider_tax_code if signer else None,
            received_at=stored.received_at,
            receipt_id=stored.receipt_id,
            relation=stored.relation,
            related_id=strawberry.ID(str(stored.related_id)) if stored.related_id else None,
            related_key=InvoiceKey.of(related) if related else None,
        )

    @strawberry.field(description="The seller's registration in the tax registry.")
    async def seller(
        self, info: Info
    ) -> Annotated[Taxpayer, strawberry.lazy("resolvers.taxpayer")] | None:
        return await taxpayer.load_taxpayer(info, self.seller_tax_code, "seller")

    @strawberry.field(description="The buyer's registration, by tax code or personal ID.")
    async def buyer(
        self, info: Info
    ) -> Annotated[Taxpayer, strawberry.lazy("resolvers.taxpayer")] | None:
        key = self.buyer_tax_code or self.buyer_personal_id
        return None if key is None else await taxpayer.load_taxpayer(info, key, "buyer")

    @strawberry.field(description="Active risk flags, by code: for tax officers only.")
    async def flags(self, info: Info) -> list[RiskFlag] | None:
        require(decide_workbench(info.context.principal))
        views = await info.context.flags.load(uuid.UUID(str(self.id)))
        return [RiskFlag.of(view) for view in views]


@strawberry.type
class InvoiceConnection(Connection[Invoice]):
    """A page of invoices."""

    as_of: datetime | None = strawberry.field(
        default=None,
        description=(
            "Where the list was chosen by the officer analytics (the root invoices query): every"
            " invoice the primary committed by this time can be in it; one accepted later may be"
            " missing while a read replica catches up. Null on lists read from the primary, and"
            " from a replica that has replayed nothing since it started (its age is unknown)."
        ),
    )


async def _page(fetch: Fetch, first: int, after: str | None) -> Page:
    size = page_size(first)
    if after is not None:
        try:
            decode_cursor(after)
        except ValueError as exc:
            raise refuse(InvalidCursor(str(exc))) from exc
    return await fetch(size, after)


def _connection(page: Page, after: str | None) -> InvoiceConnection:
    return InvoiceConnection.of(
        [(Invoice.of(item), encode_cursor(item.issued_on, item.id)) for item in page.items],
        has_next=page.has_next,
        has_previous=after is not None,
    )


async def sold_by(
    info: Info, tax_code: str, first: int, after: str | None, field_name: str
) -> InvoiceConnection:
    """Invoices ``tax_code`` sold: the merchant itself (and its enterprise) or an officer."""
    access, store = info.context.access, info.context.store
    decision = access.seller(tax_code)
    page = await _page(
        lambda n, cursor: store.sold_by(tax_code, first=n, after=cursor), first, after
    )
    access.note_buyers(page.items, decision, field_name)
    return _connection(page, after)


async def bought_by(
    info: Info, personal_id: str, first: int, after: str | None, field_name: str
) -> InvoiceConnection:
    """Invoices the person bought, read under their ``invoices`` domain."""
    access, store = info.context.access, info.context.store
    await access.person(personal_id, Domain.INVOICES, field_name)
    page = await _page(
        lambda n, cursor: store.bought_by(personal_id, first=n, after=cursor), first, after
    )
    return _connection(page, after)


async def invoice(info: Info, id: strawberry.ID) -> Invoice | None:
    """One invoice by id, for whoever may read it (its parties, consented apps, officers)."""
    try:
        key = uuid.UUID(str(id))
    except ValueError:
        return None
    stored = await info.context.store.get(key)
    if stored is None:
        return None
    await info.context.access.invoice(stored, "invoice")
    return Invoice.of(stored)


@strawberry.type(description="One thing the intake noticed; errors reject the invoice.")
class Finding:
    code: str
    severity: str
    message: str
    path: str
    hint: str
    line: int | None

    @classmethod
    def of(cls, finding: FindingRecord) -> Finding:
        return cls(
            code=finding.code,
            severity=finding.severity.value,
            message=finding.message,
            path=finding.path,
            hint=finding.hint,
            line=finding.line,
        )


@strawberry.type(description="What the intake did with a submitted invoice.")
class SubmitInvoiceResult:
    outcome: IntakeOutcome
    invoice: Invoice | None
    receipt_id: str | None
    conflicting_invoice_id: strawberry.ID | None
    findings: list[Finding] = strawberry.field(
        description=f"At most {MAX_LISTED} findings, errors and warnings in the order found."
    )
    omitted_findings: int = strawberry.field(
        description="How many more findings there were than the list holds."
    )

    @classmethod
    def of(cls, result: IntakeResult, *, readable: bool) -> SubmitInvoiceResult:
        """``readable``: whether the submitter may see the stored invoice itself."""
        stored, conflict = result.invoice, result.conflict
        listed = listing(result.findings)
        return cls(
            outcome=result.outcome,
            invoice=Invoice.of(stored) if stored and readable else None,
            receipt_id=stored.receipt_id if stored else None,
            conflicting_invoice_id=strawberry.ID(str(conflict.id)) if conflict else None,
            findings=[Finding.of(f) for f in listed.shown],
            omitted_findings=listed.omitted,
        )


async def submit_invoice(info: Info, xml: str) -> SubmitInvoiceResult:
    """Submit one signed invoice (``HDon``); the text is sent on as UTF-8 bytes."""
    intake = info.context.intake
    if intake is None:
        raise PublicError("invoice intake is not offered here", code="SERVICE_UNAVAILABLE")
    access = info.context.access
    result = await intake.submit_invoice(_utf8(xml), "application/xml", access.submitter())
    readable = result.invoice is not None and await _readable(access, result.invoice)
    return SubmitInvoiceResult.of(result, readable=readable)


def _utf8(xml: str) -> bytes:
    """The document's bytes; a JSON string may carry an unpaired surrogate, which no bytes do."""
    try:
        return xml.encode()
    except UnicodeEncodeError as exc:
        raise PublicError(
            f"xml holds an unpaired surrogate at character {exc.start}, which is not text",
            code="BAD_USER_INPUT",
            hint="Send the invoice document as Unicode text.",
        ) from exc


async def _readable(access: AccessSession, stored: StoredInvoice) -> bool:
    """Whether the submitter may read back the invoice it handed in (an operator may not)."""
    try:
        await access.invoice(stored, "submitInvoice")
    except AccessDenied:
        return False
    return True
