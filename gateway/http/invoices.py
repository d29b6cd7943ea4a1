"""Reading invoices back: the summary, the original bytes, the signed receipt.

Each read asks the access service, as every other door does: the same decision, the same
masking and the same access-log events as the GraphQL ``invoice`` field, written before the
answer; a read that cannot be logged is refused.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.errors import Refusal
from gateway.http.intake import wants_xml, xml_response
from gateway.http.replies import stored_reply
from gateway.http.responses import json_response
from gateway.state import Services, services_of
from integrations.access import AccessSession
from integrations.einvoice.receipts import Envelope
from integrations.einvoice.redact import redact_buyer
from integrations.store.invoices import StoredInvoice


async def get_invoice(request: Request) -> Response:
    services, invoice, _ = await _read(request, "invoice", with_lines=True)
    history = await services.intake.store.history(invoice.id)
    return json_response(
        {
            **invoice_summary(invoice),
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
                for line in invoice.lines
            ],
            "history": [{"status": s, "detail": d, "at": at.isoformat()} for s, d, at in history],
        }
    )


async def get_invoice_xml(request: Request) -> Response:
    services, found, session = await _read(request, "invoice.xml")
    store = services.intake.store
    coded = request.query_params.get("form") == "coded"
    body = await (store.stamped(found.id) if coded else store.original(found.id))
    if body is None:
        raise Refusal(404, "NOT_FOUND", "This invoice has no tax-authority-coded form")
    hidden = session.invoice_masks()
    if not hidden:
        return Response(body, media_type="application/xml")
    masked = await services.cpu.run_sized(len(body), redact_buyer, body, hidden)
    headers = {"X-Masked": ",".join(sorted(field.value for field in hidden))}
    return Response(masked, media_type="application/xml", headers=headers)


async def get_receipt(request: Request) -> Response:
    services, found, _ = await _read(request, "invoice.receipt")
    receipt = await services.intake.store.receipt(found.receipt_id)
    if receipt is None:
        raise Refusal(404, "NOT_FOUND", "No receipt is held for this invoice")
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
    """The invoice as JSON; keys as the GraphQL ``Invoice`` names them (docs/invoice-fields.md)."""
    signer, related, fees = invoice.signer, invoice.related_key, invoice.fees
    return {
        "id": str(invoice.id),
        "status": invoice.status.value,
        "formatVersion": invoice.version,
        "sellerTaxCode": invoice.key.seller_tax_code,
        "sellerName": invoice.seller_name,
        "template": invoice.key.template,
        "series": invoice.key.series,
        "number": invoice.key.number,
        "issuedOn": invoice.issued_on.isoformat(),
        "currency": invoice.currency,
        "exchangeRate": invoice.exchange_rate,
        "paymentMethod": invoice.payment_method,
        "buyerName": invoice.buyer_name,
        "buyerTaxCode": invoice.buyer_tax_code,
        "buyerPersonalId": invoice.buyer_personal_id,
        "buyerPassport": invoice.buyer_passport,
        "buyerBudgetUnitCode": invoice.buyer_budget_unit_code,
        "totalBeforeTax": invoice.total_before_tax,
        "totalTax": invoice.total_tax,
        "totalTradeDiscount": invoice.total_trade_discount,
        "fees": None if fees is None else [{"name": f.name, "amount": f.amount} for f in fees],
        "totalFees": invoice.total_fees,
        "totalPayable": invoice.total_payable,
        "taxAuthorityCode": invoice.tax_authority_code,
        "cashRegisterCode": invoice.cash_register_code,
        "signerSubject": signer.subject if signer else None,
        "signerSerial": signer.serial if signer else None,
        "signerIssuer": signer.issuer if signer else None,
        "signingProviderTaxCode": signer.provider_tax_code if signer else None,
        "sha256": invoice.sha256,
        "receiptId": invoice.receipt_id,
        "receivedAt": invoice.received_at.isoformat(),
        "relation": invoice.relation,
        "relatedId": str(invoice.related_id) if invoice.related_id else None,
        "relatedKey": None
        if related is None
        else {
            "sellerTaxCode": related.seller_tax_code,
            "template": related.template,
            "series": related.series,
            "number": related.number,
        },
    }


async def _read(
    request: Request, field_name: str, *, with_lines: bool = False
) -> tuple[Services, StoredInvoice, AccessSession]:
    """The invoice named by the path, once the access service allowed this caller to read it
    and the read is in the access log; refused (and the refusal logged) otherwise."""
    services = services_of(request)
    principal = await services.authenticate.caller(request)
    try:
        invoice_id = uuid.UUID(request.path_params["invoice_id"])
    except ValueError:
        raise Refusal(404, "NOT_FOUND", "Invoice ids are UUIDs") from None
    invoice = await services.intake.store.get(invoice_id, with_lines=with_lines)
    if invoice is None:
        raise Refusal(404, "NOT_FOUND", f"No invoice {invoice_id} is held")
    session = services.access.open(principal)
    try:
        await session.invoice(invoice, field_name)
    finally:
        await session.commit()
    return services, invoice, session
