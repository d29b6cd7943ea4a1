"""The intake: signed invoices in, stored invoices and signed receipts out.

Order of work, cheapest first: transport checks and the bytes hash (an exact replay is answered
from the store without parsing, to a submitter entitled for its seller), then the CPU stages in
one hop off the event loop (parse, schema, signature, data, rules), then the registries (seller
known and active, signer and submitter entitled), then the store. An invoice is acknowledged
only after its transaction has committed; a rejected one leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from integrations.cpu import CpuPool
from integrations.einvoice import codes
from integrations.einvoice.authority import new_tax_authority_code, stamp_invoice
from integrations.einvoice.checks import Checker, Verdict
from integrations.einvoice.document import InvoiceDocument
from integrations.einvoice.events import DuplicateAttempt, IntakeEvents
from integrations.einvoice.findings import Finding, has_errors
from integrations.einvoice.link import IdentityLinker
from integrations.einvoice.parse import check_transport
from integrations.einvoice.pki import issuer_and_serial
from integrations.einvoice.receipts import ReceiptSigner, new_receipt_id
from integrations.errors import IdentityError
from integrations.groupcommit import GroupCommit
from integrations.identity import parse_taxpayer_id
from integrations.money import decimal_text
from integrations.store.invoices import (
    DuplicateInvoice,
    FeeRecord,
    InvoiceKey,
    InvoiceRecord,
    InvoiceStore,
    LineRecord,
    ReceiptRecord,
    Signer,
    StoredInvoice,
)
from integrations.store.merchants import MerchantRegistry, MerchantView


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REPLAYED = "replayed"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who hands the invoice in: a merchant or provider tax code, or an operator (None)."""

    tax_code: str | None
    label: str = ""

    def __str__(self) -> str:
        return self.label or self.tax_code or "operator"


@dataclass(frozen=True, slots=True)
class IntakeResult:
    outcome: Outcome
    findings: list[Finding] = field(default_factory=list)
    invoice: StoredInvoice | None = None
    receipt: dict[str, Any] | None = None
    conflict: StoredInvoice | None = None
    document: InvoiceDocument | None = None
    stamped: bytes | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome in (Outcome.ACCEPTED, Outcome.REPLAYED)


@dataclass(frozen=True, slots=True)
class Admission:
    """A checked invoice the registries cleared, with everything to store for it."""

    record: InvoiceRecord
    findings: list[Finding]
    document: InvoiceDocument
    raw: bytes
    submitter: Submitter


Clock = Callable[[], datetime]

