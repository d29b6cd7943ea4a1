"""``GET /openapi.json``: the REST routes as an OpenAPI 3.1 document, built from the code.

Paths and methods are the app's own routes, read when the document is asked for; the export's
query parameters come from its parameter table (``gateway.http.export``), every enum from its
model, the officer headers and their length from ``gateway.auth``, and which routes answer 429
from the rate limit. What only a route's code says (its roles, statuses and bodies) is written
once here, per endpoint. Tests hold both to the app: every route is described and every
description is a route, and schemathesis holds the answers to the statuses and shapes written
here. ``/graphql`` has its own schema (``schema.graphql``) and the browser pages are no API, so
neither is described.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from importlib.metadata import version
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.auth import CASE_REF_HEADER, MAX_CONTEXT, PURPOSE_HEADER
from gateway.http import admin, export, health, intake, invoices, keys, ratelimit
from gateway.http.openapi_shapes import (
    AMOUNT,
    SCHEMAS,
    TAX_CODE,
    Schema,
    enum_of,
    json_object,
    ref,
)
from gateway.http.responses import json_response
from integrations.access.principal import Role
from integrations.money import parse_amount
from integrations.store.analytics import SortKey, filter_label
from integrations.store.models import MerchantStatus

PATH: Final = "/openapi.json"
ROLES_KEY: Final = "x-roles"
"""Each operation lists the roles that may call it (none: public) under this extension."""

_SCHEMA_OF_PARSER: Final[dict[Callable[[str], Any], Schema]] = {
    export._party: TAX_CODE,
    date.fromisoformat: {"type": "string", "format": "date"},
    parse_amount: AMOUNT,
    filter_label: {"type": "string"},
}

_EXPORT_HELP: Final[dict[str, str]] = {
    "seller": "The seller's tax code, or a personal ID number",
    "buyer": "The buyer's tax code or personal ID number (identity links included)",
    "issuedFrom": "Issued on or after this day",
    "issuedTo": "Issued on or before this day",
    "amountMin": "Total payable at least this",
    "amountMax": "Total payable at most this",
    "taxRate": "A line's rate label (8%, KCT; none for lines without one)",
    "kind": "What the template and series say the invoice is",
    "status": "The invoice's status",
    "series": "The invoice series (C26TAA)",
    "flag": "An active risk flag",
    "sort": "The order's key",
    "order": "Newest or largest first (desc), or the reverse",
}

_ERRORS: Final[dict[int, str]] = {
    400: "The request cannot be used as sent (the code says why)",
    401: "No bearer token, or one that is expired, forged or for another audience",
    403: "The access service refuses this caller this resource",
    404: "No such resource",
    409: "Already there",
    413: "The body is over the cap",
    415: "The body's content type is not one this route reads",
    422: "The body was read but its content is refused",
    429: "Over the caller's or the address's budget",
    503: "The token keys, the access log or the database cannot be reached",
}


@dataclass(frozen=True)
class Operation:
    """What one endpoint's code says about itself: roles, body, parameters, answers."""

    summary: str
    roles: tuple[Role, ...] = ()
    answers: Mapping[int, Schema | str] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    body: Schema | None = None
    parameters: tuple[Schema, ...] = ()
    officer: bool = False


def _json(description: str, schema: Schema, **headers: str) -> Schema:
    answer: Schema = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = {
            name: {"schema": {"type": "string"}, "description": text}
            for name, text in headers.items()
        }
    return answer


def _json_body(schema: Schema) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _parser_schema(parse: Callable[[str], Any]) -> Schema:
    """The schema of what a query-parameter parser takes: an enum parser (``export._choice``)
    by the names of the enum it closes over, the others from ``_SCHEMA_OF_PARSER``."""
    if inspect.isfunction(parse):
        kind = inspect.getclosurevars(parse).nonlocals.get("kind")
        if isinstance(kind, type) and issubclass(kind, Enum):
            return enum_of(kind, names=True)
    return dict(_SCHEMA_OF_PARSER.get(parse, {"type": "string"}))


def export_parameters() -> tuple[Schema, ...]:
    """The export's query parameters, from its own table: filters, then sort and order."""
    filters = [
        _query(name, _parser_schema(parse), _EXPORT_HELP.get(name, ""))
        for name, (_, parse) in export._FILTER_PARAMS.items()
    ]
    sort = {**enum_of(SortKey, names=True), "default": SortKey.ISSUED_ON.name}
    order = {"type": "string", "enum": list(export._ORDERS), "default": "desc"}
    return (
        *filters,
        _query("sort", sort, _EXPORT_HELP["sort"]),
        _query("order", order, _EXPORT_HELP["order"]),
    )


