"""Intake routes: signed invoices and message envelopes in, receipts out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.bodies import BodyTooLarge, read_capped
from gateway.http.errors import Refusal, error_body, status_of_finding
from gateway.http.replies import invoice_reply, message_reply
from gateway.http.responses import json_response
from gateway.state import Services, services_of
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


def status_for(findings: list[Finding]) -> int:
    """The HTTP status of a rejection: its first error's family decides."""
    first = next((f for f in findings if f.is_error), None)
    return 422 if first is None else status_of_finding(first.code)


def wants_xml(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return any(kind in accept for kind in XML_TYPES) and "json" not in accept


async def submit_invoice(request: Request) -> Response:
    services, submitter, raw = await _take(request)
    result = await services.intake.submit_invoice(raw, _content_type(request), submitter)
    if wants_xml(request):
        reply = await services.cpu.run_sized(
            len(raw), invoice_reply, services.receipt_signer, result, submitter
        )
        status = OUTCOME_STATUS.get(result.outcome) or status_for(result.findings)
        return xml_response(reply, status)
    return _json_reply(result)


async def submit_message(request: Request) -> Response:
    services, submitter, raw = await _take(request)
    result = await services.messages.submit(raw, _content_type(request), submitter)
    if wants_xml(request):
        reply = await services.cpu.run_sized(
            len(raw), message_reply, services.receipt_signer, result, submitter
        )
        return xml_response(reply, result_status(result))
    return _message_json(result)


async def _take(request: Request) -> tuple[Services, Submitter, bytes]:
    """Who submits, as the access service knows them, and the body read within the cap."""
    services = services_of(request)
    principal = await services.authenticate.caller(request)
    submitter = services.access.open(principal).submitter()
    limit = services.settings.max_body_bytes
    try:
        raw = await read_capped(request, limit)
    except BodyTooLarge as exc:
        finding = codes.TOO_LARGE.finding(f"more than {exc.limit} bytes")
        raise Refusal(413, finding.code, finding.message, hint=finding.hint) from exc
    return services, submitter, raw


def _content_type(request: Request) -> str | None:
    return request.headers.get("content-type")


def result_status(result: MessageResult) -> int:
    if result.outcome is Outcome.REJECTED and not result.items:
        return status_for(result.findings)
    if result.outcome is Outcome.REJECTED:
        return 422
    return OUTCOME_STATUS[result.outcome]


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