MERCHANT_CACHE_SECONDS = 5.0
"""How stale the intake's view of a merchant may be: a suspension takes effect within this."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Intake:
    def __init__(
        self,
        *,
        checker: Checker,
        registry: MerchantRegistry,
        store: InvoiceStore,
        linker: IdentityLinker,
        signer: ReceiptSigner,
        cpu: CpuPool,
        events: IntakeEvents | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.checker = checker
        self.events = events or IntakeEvents()
        self.registry = registry
        self.store = store
        self.writer = GroupCommit(store.insert_all)
        self.linker = linker
        self.signer = signer
        self.cpu = cpu
        self.clock = clock

    async def submit_invoice(
        self, raw: bytes, content_type: str | None, submitter: Submitter
    ) -> IntakeResult:
        findings = check_transport(raw, content_type, self.checker.settings.limits)
        if has_errors(findings):
            return IntakeResult(Outcome.REJECTED, findings)
        replay = await self._replay(raw, submitter)
        if replay is not None:
            return replay
        verdict = await self.cpu.run_sized(len(raw), self.checker.invoice, raw, now=self.clock())
        return await self.admit(verdict, submitter)

    async def entitled(self, submitter: Submitter, seller: str | None) -> bool:
        """Whether the submitter acts for the seller, and so may learn what is held for it.

        Operators may; anyone else only for a registered seller it may submit for, so that
        no one learns of another seller's invoices or messages by sending their bytes.
        """
        if submitter.tax_code is None:
            return True
        if not seller:
            return False
        code = _canonical(seller) or seller
        merchant = await self.registry.find(code, max_age=MERCHANT_CACHE_SECONDS)
        return _may_submit(merchant, submitter)

    async def admit(
        self, verdict: Verdict, submitter: Submitter, *, message_id: str | None = None
    ) -> IntakeResult:
        """Take a checked invoice through the registries and into the store."""
        admission = await self.clear(verdict, submitter, message_id=message_id)
        if isinstance(admission, IntakeResult):
            return admission
        return await self._store_one(admission)

    async def admit_all(
        self, verdicts: Sequence[Verdict], submitter: Submitter, *, message_id: str | None = None
    ) -> list[IntakeResult]:
        """Admit a batch's invoices, storing those cleared in one transaction.

        A batch that corrects its own invoices goes one by one, since each correction must
        find the invoice it corrects already stored; so does a batch whose joint insert hits a
        duplicate, so that each invoice gets its own precise answer.
        """
        if any(v.document is not None and v.document.related for v in verdicts):
            return [await self.admit(v, submitter, message_id=message_id) for v in verdicts]
        cleared = [await self.clear(v, submitter, message_id=message_id) for v in verdicts]
        admissions = [a for a in cleared if isinstance(a, Admission)]
        try:
            stored = iter(await self.store.insert_all([a.record for a in admissions]))
        except DuplicateInvoice:
            return [a if isinstance(a, IntakeResult) else await self._store_one(a) for a in cleared]
        results = []
        for item in cleared:
            if isinstance(item, IntakeResult):
                results.append(item)
            else:
                results.append(self._accepted(item, next(stored)))
        return results

    async def clear(
        self, verdict: Verdict, submitter: Submitter, *, message_id: str | None = None
    ) -> Admission | IntakeResult:
        """Registries and corrections: an invoice ready to store, or why it is refused."""
        if not verdict.ok or verdict.document is None:
            return IntakeResult(Outcome.REJECTED, verdict.findings, document=verdict.document)
        document = verdict.document
        key = InvoiceKey(*document.key)
        merchant = await self.registry.find(key.seller_tax_code, max_age=MERCHANT_CACHE_SECONDS)
        findings = verdict.findings + _entitlement(
            merchant, key.seller_tax_code, verdict, submitter
        )
        # Only those entitled for the seller learn whether a related invoice is held.
        related = await self._related(document, key) if _may_submit(merchant, submitter) else None
        if isinstance(related, Finding):
            findings.append(related)
        if has_errors(findings):
            return IntakeResult(Outcome.REJECTED, findings, document=document)
        record = await self._record(
            verdict,
            document,
            key,
            findings,
            submitter,
            related if isinstance(related, StoredInvoice) else None,
            message_id,
        )
        return Admission(record, findings, document, verdict.raw, submitter)

    async def _store_one(self, admission: Admission) -> IntakeResult:
        """Store one cleared invoice, committed together with concurrent requests' ones."""
        try:
            stored = await self.writer.submit(admission.record)
        except DuplicateInvoice as duplicate:
            if duplicate.same_bytes:
                return await self._replayed(duplicate.existing)
            return await self._conflict(
                duplicate.existing, admission.findings, admission.raw, admission.submitter
            )
        return self._accepted(admission, stored)

    def _accepted(self, admission: Admission, stored: StoredInvoice) -> IntakeResult:
        self.events.invoice_accepted(stored)
        return IntakeResult(
            Outcome.ACCEPTED,
            admission.findings,
            invoice=stored,
            receipt=admission.record.receipt.body,
            document=admission.document,
            stamped=admission.record.stamped,
        )

    async def _replay(self, raw: bytes, submitter: Submitter) -> IntakeResult | None:
        """The stored answer to these exact bytes, for a submitter entitled for their seller;
        anyone else goes through the checks as if the bytes were new."""
        existing = await self.store.find_by_sha(hashlib.sha256(raw).hexdigest())
        if existing is None or not await self.entitled(submitter, existing.key.seller_tax_code):
            return None
        return await self._replayed(existing)

    async def _replayed(self, existing: StoredInvoice) -> IntakeResult:
        """The same bytes again: the original receipt, and nothing new stored."""
        receipt = await self.store.receipt(existing.receipt_id)
        stamped = await self.store.stamped(existing.id)
        body = receipt.body if receipt else None
        return IntakeResult(Outcome.REPLAYED, [], invoice=existing, receipt=body, stamped=stamped)

    async def _conflict(
        self, existing: StoredInvoice, findings: list[Finding], raw: bytes, submitter: Submitter
    ) -> IntakeResult:
        """Other bytes under a key already held: 409 pointing to the original."""
        receipt = await self.store.receipt(existing.receipt_id)
        body = receipt.body if receipt else None
        sha256 = hashlib.sha256(raw).hexdigest()
        self.events.duplicate_refused(DuplicateAttempt(existing, sha256, str(submitter)))
        conflict = codes.DUPLICATE_KEY.finding(
            f"invoice {existing.id} (receipt {existing.receipt_id}, accepted "
            f"{existing.received_at.isoformat()}, sha256 {existing.sha256}) holds "
            f"{existing.key.seller_tax_code}/{existing.key.template}/{existing.key.series}/"
            f"{existing.key.number}",
            path="HDon/DLHDon/TTChung/SHDon",
        )
        return IntakeResult(
            Outcome.CONFLICT, [*findings, conflict], conflict=existing, receipt=body
        )

    async def _related(
        self, document: InvoiceDocument, key: InvoiceKey
    ) -> StoredInvoice | Finding | None:
        related = document.related
        if related is None or related.number is None or not related.template or not related.series:
            return None
        target = await self.store.find_by_key(
            InvoiceKey(key.seller_tax_code, related.template, related.series, related.number)
        )
        if target is None:
            return codes.RELATED_MISSING.finding(
                f"{related.template}/{related.series}/{related.number} "
                f"of seller {key.seller_tax_code}",
                path="HDon/DLHDon/TTChung/TTHDLQuan",
            )
        return target

    async def _record(
        self,
        verdict: Verdict,
        document: InvoiceDocument,
        key: InvoiceKey,
        findings: list[Finding],
        submitter: Submitter,
        related: StoredInvoice | None,
        message_id: str | None,
    ) -> InvoiceRecord:
        buyer = document.buyer
        links = await self.linker.links(
            seller_tax_code=key.seller_tax_code,
            buyer_tax_code=_canonical(buyer.tax_code if buyer else None),
            buyer_personal_id=_canonical(buyer.personal_id if buyer else None),
        )
        accepted_at = self.clock()
        invoice_id = uuid.uuid4()
        code = new_tax_authority_code() if document.stamped_by_authority else None
        stamped = None
        if code is not None:
            stamped = await self.cpu.run_sized(
                len(verdict.raw),
                stamp_invoice,
                verdict.raw,
                code=code,
                authority=self.signer.identity,
                signing_time=accepted_at,
                tree=verdict.tree,
            )
        receipt_id = new_receipt_id(key.seller_tax_code, accepted_at)
        body = self.signer.seal(
            _receipt_body(
                receipt_id, invoice_id, key, document, verdict.raw, findings, accepted_at, code
            )
        )
        return InvoiceRecord(
            id=invoice_id,
            key=key,
            sha256=hashlib.sha256(verdict.raw).hexdigest(),
            original=verdict.raw,
            version=document.version or "",
            name=document.name or "",
            issued_on=document.issued_on,
            currency=document.amount_currency or "VND",
            exchange_rate=document.exchange_rate,
            seller_name=document.seller.name or "",
            buyer_name=(buyer.name or "") if buyer else "",
            buyer_tax_code=buyer.tax_code if buyer else None,
            buyer_personal_id=buyer.personal_id if buyer else None,
            total_before_tax=document.total_before_tax or 0,
            total_tax=document.total_tax or 0,
            total_payable=document.total_payable or 0,
            is_cash_register=document.is_cash_register,
            submitter=str(submitter),
            receipt=ReceiptRecord(receipt_id, "json", body, b"", message_id),
            lines=tuple(_line(line, position) for position, line in enumerate(document.lines, 1)),
            links=links,
            stamped=stamped,
            tax_authority_code=code,
            related_id=related.id if related else None,
            relation=_relation(document) if related else None,
            related_key=related.key if related else None,
            message_id=message_id,
            payment_method=document.payment_method,
            buyer_passport=buyer.passport if buyer else None,
            buyer_budget_unit_code=buyer.budget_unit_code if buyer else None,
            cash_register_code=verdict.cash_register_code,
            fees=tuple(FeeRecord(fee.name, fee.amount) for fee in document.fees),
            total_trade_discount=document.total_discount,
            signer=_signer(verdict, key.seller_tax_code),
        )