XML: Final = {kind: {"schema": {"type": "string"}} for kind in intake.XML_TYPES}
READ_ERRORS: Final = (400, 403, 404)
INTAKE_ERRORS: Final = (400, 403, 413, 415, 422)
ADMIN_ERRORS: Final = (400, 403, 404, 413, 422)
READERS: Final = (Role.CITIZEN, Role.APP, Role.MERCHANT, Role.OFFICER)
SUBMITTERS: Final = (Role.MERCHANT, Role.ADMIN)


def _intake(summary: str, accepted: Schema, conflict: str) -> Operation:
    return Operation(
        summary,
        roles=SUBMITTERS,
        body={"required": True, "content": XML},
        answers={
            201: _json("Accepted: the signed receipt", accepted, Location="The invoice's URL"),
            200: _json("The same bytes again: the original answer", accepted),
            409: conflict,
        },
        errors=INTAKE_ERRORS,
    )


def _merchant_change(summary: str, body: Schema) -> Operation:
    return Operation(
        summary,
        roles=(Role.ADMIN,),
        body=_json_body(body),
        answers={200: _json("The merchant as it now is", ref("Merchant"))},
        errors=ADMIN_ERRORS,
    )


async def document(request: Request) -> Response:
    return json_response(openapi_document(request.app.routes))


OPERATIONS: Final[dict[Callable[..., Any], Operation]] = {
    health.healthz: Operation(
        "Alive", answers={200: _json("Alive", json_object(["status"], status={"const": "ok"}))}
    ),
    health.readyz: Operation(
        "Ready: the database answers (agency circuits reported, never failing it)",
        answers={
            200: _json("Ready", json_object(["status", "checks"])),
            503: _json("Not ready", json_object(["status", "checks"])),
        },
    ),
    health.metrics: Operation(
        "Prometheus metrics of the worker that answers",
        answers={
            200: {
                "description": "Prometheus text",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    ),
    keys.receipt_keys: Operation(
        "The keys that sign JSON receipts, current and retired, as a JWK set",
        answers={
            200: {
                "description": "The JWK set, each key with its certificate chain in x5c",
                "content": {keys.MEDIA_TYPE: {"schema": ref("KeySet")}},
            }
        },
    ),
    document: Operation("This document", answers={200: _json("OpenAPI 3.1", {"type": "object"})}),
    intake.submit_invoice: _intake(
        "Submit one signed invoice (HDon); Accept: application/xml for a signed 202/204 reply",
        ref("Receipt"),
        "The same invoice key with other content: the original is named",
    ),
    intake.submit_message: _intake(
        "Submit a message envelope (TDiep 200, 203 or 206) of one or many invoices",
        ref("MessageOutcome"),
        "The same message id with other bytes",
    ),
    invoices.get_invoice: Operation(
        "An invoice's summary, lines and status history",
        roles=READERS,
        answers={200: _json("The invoice", ref("Invoice"))},
        errors=READ_ERRORS,
        officer=True,
    ),
    invoices.get_invoice_xml: Operation(
        "The invoice's XML as received, or the tax-authority-coded form",
        roles=READERS,
        parameters=(
            _query(
                "form",
                {"type": "string", "enum": ["original", "coded"], "default": "original"},
                "coded: the form with MCCQT and the gateway's signature",
            ),
        ),
        answers={
            200: {
                "description": "The XML; masked values are named in X-Masked",
                "headers": {"X-Masked": {"schema": {"type": "string"}}},
                "content": {"application/xml": {"schema": {"type": "string"}}},
            }
        },
        errors=READ_ERRORS,
        officer=True,
    ),
    invoices.get_receipt: Operation(
        "The signed receipt: JSON, or with Accept: application/xml the 202/204 message",
        roles=READERS,
        answers={
            200: {
                "description": "The receipt",
                "content": {"application/json": {"schema": ref("Receipt")}, **XML},
            }
        },
        errors=READ_ERRORS,
        officer=True,
    ),
    admin.list_merchants: Operation(
        "Every registered merchant",
        roles=(Role.ADMIN,),
        answers={
            200: _json(
                "The registry",
                json_object(["merchants"], merchants={"type": "array", "items": ref("Merchant")}),
            )
        },
        errors=(403,),
    ),
    admin.add_merchant: Operation(
        "Register a merchant",
        roles=(Role.ADMIN,),
        body=_json_body(
            json_object(
                ["taxCode", "name"],
                taxCode=TAX_CODE,
                name={"type": "string"},
                kind={"type": "string", "maxLength": admin.MAX_KIND, "default": "business"},
                address={"type": "string"},
            )
        ),
        answers={201: _json("Registered", ref("Merchant"), Location="The merchant's URL")},
        errors=(*ADMIN_ERRORS, 409),
    ),
    admin.get_merchant: Operation(
        "One merchant with its certificates and providers",
        roles=(Role.ADMIN,),
        answers={
            200: _json("The merchant", ref("Merchant")),
            422: "The path names no tax code (a check digit fails)",
        },
        errors=(400, 403, 404),
    ),
    admin.set_status: _merchant_change(
        "Set a merchant's status", json_object(["status"], status=enum_of(MerchantStatus))
    ),
    admin.set_pinning: _merchant_change(
        "Pin a merchant to its registered certificates, or release it",
        json_object(["certificatesOnly"], certificatesOnly={"type": "boolean"}),
    ),
    admin.add_certificate: Operation(
        "Register a signing certificate for a merchant (PEM)",
        roles=(Role.ADMIN,),
        body={
            "required": True,
            "description": "A PEM certificate; the content type is not checked",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        answers={201: _json("Registered", ref("Certificate"))},
        errors=ADMIN_ERRORS,
    ),
    admin.grant_provider: _merchant_change(
        "Let a provider sign or submit for a merchant",
        json_object(
            [],
            canSign={"type": "boolean", "default": True},
            canSubmit={"type": "boolean", "default": True},
        ),
    ),
    export.export_invoices: Operation(
        "The invoices query's list as CSV, streamed; an unknown parameter is refused",
        roles=(Role.OFFICER, Role.MERCHANT, Role.CITIZEN),
        parameters=export_parameters(),
        answers={
            200: {
                "description": "One row per invoice",
                "headers": {
                    "Content-Disposition": {"schema": {"type": "string"}},
                    export.AS_OF_HEADER: {
                        "description": export.AS_OF_DOC,
                        "schema": {"type": "string", "format": "date-time"},
                    },
                },
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
        errors=(400, 403),
        officer=True,
    ),
}


def openapi_document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The document of every route described in ``OPERATIONS``, at its path in ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route) or route.endpoint not in OPERATIONS:
            continue
        operation = OPERATIONS[route.endpoint]
        for method in sorted((route.methods or set()) - {"HEAD"}):
            described = _operation(route, operation)
            paths.setdefault(route.path, {})[method.lower()] = described
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Citizen gateway",
            "version": version("citizen-gateway"),
            "description": "The REST routes; GraphQL is described by schema.graphql.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A token of the identity provider named by GATEWAY_JWKS_URL",
                }
            },
            "parameters": {
                "Purpose": _header(PURPOSE_HEADER, "Officers: why the data is read"),
                "CaseRef": _header(CASE_REF_HEADER, "Officers: the case the read belongs to"),
            },
        },
    }


