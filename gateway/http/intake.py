"""Intake routes: signed invoices and message envelopes in, receipts out."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gateway.http.errors import error_body, error_response
from gateway.http.replies import invoice_reply, message_reply
from gateway.http.responses import json_response
from gateway.state import Services, services_of
from integrations.access.principal import Role
from integrations.einvoice import codes
from integrations.einvoice.batches import MessageResult
from integrations.einvoice.findings import Finding, listed
from integrations.einvoice.pipeline import IntakeResult, Outcome, Submitter

XML_TYPES = ("application/xml", "text/xml")
OUTCOME_STATUS = {
    Outcome.ACCEPTED: 201,
    Outcome.REPLAYED: 200,
    Outcome.CONFLICT: 409,
}
TRANSPORT_STATUS = {"1001": 413, "1002": 400, "1003": 415}


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def status_for(findings: list[Finding]) -> int:
    """The HTTP status of a rejection: its first error's family decides."""
    first = next((f for f in findings if f.is_error), None)
    if first is None:
        return 422
    if first.code in TRANSPORT_STATUS:
        return TRANSPORT_STATUS[first.code]
    if first.code.startswith("1"):
        return 400
    if first.code == codes.SUBMITTER_NOT_AUTHORISED.code:
        return 403
    return 422


def wants_xml(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return any(kind in accept for kind in XML_TYPES) and "json" not in accept


async def submitter_for(request: Request, services: Services) -> Submitter | Response:
    principal = await services.authenticate(request)
    if isinstance(principal, Response):
        return principal
    if principal.role is Role.ADMIN:
        return Submitter(None, principal.actor)
    if principal.role is Role.MERCHANT and principal.tax_code:
        return Submitter(principal.tax_code, principal.actor)
    return error_response(
        403, "FORBIDDEN", "Only merchants, their providers and operators submit invoices"
    )


async def submit_invoice(request: Request) -> Response:
    taken = await _take(request)
    if isinstance(taken, Response):
        return taken
    services, submitter, raw = taken
    result = await services.intake.submit_invoice(raw, _content_type(request), submitter)
    if wants_xml(request):
        reply = await services.cpu.run(invoice_reply, services.receipt_signer, result, submitter)
        status = OUTCOME_STATUS.get(result.outcome) or status_for(result.findings)
        return xml_response(reply, status)
    return _json_reply(result)


async def submit_message(request: Request) -> Response:
    taken = await _take(request)
    if isinstance(taken, Response):
        return taken
    services, submitter, raw = taken
    result = await services.messages.submit(raw, _content_type(request), submitter)
    if wants_xml(request):
        reply = await services.cpu.run(message_reply, services.receipt_signer, result, submitter)
        return xml_response(reply, result_status(result))
    return _message_json(result)


async def _take(request: Request) -> tuple[Services, Submitter, bytes] | Response:
    """Who submits, and the body read within the size cap; or the response refusing it."""
    services = services_of(request)
    submitter = await submitter_for(request, services)
    if isinstance(submitter, Response):
        return submitter
    raw = await _body(request, services)
    if isinstance(raw, Response):
        return raw
    return services, submitter, raw


def _content_type(request: Request) -> str | None:
    return request.headers.get("content-type")


def result_status(result: MessageResult) -> int:
    if result.outcome is Outcome.REJECTED and not result.items:
        return status_for(result.findings)
    if result.outcome is Outcome.REJECTED:
        return 422
    return OUTCOME_STATUS[result.outcome]


async def _body(request: Request, services: Services) -> bytes | Response:
    limit = services.settings.max_body_bytes
    try:
        return await read_body(request, limit)
    except BodyTooLarge:
        finding = codes.TOO_LARGE.finding(f"more than {limit} bytes")
        return json_response(error_body([finding.as_dict()]), status=413)
    except ClientDisconnect:
        return error_response(400, "BODY_INCOMPLETE", "The client went away mid-body")


def _json_reply(result: IntakeResult) -> Response:
    if result.outcome is Outcome.REJECTED:
        return json_response(
            error_body(**listed(result.findings)), status=status_for(result.findings)
        )
    if result.outcome is Outcome.CONFLICT:
        existing = result.conflict
        return json_response(
            error_body(
                **listed(result.findings),
                original={
                    "invoiceId": str(existing.id),
                    "receiptId": existing.receipt_id,
                    "acceptedAt": existing.received_at.isoformat(),
                    "sha256": existing.sha256,
                }
                if existing
                else None,
            ),
            status=409,
        )
    return json_response(
        result.receipt, status=OUTCOME_STATUS[result.outcome], headers=_location(result)
    )


def _location(result: IntakeResult) -> dict[str, str]:
    return {"Location": f"/v1/invoices/{result.invoice.id}"} if result.invoice else {}


def _message_json(result: MessageResult) -> Response:
    status = result_status(result)
    if not result.items and result.outcome is not Outcome.REPLAYED:
        return json_response(error_body(**listed(result.findings)), status=status)
    return json_response(result.summary, status=status)


def xml_response(body: bytes, status: int) -> Response:
    return Response(body, status, media_type="application/xml")