def _entitlement(
    merchant: MerchantView | None, seller: str, verdict: Verdict, submitter: Submitter
) -> list[Finding]:
    if merchant is None:
        return [codes.SELLER_UNKNOWN.finding(seller, path="HDon/DLHDon/NDHDon/NBan/MST")]
    findings: list[Finding] = []
    if not merchant.is_active:
        findings.append(codes.SELLER_INACTIVE.finding(f"{seller} is {merchant.status.value}"))
    refusal = _signer_refusal(merchant, verdict)
    if refusal is not None:
        findings.append(refusal)
    if not _may_submit(merchant, submitter):
        findings.append(
            codes.SUBMITTER_NOT_AUTHORISED.finding(
                f"{submitter.tax_code} may not submit for {seller}"
            )
        )
    return findings


def _may_submit(merchant: MerchantView | None, submitter: Submitter) -> bool:
    """Operators submit for anyone; a merchant for itself, a provider where granted."""
    if submitter.tax_code is None:
        return True
    code = _canonical(submitter.tax_code) or submitter.tax_code
    return merchant is not None and merchant.may_submit(code)


def _signer_refusal(merchant: MerchantView, verdict: Verdict) -> Finding | None:
    """Why the signing certificate may not sign for the merchant, or None when it may.

    A certificate registered for the merchant always may; a pinned merchant takes no other.
    Otherwise the certificate must name the merchant, or a provider registered to sign for it;
    one that names nobody the intake can read is refused, never waved through.
    """
    path = "HDon/DSCKS/NBan"
    certificate, fingerprint = verdict.certificate, verdict.signer_fingerprint
    if certificate is None or fingerprint is None:
        return codes.SIGNATURE_MISSING.finding("no signing certificate vouches for it", path=path)
    if merchant.holds_certificate(fingerprint):
        return None
    seller = merchant.tax_code
    subject = certificate.subject.rfc4514_string()
    if merchant.certificates_only:
        detail = f"{seller} takes its registered certificates only, and {subject} is not one"
        return codes.CERT_NOT_REGISTERED.finding(detail, path=path)
    named = verdict.signer_tax_code
    if named is None:
        detail = f"{subject} names no taxpayer and is not registered for {seller}"
        return codes.CERT_NOT_REGISTERED.finding(detail, path=path)
    if not merchant.may_sign(_canonical(named) or named):
        return codes.CERT_TAX_CODE.finding(
            f"certificate MST:{named} may not sign for {seller}", path=path
        )
    return None


