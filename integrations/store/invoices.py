"""Invoice storage: one transaction per accepted invoice, and the reads that serve it back.

Uniqueness is enforced by the database (bytes hash, business key, tax authority code), never by
a read before the write, so concurrent duplicates store exactly one invoice and the loser is
told which one won.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from integrations.money import decimal_text
from integrations.store import cursors, dialect, partitions, rollups
from integrations.store.classify import invoice_kind, province_of
from integrations.store.dialect import Sql
from integrations.store.inserts import Inserts
from integrations.store.models import (
    IdentityLink,
    Invoice,
    InvoiceDocument,
    InvoiceEvent,
    InvoiceLine,
    InvoiceStatus,
    LinkState,
    Receipt,
)


@dataclass(frozen=True, slots=True)
class InvoiceKey:
    seller_tax_code: str
    template: str
    series: str
    number: int


@dataclass(frozen=True, slots=True)
class LineRecord:
    position: int
    nature: int
    name: str
    item_code: str = ""
    unit: str = ""
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    discount_amount: Decimal | None = None
    amount: Decimal | None = None
    tax_rate: str = ""
    tax_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LinkRecord:
    role: str
    kind: str
    value: str
    subject: str | None
    state: LinkState


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    id: str
    kind: str
    body: dict[str, Any]
    signed_xml: bytes
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Signer:
    """The certificate whose signature vouches for an invoice (its own, or its batch's).

    ``provider_tax_code`` is the taxpayer the certificate names when that is not the seller:
    the software provider that signed for it.
    """

    subject: str
    serial: str
    issuer: str
    provider_tax_code: str | None = None


@dataclass(frozen=True, slots=True)
class FeeRecord:
    """One fee or charge outside VAT (``DSLPhi/LPhi``), as the invoice names it."""

    name: str | None
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """Everything stored for one accepted invoice.

    ``related_key`` is the key of the invoice a replacement or adjustment corrects.
    """

    id: uuid.UUID
    key: InvoiceKey
    sha256: str
    original: bytes
    version: str
    name: str
    issued_on: date
    currency: str
    exchange_rate: Decimal | None
    seller_name: str
    buyer_name: str
    buyer_tax_code: str | None
    buyer_personal_id: str | None
    total_before_tax: Decimal
    total_tax: Decimal
    total_payable: Decimal
    is_cash_register: bool
    submitter: str
    receipt: ReceiptRecord
    lines: tuple[LineRecord, ...] = ()
    links: tuple[LinkRecord, ...] = ()
    stamped: bytes | None = None
    tax_authority_code: str | None = None
    related_id: uuid.UUID | None = None
    relation: str | None = None
    related_key: InvoiceKey | None = None
    message_id: str | None = None
    payment_method: str | None = None
    buyer_passport: str | None = None
    buyer_budget_unit_code: str | None = None
    cash_register_code: str | None = None
    fees: tuple[FeeRecord, ...] = ()
    total_trade_discount: Decimal | None = None
    signer: Signer | None = None

    @property
    def total_fees(self) -> Decimal:
        return sum((fee.amount for fee in self.fees if fee.amount is not None), Decimal(0))


@dataclass(frozen=True, slots=True)
class StoredInvoice:
    """An invoice as held. What was added to the store later (``exchange_rate`` aside) is
    None on invoices stored before it: ``fees`` None means not recorded, () none stated."""

    id: uuid.UUID
    key: InvoiceKey
    sha256: str
    status: InvoiceStatus
    version: str
    issued_on: date
    currency: str
    seller_name: str
    buyer_name: str
    buyer_tax_code: str | None
    buyer_personal_id: str | None
    total_before_tax: Decimal
    total_tax: Decimal
    total_payable: Decimal
    tax_authority_code: str | None
    is_cash_register: bool
    received_at: datetime
    receipt_id: str
    relation: str | None = None
    related_id: uuid.UUID | None = None
    related_key: InvoiceKey | None = None
    exchange_rate: Decimal | None = None
    payment_method: str | None = None
    buyer_passport: str | None = None
    buyer_budget_unit_code: str | None = None
    cash_register_code: str | None = None
    fees: tuple[FeeRecord, ...] | None = None
    total_fees: Decimal | None = None
    total_trade_discount: Decimal | None = None
    signer: Signer | None = None
    lines: tuple[LineRecord, ...] = field(default=())


class DuplicateInvoice(Exception):
    """The database already holds this invoice (same bytes) or its key (other bytes)."""

    def __init__(self, existing: StoredInvoice, *, same_bytes: bool) -> None:
        super().__init__(
            f"invoice {existing.id} already holds this {'document' if same_bytes else 'key'}"
        )
        self.existing = existing
        self.same_bytes = same_bytes


@dataclass(frozen=True, slots=True)
class Page:
    items: list[StoredInvoice]
    end_cursor: str | None
    has_next: bool


class InvoiceStore:
    async def find_by_sha(self, sha256: str) -> StoredInvoice | None:
        """The invoice stored from these exact bytes. Almost every submission is new, so one
        indexed probe in plain SQL answers the miss; only a hit (a replay) is read through the
        model, as every other lookup is. Building the ORM's query cost more than the probe."""
        if not await _holds_sha(sha256):
            return None
        return await self._one(Invoice.filter(sha256=sha256))

    async def find_by_key(self, key: InvoiceKey) -> StoredInvoice | None:
        return await self._one(
            Invoice.filter(
                seller_tax_code=key.seller_tax_code,
                template=key.template,
                series=key.series,
                number=key.number,
            )
        )

    async def get(self, invoice_id: uuid.UUID, *, with_lines: bool = False) -> StoredInvoice | None:
        stored = await self._one(Invoice.filter(id=invoice_id))
        if stored is None or not with_lines:
            return stored
        lines = await InvoiceLine.filter(invoice_id=invoice_id).order_by("position")
        return replace(stored, lines=tuple(_line_record(line) for line in lines))

    async def insert(self, record: InvoiceRecord) -> StoredInvoice:
        """Store the invoice and everything about it, or raise ``DuplicateInvoice``."""
        (stored,) = await self.insert_all([record])
        return stored

    async def insert_all(self, records: Sequence[InvoiceRecord]) -> list[StoredInvoice]:
        """Store several invoices in one transaction: all of them, or none.

        Raises ``DuplicateInvoice`` (its ``existing`` being the first clash found) when any of
        them is already held; the caller then stores them one by one for precise answers.
        """
        try:
            async with in_transaction():
                rows = await _insert_rows(records)
        except IntegrityError:
            for record in records:
                existing = await self.find_by_sha(record.sha256) or await self.find_by_key(
                    record.key
                )
                if existing is not None:
                    raise DuplicateInvoice(
                        existing, same_bytes=existing.sha256 == record.sha256
                    ) from None
            raise
        return [_stored(row, record.receipt.id) for row, record in zip(rows, records, strict=True)]

    async def many(self, invoice_ids: Sequence[uuid.UUID]) -> list[StoredInvoice]:
        """The invoices held under ``invoice_ids``, in that order, in two queries."""
        rows = {row.id: row for row in await Invoice.filter(id__in=list(invoice_ids))}
        receipts = await _first_receipts(list(rows))
        return [_stored(rows[key], receipts.get(key, "")) for key in invoice_ids if key in rows]

    async def original(self, invoice_id: uuid.UUID) -> bytes | None:
        document = await InvoiceDocument.get_or_none(invoice_id=invoice_id)
        return bytes(document.original) if document else None

    async def stamped(self, invoice_id: uuid.UUID) -> bytes | None:
        document = await InvoiceDocument.get_or_none(invoice_id=invoice_id)
        return bytes(document.stamped) if document and document.stamped else None

    async def receipt(self, receipt_id: str) -> ReceiptRecord | None:
        row = await Receipt.get_or_none(id=receipt_id)
        if row is None:
            return None
        return ReceiptRecord(row.id, row.kind, row.body, bytes(row.signed_xml), row.message_id)

    async def history(self, invoice_id: uuid.UUID) -> list[tuple[str, str, datetime]]:
        events = await InvoiceEvent.filter(invoice_id=invoice_id).order_by("id")
        return [(e.status, e.detail, e.at) for e in events]

    async def sold_by(self, tax_code: str, *, first: int, after: str | None = None) -> Page:
        return await self._page(Invoice.filter(seller_tax_code=tax_code), first, after)

    async def bought_by(self, subject: str, *, first: int, after: str | None = None) -> Page:
        invoice_ids = Subquery(
            IdentityLink.filter(role="buyer", subject=subject).values("invoice_id")
        )
        return await self._page(Invoice.filter(id__in=invoice_ids), first, after)

    async def pending_links(self, *, limit: int = 100) -> list[tuple[int, str, str]]:
        rows = await IdentityLink.filter(state=LinkState.PENDING).order_by("id").limit(limit)
        return [(row.id, row.kind, row.value) for row in rows]

    async def settle_link(self, link_id: int, subject: str | None) -> None:
        """Record a retry: resolved when ``subject`` is known, else still pending."""
        link = await IdentityLink.get(id=link_id)
        link.attempts += 1
        if subject is not None:
            link.subject = subject
            link.state = LinkState.RESOLVED
        await link.save()

    async def _one(self, query: Any) -> StoredInvoice | None:
        row = await query.first()
        if row is None:
            return None
        receipt_id = (
            await Receipt.filter(invoice_id=row.id)
            .order_by("created_at")
            .first()
            .values_list("id", flat=True)
        )
        return _stored(row, str(receipt_id or ""))

    async def _page(self, query: Any, first: int, after: str | None) -> Page:
        if after:
            issued_on, invoice_id = decode_cursor(after)
            query = query.filter(
                Q(issued_on__lt=issued_on) | Q(issued_on=issued_on, id__lt=invoice_id)
            )
        rows = await query.order_by("-issued_on", "-id").limit(first + 1)
        has_next = len(rows) > first
        rows = rows[:first]
        receipts = await _first_receipts([row.id for row in rows])
        items = [_stored(row, receipts.get(row.id, "")) for row in rows]
        end = encode_cursor(rows[-1].issued_on, rows[-1].id) if rows else None
        return Page(items, end, has_next)


async def _holds_sha(sha256: str) -> bool:
    """Whether an invoice with this sha256 is stored, by one probe of a unique index
    (``partitions.identities``)."""
    connection = dialect.connection()
    sql = Sql(connection.capabilities.dialect)
    meta = Invoice._meta
    table = partitions.identities(postgres=sql.postgres)
    column = meta.fields_db_projection["sha256"]
    _, rows = await connection.execute_query(
        f"SELECT 1 FROM {table} WHERE {column} = {sql.param(sha256)} LIMIT 1", sql.values
    )
    return bool(rows)


async def _insert_rows(records: Sequence[InvoiceRecord]) -> list[SimpleNamespace]:
    """Every row of ``records``, one multi-row INSERT per table, small ones sent together.

    Written as SQL, not through models: for one invoice, building the ORM's model instances
    cost more CPU than the statements. Values still go through the tortoise fields' own
    conversions, so they are stored exactly as the ORM stores them. The invoice rows come
    back as their values by field name, which ``_stored`` reads like a model's attributes.
    """
    if not records:
        return []
    now = datetime.now(UTC)
    connection = dialect.connection()
    corrections = [c for c in map(_correction, records) if c is not None]
    for related_id, status, _ in corrections:
        sql = Sql(connection.capabilities.dialect)
        await connection.execute_query(
            f"UPDATE invoices SET status = {sql.param(status.value)} "
            f"WHERE id = {sql.param(str(related_id))}",
            sql.values,
        )
    rows = Inserts()
    invoices = rows.add(Invoice, [_invoice_row(r, now) for r in records])
    rows.add(
        InvoiceDocument,
        [{"invoice_id": r.id, "original": r.original, "stamped": r.stamped} for r in records],
    )
    rows.add(
        InvoiceLine,
        [{"invoice_id": r.id, **_line_fields(line)} for r in records for line in r.lines],
    )
    rows.add(IdentityLink, [_link_row(r.id, link, now) for r in records for link in r.links])
    accepted = [(r.id, InvoiceStatus.ACCEPTED, "") for r in records]
    rows.add(
        InvoiceEvent,
        [
            {"invoice_id": invoice_id, "status": status.value, "detail": detail, "at": now}
            for invoice_id, status, detail in [*accepted, *corrections]
        ],
    )
    rows.add(Receipt, [_receipt_row(r, now) for r in records])
    await rows.write(connection)
    # Last, and apart: the roll-ups read the invoices just written, and a roll-up row is shared
    # by every intake of its seller and month, in every worker, held locked until the commit.
    await rollups.add([(r.id, r.issued_on) for r in records])
    return [SimpleNamespace(**row) for row in invoices]


def _invoice_row(record: InvoiceRecord, received_at: datetime) -> dict[str, Any]:
    return {
        "id": record.id,
        "seller_tax_code": record.key.seller_tax_code,
        "template": record.key.template,
        "series": record.key.series,
        "number": record.key.number,
        "sha256": record.sha256,
        "tax_authority_code": record.tax_authority_code,
        "version": record.version,
        "name": record.name[:100],
        "issued_on": record.issued_on,
        "currency": record.currency,
        "exchange_rate": record.exchange_rate,
        "seller_name": record.seller_name[:400],
        "buyer_name": record.buyer_name[:400],
        "buyer_tax_code": record.buyer_tax_code,
        "buyer_personal_id": record.buyer_personal_id,
        "total_before_tax": record.total_before_tax,
        "total_tax": record.total_tax,
        "total_payable": record.total_payable,
        "is_cash_register": record.is_cash_register,
        "relation": record.relation,
        "related_id": record.related_id,
        "related_template": record.related_key.template if record.related_key else None,
        "related_series": record.related_key.series if record.related_key else None,
        "related_number": record.related_key.number if record.related_key else None,
        "payment_method": record.payment_method,
        "buyer_passport": record.buyer_passport,
        "buyer_budget_unit_code": record.buyer_budget_unit_code,
        "cash_register_code": record.cash_register_code,
        "fees": [_fee_json(fee) for fee in record.fees],
        "total_fees": record.total_fees,
        "total_trade_discount": record.total_trade_discount,
        "signer_subject": record.signer.subject if record.signer else None,
        "signer_serial": record.signer.serial if record.signer else None,
        "signer_issuer": record.signer.issuer if record.signer else None,
        "signing_provider_tax_code": record.signer.provider_tax_code if record.signer else None,
        "status": InvoiceStatus.ACCEPTED,
        "submitter": record.submitter,
        "message_id": record.message_id,
        "received_at": received_at,
        "kind": invoice_kind(
            record.key.template, record.key.series, is_cash_register=record.is_cash_register
        ),
        "seller_province": province_of(record.key.seller_tax_code),
        "buyer_province": province_of(record.buyer_personal_id or record.buyer_tax_code),
    }


def _link_row(invoice_id: uuid.UUID, link: LinkRecord, now: datetime) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "role": link.role,
        "kind": link.kind,
        "value": link.value,
        "subject": link.subject,
        "state": link.state,
        "attempts": 0,
        "updated_at": now,
    }