def _header(name: str, description: str) -> Schema:
    schema = {"type": "string", "maxLength": MAX_CONTEXT}
    title = "-".join(part.capitalize() for part in name.split("-"))
    return {
        "name": title,
        "in": "header",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _operation(route: Route, operation: Operation) -> Schema:
    errors = set(operation.errors)
    if operation.roles:
        errors |= {401, 503}
    if route.path not in ratelimit.UNLIMITED_PATHS:
        errors.add(429)
    responses = {
        str(status): answer if isinstance(answer, dict) else _error(answer)
        for status, answer in operation.answers.items()
    }
    for status in sorted(errors - set(operation.answers)):
        responses[str(status)] = _error(_ERRORS[status])
    parameters = [_path_parameter(name) for name in route.param_convertors]
    if operation.officer:
        parameters += [
            {"$ref": "#/components/parameters/Purpose"},
            {"$ref": "#/components/parameters/CaseRef"},
        ]
    parameters += operation.parameters
    described: Schema = {
        "summary": operation.summary,
        "operationId": route.name,
        ROLES_KEY: [role.value for role in operation.roles],
        "security": [{"bearer": []}] if operation.roles else [],
        "responses": dict(sorted(responses.items())),
    }
    if parameters:
        described["parameters"] = parameters
    if operation.body:
        described["requestBody"] = operation.body
    return described


def _error(description: str) -> Schema:
    return _json(description, ref("Error"))


_PATH_PARAMETERS: Final[dict[str, Schema]] = {
    "invoice_id": {"type": "string", "format": "uuid"},
    "tax_code": TAX_CODE,
    "provider": TAX_CODE,
}


def _path_parameter(name: str) -> Schema:
    schema = _PATH_PARAMETERS.get(name, {"type": "string"})
    return {"name": name, "in": "path", "required": True, "schema": schema}
