"""Reading invoices back: the summary, the original bytes, the signed receipt."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.errors import error_response
from gateway.http.intake import wants_xml, xml_response
from gateway.http.replies import stored_reply
from gateway.http.responses import json_response
from gateway.state import services_of
from integrations.access.principal import Principal, Role
from integrations.einvoice.receipts import Envelope
from integrations.store.invoices import StoredInvoice


async def get_invoice(request: Request) -> Response:
    found = await _readable_invoice(request)
    if isinstance(found, Response):
        return found
    services = services_of(request)
    invoice = await services.intake.store.get(found.id, with_lines=True)
    history = await services.intake.store.history(found.id)
    return json_response(
        {
            **invoice_summary(invoice or found),
            "lines": [
                {
                    "position": line.position,
                    "nature": line.nature,
                    "name": line.name,
                    "unit": line.unit,
                    "quantity": line.quantity,
                    "unitPrice": line.unit_price,
                    "amount": line.amount,
                    "taxRate": line.tax_rate,
                }
                for line in (invoice or found).lines
            ],
            "history": [{"status": s, "detail": d, "at": at.isoformat()} for s, d, at in history],
        }
    )


async def get_invoice_xml(request: Request) -> Response:
    found = await _readable_invoice(request)
    if isinstance(found, Response):
        return found
    store = services_of(request).intake.store
    coded = request.query_params.get("form") == "coded"
    body = await (store.stamped(found.id) if coded else store.original(found.id))
    if body is None:
        return error_response(404, "NOT_FOUND", "This invoice has no tax-authority-coded form")
    return Response(body, media_type="application/xml")


async def get_receipt(request: Request) -> Response:
    found = await _readable_invoice(request)
    if isinstance(found, Response):
        return found
    services = services_of(request)
    receipt = await services.intake.store.receipt(found.receipt_id)
    if receipt is None:
        return error_response(404, "NOT_FOUND", "No receipt is held for this invoice")
    if not wants_xml(request):
        return json_response(receipt.body)
    stamped = await services.intake.store.stamped(found.id)
    envelope = Envelope(
        answers=receipt.body.get("receiptId", ""),
        receiver=found.key.seller_tax_code,
        tax_code=found.key.seller_tax_code,
    )
    reply = await services.cpu.run(stored_reply, services.receipt_signer, envelope, found, stamped)
    return xml_response(reply, 200)


def invoice_summary(invoice: StoredInvoice) -> dict[str, object]:
    return {
        "id": str(invoice.id),
        "status": invoice.status.value,
        "sellerTaxCode": invoice.key.seller_tax_code,
        "sellerName": invoice.seller_name,
        "template": invoice.key.template,
        "series": invoice.key.series,
        "number": invoice.key.number,
        "issuedOn": invoice.issued_on.isoformat(),
        "currency": invoice.currency,
        "buyerName": invoice.buyer_name,
        "buyerTaxCode": invoice.buyer_tax_code,
        "buyerPersonalId": invoice.buyer_personal_id,
        "totalBeforeTax": invoice.total_before_tax,
        "totalTax": invoice.total_tax,
        "totalPayable": invoice.total_payable,
        "taxAuthorityCode": invoice.tax_authority_code,
        "sha256": invoice.sha256,
        "receiptId": invoice.receipt_id,
        "receivedAt": invoice.received_at.isoformat(),
        "relation": invoice.relation,
        "relatedId": str(invoice.related_id) if invoice.related_id else None,
    }


async def _readable_invoice(request: Request) -> StoredInvoice | Response:
    services = services_of(request)
    principal = await services.authenticate(request)
    if isinstance(principal, Response):
        return principal
    try:
        invoice_id = uuid.UUID(request.path_params["invoice_id"])
    except ValueError:
        return error_response(404, "NOT_FOUND", "Invoice ids are UUIDs")
    invoice = await services.intake.store.get(invoice_id)
    if invoice is None or not _may_read(principal, invoice):
        return error_response(404, "NOT_FOUND", f"No invoice {invoice_id} is visible to you")
    return invoice


def _may_read(principal: Principal, invoice: StoredInvoice) -> bool:
    """Merchants see their own; operators and officers see all (officer reads are audited)."""
    if principal.role in (Role.ADMIN, Role.OFFICER):
        return True
    if principal.role is Role.MERCHANT:
        return principal.tax_code == invoice.key.seller_tax_code
    if principal.role is Role.CITIZEN:
        return principal.subject in (invoice.buyer_personal_id, invoice.buyer_tax_code)
    return False
