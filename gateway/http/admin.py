"""Admin routes over the merchant registry: merchants, their certificates and providers.

Every route needs the admin role. Bodies are small JSON objects (a PEM certificate for
``/certificates``); a body that cannot be read is 400, one with wrong fields 422, each with the
one JSON error shape and a code.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.http.bodies import read_capped
from gateway.http.errors import Refusal
from gateway.http.responses import json_response
from gateway.state import services_of
from integrations.access import may_administer, require
from integrations.store.merchants import MerchantRegistry, normalise_tax_code
from integrations.store.models import MerchantStatus

MAX_BODY = 64 * 1024
MAX_KIND = 32
STATUSES = tuple(s.value for s in MerchantStatus)

Handler = Callable[[Request, MerchantRegistry], Awaitable[Response]]


class InvalidField(Refusal):
    """A body field is missing or has the wrong type or value: 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(422, "INVALID_FIELD", message, path=field)


def admin_only(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate and ask the access service; registry refusals reach the one handler."""

    async def endpoint(request: Request) -> Response:
        services = services_of(request)
        require(may_administer(await services.authenticate.caller(request)))
        return await handler(request, services.registry)

    endpoint.__name__ = handler.__name__
    return endpoint


@admin_only
async def list_merchants(request: Request, registry: MerchantRegistry) -> Response:
    return json_response({"merchants": [view.as_dict() for view in await registry.all()]})


@admin_only
async def add_merchant(request: Request, registry: MerchantRegistry) -> Response:
    body = await _json_object(request)
    tax_code = normalise_tax_code(_text(body, "taxCode"))
    if await registry.find(tax_code) is not None:
        raise Refusal(409, "MERCHANT_EXISTS", f"merchant {tax_code} is already registered")
    kind = _text(body, "kind", default="business")
    if len(kind) > MAX_KIND:
        raise InvalidField("kind", f"kind is at most {MAX_KIND} characters")
    view = await registry.add(
        tax_code, _text(body, "name"), kind=kind, address=_text(body, "address", default="")
    )
    location = {"Location": f"/v1/admin/merchants/{view.tax_code}"}
    return json_response(view.as_dict(), status=201, headers=location)


@admin_only
async def get_merchant(request: Request, registry: MerchantRegistry) -> Response:
    return json_response((await registry.get(request.path_params["tax_code"])).as_dict())


@admin_only
async def set_status(request: Request, registry: MerchantRegistry) -> Response:
    body = await _json_object(request)
    status = _text(body, "status")
    if status not in STATUSES:
        raise InvalidField("status", f"status is one of {', '.join(STATUSES)}")
    view = await registry.set_status(request.path_params["tax_code"], MerchantStatus(status))
    return json_response(view.as_dict())


@admin_only
async def set_pinning(request: Request, registry: MerchantRegistry) -> Response:
    body = await _json_object(request)
    only = _flag(body, "certificatesOnly", default=None)
    view = await registry.pin(request.path_params["tax_code"], certificates_only=only)
    return json_response(view.as_dict())


@admin_only
async def add_certificate(request: Request, registry: MerchantRegistry) -> Response:
    pem = await read_capped(request, MAX_BODY)
    certificate = await registry.add_certificate(request.path_params["tax_code"], pem)
    return json_response(
        {
            "fingerprint": certificate.fingerprint,
            "serial": certificate.serial,
            "subject": certificate.subject,
            "issuer": certificate.issuer,
            "notBefore": certificate.not_before.isoformat(),
            "notAfter": certificate.not_after.isoformat(),
        },
        status=201,
    )


@admin_only
async def grant_provider(request: Request, registry: MerchantRegistry) -> Response:
    body = await _json_object(request)
    tax_code = request.path_params["tax_code"]
    await registry.grant(
        tax_code,
        request.path_params["provider"],
        can_sign=_flag(body, "canSign"),
        can_submit=_flag(body, "canSubmit"),
    )
    return json_response((await registry.get(tax_code)).as_dict())


routes = [
    Route("/v1/admin/merchants", list_merchants, methods=["GET"]),
    Route("/v1/admin/merchants", add_merchant, methods=["POST"]),
    Route("/v1/admin/merchants/{tax_code}", get_merchant, methods=["GET"]),
    Route("/v1/admin/merchants/{tax_code}/status", set_status, methods=["PUT"]),
    Route("/v1/admin/merchants/{tax_code}/pinning", set_pinning, methods=["PUT"]),
    Route("/v1/admin/merchants/{tax_code}/certificates", add_certificate, methods=["POST"]),
    Route("/v1/admin/merchants/{tax_code}/providers/{provider}", grant_provider, methods=["PUT"]),
]


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await read_capped(request, MAX_BODY)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        hint = "Send a JSON object."
        raise Refusal(400, "BAD_JSON", f"The body is not JSON: {exc}", hint=hint) from exc
    if not isinstance(body, dict):
        raise Refusal(400, "BAD_JSON", "The body must be a JSON object")
    return body


def _text(body: dict[str, Any], field: str, *, default: str | None = None) -> str:
    value = body.get(field, default)
    if not isinstance(value, str):
        raise InvalidField(field, f"{field} is {'required' if value is None else 'text'}")
    return value.strip()


def _flag(body: dict[str, Any], field: str, *, default: bool | None = True) -> bool:
    """A true/false field; without a default it is required."""
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise InvalidField(field, f"{field} is true or false")
    return value
