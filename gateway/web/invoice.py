"""One invoice: the REST door's own reads, with the session's credentials.

The detail is what ``GET /v1/invoices/{id}`` answers (summary, lines, status history), read
by calling that route, so the page decides, masks and logs exactly as it does; the original
XML and the receipt download through the routes of ``/xml`` and ``/receipt`` the same way.
Officers also see the invoice's risk flags, which are for the workbench only. The invoice
looked at is kept in the session: its id never appears in a URL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.http import invoices
from gateway.web.caller import api_request, chosen, form_of, principal_of
from gateway.web.render import page, see_other
from integrations.access import decide_workbench
from integrations.store.risk import RiskStore

INVOICE_ID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def choose(request: Request) -> Response:
    form = await form_of(request)
    request.session["invoice"] = str(form.get("id", "")).strip()
    return see_other("/invoice")


def _chosen(request: Request) -> dict[str, str] | None:
    invoice_id = chosen(request, "invoice")
    return {"invoice_id": invoice_id} if invoice_id else None


async def detail(request: Request) -> Response:
    params = _chosen(request)
    if params is None:
        return see_other("/")
    path = f"/v1/invoices/{params['invoice_id']}"
    answer = await invoices.get_invoice(api_request(request, path=path, path_params=params))
    body: dict[str, Any] = orjson.loads(bytes(answer.body))
    principal = await principal_of(request)
    flags = []
    if decide_workbench(principal).allowed:
        found = await RiskStore().active(uuid.UUID(body["id"]))
        flags = sorted(found.values(), key=lambda flag: flag.raised_at, reverse=True)
    corrected_by = [
        match for entry in body["history"] for match in INVOICE_ID.findall(entry["detail"] or "")
    ]
    context = {"invoice": body, "flags": flags, "corrected_by": corrected_by}
    return page(request, "invoice.html", context)


async def original_xml(request: Request) -> Response:
    return await _download(request, "xml", invoices.get_invoice_xml, "xml")


async def receipt(request: Request) -> Response:
    return await _download(request, "receipt", invoices.get_receipt, "json")


async def _download(
    request: Request, part: str, route: Callable[[Request], Awaitable[Response]], extension: str
) -> Response:
    params = _chosen(request)
    if params is None:
        return see_other("/")
    path = f"/v1/invoices/{params['invoice_id']}/{part}"
    answer: Response = await route(api_request(request, path=path, path_params=params))
    name = f"invoice-{params['invoice_id']}-{part}.{extension}"
    answer.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    answer.headers["Cache-Control"] = "no-store"
    return answer