def _receipt_row(record: InvoiceRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": record.receipt.id,
        "invoice_id": record.id,
        "message_id": record.receipt.message_id,
        "kind": record.receipt.kind,
        "body": record.receipt.body,
        "signed_xml": record.receipt.signed_xml,
        "created_at": now,
    }


def _correction(record: InvoiceRecord) -> tuple[uuid.UUID, InvoiceStatus, str] | None:
    """A replacement or adjustment changes the status of the invoice it corrects, with history:
    that invoice, its new status and the history's detail."""
    if record.related_id is None or record.relation is None:
        return None
    status = InvoiceStatus.REPLACED if record.relation == "replacement" else InvoiceStatus.ADJUSTED
    return record.related_id, status, f"by invoice {record.id}"


async def _first_receipts(invoice_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not invoice_ids:
        return {}
    rows = (
        await Receipt.filter(invoice_id__in=invoice_ids)
        .order_by("-created_at")
        .values_list("invoice_id", "id")
    )
    return {invoice_id: receipt_id for invoice_id, receipt_id in rows}


def _line_fields(line: LineRecord) -> dict[str, Any]:
    return {
        "position": line.position,
        "nature": line.nature,
        "name": line.name[:500],
        "item_code": line.item_code[:50],
        "unit": line.unit[:50],
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "discount_amount": line.discount_amount,
        "amount": line.amount,
        "tax_rate": line.tax_rate[:11],
        "tax_percent": line.tax_percent,
    }


def _line_record(line: InvoiceLine) -> LineRecord:
    return LineRecord(
        position=line.position,
        nature=line.nature,
        name=line.name,
        item_code=line.item_code,
        unit=line.unit,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount_amount=line.discount_amount,
        amount=line.amount,
        tax_rate=line.tax_rate,
        tax_percent=line.tax_percent,
    )


def _stored(row: Invoice | SimpleNamespace, receipt_id: str) -> StoredInvoice:
    return StoredInvoice(
        id=row.id,
        key=InvoiceKey(row.seller_tax_code, row.template, row.series, row.number),
        sha256=row.sha256,
        status=InvoiceStatus(row.status),
        version=row.version,
        issued_on=row.issued_on,
        currency=row.currency,
        seller_name=row.seller_name,
        buyer_name=row.buyer_name,
        buyer_tax_code=row.buyer_tax_code,
        buyer_personal_id=row.buyer_personal_id,
        total_before_tax=row.total_before_tax,
        total_tax=row.total_tax,
        total_payable=row.total_payable,
        tax_authority_code=row.tax_authority_code,
        is_cash_register=row.is_cash_register,
        received_at=row.received_at,
        receipt_id=receipt_id,
        relation=row.relation,
        related_id=row.related_id,
        related_key=_related_key(row),
        exchange_rate=row.exchange_rate,
        payment_method=row.payment_method,
        buyer_passport=row.buyer_passport,
        buyer_budget_unit_code=row.buyer_budget_unit_code,
        cash_register_code=row.cash_register_code,
        fees=None if row.fees is None else tuple(_fee(entry) for entry in row.fees),
        total_fees=row.total_fees,
        total_trade_discount=row.total_trade_discount,
        signer=_signer(row),
    )


def _related_key(row: Invoice | SimpleNamespace) -> InvoiceKey | None:
    """A correction's original: the same seller's invoice under the template, series, number."""
    if row.related_template is None or row.related_series is None or row.related_number is None:
        return None
    return InvoiceKey(
        row.seller_tax_code, row.related_template, row.related_series, row.related_number
    )


def _signer(row: Invoice | SimpleNamespace) -> Signer | None:
    if row.signer_subject is None or row.signer_serial is None or row.signer_issuer is None:
        return None
    return Signer(
        row.signer_subject, row.signer_serial, row.signer_issuer, row.signing_provider_tax_code
    )


def _fee_json(fee: FeeRecord) -> dict[str, str | None]:
    return {
        "name": fee.name,
        "amount": decimal_text(fee.amount) if fee.amount is not None else None,
    }


def _fee(entry: dict[str, str | None]) -> FeeRecord:
    amount = entry.get("amount")
    return FeeRecord(entry.get("name"), Decimal(amount) if amount is not None else None)


def encode_cursor(issued_on: date, invoice_id: uuid.UUID) -> str:
    return cursors.encode(cursors.write_day(issued_on), cursors.write_id(invoice_id))


def decode_cursor(cursor: str) -> tuple[date, uuid.UUID]:
    """The position ``encode_cursor`` wrote into ``cursor``, else ``CursorInvalid``."""
    day, invoice_id = cursors.decode(cursor, 2)
    return cursors.read_day(cursor, day), cursors.read_id(cursor, invoice_id)