def _canonical(value: str | None) -> str | None:
    """The normalised identity number, or None when absent or malformed."""
    if not value:
        return None
    try:
        return str(parse_taxpayer_id(value))
    except IdentityError:
        return None


def _signer(verdict: Verdict, seller: str) -> Signer | None:
    """Who signed: the certificate, and the provider it names when that is not the seller."""
    certificate = verdict.certificate
    if certificate is None:
        return None
    named = _canonical(verdict.signer_tax_code)
    issuer, serial = issuer_and_serial(certificate)
    return Signer(
        subject=certificate.subject.rfc4514_string(),
        serial=serial,
        issuer=issuer,
        provider_tax_code=named if named is not None and named != seller else None,
    )


def _relation(document: InvoiceDocument) -> str | None:
    nature = document.related.nature if document.related else None
    return {1: "replacement", 2: "adjustment"}.get(nature or 0)


def _line(line: Any, position: int) -> LineRecord:
    return LineRecord(
        position=line.position or position,
        nature=line.nature or 1,
        name=line.name or "",
        item_code=line.item_code or "",
        unit=line.unit or "",
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount_amount=line.discount_amount,
        amount=line.amount,
        tax_rate=line.tax_rate.label if line.tax_rate else "",
        tax_percent=line.tax_rate.percent if line.tax_rate else None,
    )


def _receipt_body(
    receipt_id: str,
    invoice_id: uuid.UUID,
    key: InvoiceKey,
    document: InvoiceDocument,
    raw: bytes,
    findings: list[Finding],
    accepted_at: datetime,
    code: str | None,
) -> dict[str, Any]:
    return {
        "receiptId": receipt_id,
        "invoiceId": str(invoice_id),
        "status": "accepted",
        "acceptedAt": accepted_at.isoformat(),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "sellerTaxCode": key.seller_tax_code,
        "template": key.template,
        "series": key.series,
        "number": key.number,
        "issuedOn": document.issued_on.isoformat(),
        "totalPayable": (
            decimal_text(document.total_payable) if document.total_payable is not None else None
        ),
        "taxAuthorityCode": code,
        "warnings": [f.as_dict() for f in findings if not f.is_error],
    }
