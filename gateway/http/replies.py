"""XML replies in the national message envelope, built from intake results and signed.

Which reply answers what: a coded invoice accepted gets 202 (the invoice with MCCQT and the
gateway's signature); any other accepted invoice gets 204 with LTBao 2 (valid); a rejected
invoice gets 204 with LTBao 1 and its errors; a body that could not be read at all gets 999
with TTTNhan 1. A batch gets one 204 listing each invoice (LTBao 2, 3, or 7 for cash-register
batches). Each list of errors holds at most ``MAX_LISTED``, then one entry (1013) counting the
rest.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from integrations.einvoice import codes
from integrations.einvoice.batches import CASH_REGISTER_BATCH, MessageResult
from integrations.einvoice.document import InvoiceDocument
from integrations.einvoice.findings import Finding
from integrations.einvoice.pipeline import IntakeResult, Outcome, Submitter
from integrations.einvoice.receipts import (
    CheckedInvoice,
    Envelope,
    NoticeKind,
    ReceiptSigner,
    check_notice,
    coded_invoice,
    technical_receipt,
)
from integrations.store.invoices import StoredInvoice

ACCEPTED = (Outcome.ACCEPTED.value, Outcome.REPLAYED.value)


def invoice_reply(signer: ReceiptSigner, result: IntakeResult, submitter: Submitter) -> bytes:
    seller = result.document.key[0] if result.document else (submitter.tax_code or "")
    receipt_id = (result.receipt or {}).get("receiptId", "")
    envelope = Envelope(answers=receipt_id, receiver=seller, tax_code=seller)
    if result.accepted and result.invoice is not None:
        return stored_reply(signer, envelope, result.invoice, result.stamped)
    errors = [f for f in result.findings if f.is_error]
    if result.document is None and errors and errors[0].code.startswith("1"):
        now = datetime.now(UTC)
        return sign_reply(signer, technical_receipt(envelope, received_at=now, findings=errors))
    name = result.document.seller.name or "" if result.document else ""
    checked = [_checked(result.document, errors)]
    return sign_reply(signer, _notice(envelope, NoticeKind.NOT_ELIGIBLE, checked, seller_name=name))


def stored_reply(
    signer: ReceiptSigner, envelope: Envelope, invoice: StoredInvoice, stamped: bytes | None
) -> bytes:
    """202 for a coded invoice, else the 204 notice saying it is valid."""
    if stamped:
        reply = coded_invoice(envelope, stamped)
        return etree.tostring(reply, encoding="UTF-8", xml_declaration=True)
    key = invoice.key
    item = CheckedInvoice(
        key.template, key.series, str(key.number), invoice.issued_on.isoformat(), []
    )
    notice = _notice(
        envelope,
        NoticeKind.VALID,
        [item],
        seller_name=invoice.seller_name,
        number=invoice.receipt_id,
    )
    return sign_reply(signer, notice)


def message_reply(signer: ReceiptSigner, result: MessageResult, submitter: Submitter) -> bytes:
    header = result.header
    envelope = Envelope(
        answers=header.message_id if header else "",
        receiver=header.sender if header else "",
        tax_code=(header.tax_code if header else "") or submitter.tax_code or "",
    )
    if result.outcome is Outcome.REPLAYED:
        checked = [_checked_summary(item) for item in result.summary.get("items", [])]
        accepted = [item["outcome"] in ACCEPTED for item in result.summary.get("items", [])]
    elif not result.items:
        now = datetime.now(UTC)
        return sign_reply(
            signer, technical_receipt(envelope, received_at=now, findings=result.findings)
        )
    else:
        checked = [
            _checked(item.document, [f for f in item.findings if f.is_error])
            for item in result.items
        ]
        accepted = [item.accepted for item in result.items]
    if all(accepted):
        kind = NoticeKind.VALID
    elif header is not None and header.message_type == CASH_REGISTER_BATCH:
        kind = NoticeKind.CASH_REGISTER_INVALID
    else:
        kind = NoticeKind.SOME_INVALID
    return sign_reply(signer, _notice(envelope, kind, checked))


def sign_reply(signer: ReceiptSigner, reply: etree._Element) -> bytes:
    return signer.sign_xml(reply, signed_at=datetime.now(UTC))


def _checked(document: InvoiceDocument | None, errors: list[Finding]) -> CheckedInvoice:
    if document is None:
        return CheckedInvoice("", "", "", "", errors)
    return CheckedInvoice(
        document.template,
        document.series,
        str(document.number),
        document.issued_on.isoformat(),
        errors,
    )


def _checked_summary(item: dict[str, Any]) -> CheckedInvoice:
    """A batch line rebuilt from the stored outcome of a message answered before."""
    errors = [
        Finding(e["code"], e["message"], path=e.get("path", ""), hint=e.get("hint", ""))
        for e in item.get("errors", [])
    ]
    left_out = item.get("omitted", {}).get("errors", 0)
    if left_out:
        errors.append(codes.omission(left_out))
    return CheckedInvoice(
        item.get("template") or "",
        item.get("series") or "",
        str(item.get("number") or ""),
        item.get("issuedOn") or "",
        errors,
    )


def _notice(
    envelope: Envelope,
    kind: int,
    checked: list[CheckedInvoice],
    *,
    seller_name: str = "",
    number: str | None = None,
) -> etree._Element:
    return check_notice(
        envelope,
        kind=kind,
        seller_name=seller_name,
        checked=checked,
        notice_number=number or uuid.uuid4().hex[:12].upper(),
        sent_at=datetime.now(UTC),
    )
