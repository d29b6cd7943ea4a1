"""The OpenAPI document of the REST routes: complete, served, and true of the answers.

Completeness is checked against the app's own routes, both ways. Truth is checked twice: a
walk through every route's main answers, each validated against the document, and a
schemathesis run over every operation, with valid and invalid inputs and the token of a role
the operation names: no answer may be a 500, and every one must fit the statuses, media types
and shapes the document gives. In CI it is 25 derandomized examples per operation and mode
(``GATEWAY_TEST_FUZZ=deep`` runs many random ones).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.demo import seed_demo
from gateway.http.export import BadExportQuery, export_query
from gateway.http.openapi import OPERATIONS, ROLES_KEY, export_parameters, openapi_document
from gateway.keys import DemoPki
from integrations.access.principal import Role
from integrations.risk import FlagCode
from integrations.store.analytics import SortKey
from integrations.store.database import open_database
from integrations.store.merchants import MerchantRegistry
from integrations.store.models import InvoiceKind, InvoiceStatus
from tests.conftest import copy_migrated
from tests.support.fuzz import fuzz_divided
from tests.support.invoices import (
    BUYER_ID,
    HOTEL,
    PROVIDER,
    RESTAURANT,
    Keys,
    draft,
    intake_ready,
    signed,
)
from tests.support.servers import in_process_client
from tests.support.tokens import token

OFFICER_CONTEXT = {"X-Purpose": "tax-audit", "X-Case-Ref": "TT-2026-0001"}
# The role whose token a generated request carries: the first of these the operation names.
PREFERRED = (Role.ADMIN, Role.OFFICER, Role.MERCHANT, Role.CITIZEN)


def described_routes(app: Starlette) -> set[tuple[str, str]]:
    """The app's REST routes: all but GraphQL and the browser pages (and their assets)."""
    return {
        (route.path, method)
        for route in app.routes
        if isinstance(route, Route)
        and route.path != "/graphql"
        and not route.endpoint.__module__.startswith("gateway.web")
        for method in (route.methods or set()) - {"HEAD"}
    }


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in document["paths"].items() for method in item}


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    return create_app(load_settings(environ={}, data_dir=str(tmp_path)))


def test_every_route_is_described_and_every_description_is_a_route(app: Starlette) -> None:
    document = openapi_document(app.routes)
    assert documented(document) == described_routes(app)
    endpoints = {getattr(route, "endpoint", None) for route in app.routes}
    assert set(OPERATIONS) <= endpoints
    assert not [r for r in app.routes if isinstance(r, Mount) and r.path.startswith("/v1")]


async def test_the_document_is_served_as_openapi_3_1(app: Starlette) -> None:
    async with in_process_client(app) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document == json.loads(json.dumps(openapi_document(app.routes)))
    assert document["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(document).validate()


def test_every_operation_names_its_roles_security_and_error_shape(app: Starlette) -> None:
    document = openapi_document(app.routes)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            roles = operation[ROLES_KEY]
            assert operation["security"] == ([{"bearer": []}] if roles else []), (path, method)
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")) and path != "/readyz":
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)
            if roles:
                assert {"401", "429"} <= set(operation["responses"]), (path, method)
    entry = document["components"]["schemas"]["ErrorEntry"]
    assert set(entry["properties"]) >= {"code", "message", "path", "hint"}


def test_officer_reads_document_purpose_and_case(app: Starlette) -> None:
    document = openapi_document(app.routes)
    headers = document["components"]["parameters"]
    assert [headers[name]["name"] for name in ("Purpose", "CaseRef")] == [
        "X-Purpose",
        "X-Case-Ref",
    ]
    for path in ("/v1/invoices/{invoice_id}", "/v1/officer/invoices.csv"):
        refs = [p.get("$ref") for p in document["paths"][path]["get"]["parameters"]]
        assert "#/components/parameters/Purpose" in refs
        assert "#/components/parameters/CaseRef" in refs


def test_the_export_parameters_are_its_table_with_every_enum() -> None:
    parameters = {p["name"]: p for p in export_parameters()}
    assert list(parameters) == [
        *("seller", "buyer", "issuedFrom", "issuedTo", "amountMin", "amountMax"),
        *("taxRate", "kind", "status", "series", "flag", "sort", "order"),
    ]
    enums = {name: p["schema"].get("enum") for name, p in parameters.items()}
    assert enums["kind"] == list(InvoiceKind.__members__)
    assert enums["status"] == list(InvoiceStatus.__members__)
    assert enums["flag"] == list(FlagCode.__members__)
    assert enums["sort"] == list(SortKey.__members__)
    assert enums["order"] == ["desc", "asc"]
    assert parameters["issuedFrom"]["schema"]["format"] == "date"
    assert all(p["description"] for p in parameters.values())


def test_an_unknown_export_parameter_names_every_allowed_one() -> None:
    """A misspelt filter is refused, and the answer says what would have been right."""
    with pytest.raises(BadExportQuery) as refused:
        export_query({"sellr": RESTAURANT})
    allowed = ", ".join(p["name"] for p in export_parameters())
    assert refused.value.name == "sellr"
    assert refused.value.message == f"unknown parameter 'sellr'; the parameters are {allowed}"


def test_the_readme_lists_every_export_parameter_and_value() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| `GET /v1/officer/")]
    for parameter in export_parameters():
        for word in (parameter["name"], *parameter["schema"].get("enum", ())):
            assert f"`{word}`" in row, word


@dataclass
class Gateway:
    http: httpx.AsyncClient
    settings: Settings
    keys: Keys
    schema: Any

    def bearer(self, role: Role, subject: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(self.settings, role, subject, **claims)}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.bearer(Role.ADMIN, "admin-1")

    @property
    def officer(self) -> dict[str, str]:
        return {**self.bearer(Role.OFFICER, "officer-1"), **OFFICER_CONTEXT}

    @property
    def merchant(self) -> dict[str, str]:
        return self.bearer(Role.MERCHANT, RESTAURANT, tax_code=RESTAURANT)

    async def fits(self, method: str, path: str, template: str, **kwargs: Any) -> httpx.Response:
        """The answer to this request, once validated against the document's operation."""
        response = await self.http.request(method, path, **kwargs)
        self.schema[template][method].validate_response(response)
        return response


@pytest.fixture
async def gateway(settings: Settings, intake_keys: Keys) -> AsyncIterator[Gateway]:
    settings = intake_ready(settings, intake_keys)
    async with open_database(settings.resolved_database_url):
        await MerchantRegistry().add(RESTAURANT, "Nhà hàng Sen Hồ Tây", kind="restaurant")
    app = create_app(settings)
    schema = schemathesis.openapi.from_dict(openapi_document(app.routes))
    async with in_process_client(app) as http:
        yield Gateway(http, settings, intake_keys, schema)


async def test_every_main_answer_fits_the_document(gateway: Gateway) -> None:
    """One request per operation and main outcome; each answer must fit its operation."""
    fits = gateway.fits
    for public in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/.well-known/jwks.json"):
        assert (await fits("GET", public, public)).status_code == 200

    raw = signed(draft(), gateway.keys.restaurant)
    xml = {"Content-Type": "application/xml"}
    submitted = await fits("POST", "/v1/invoices", "/v1/invoices", content=raw, headers=xml)
    assert submitted.status_code == 401
    merchant = {**gateway.merchant, **xml}
    submitted = await fits("POST", "/v1/invoices", "/v1/invoices", content=raw, headers=merchant)
    assert submitted.status_code == 201
    again = await fits("POST", "/v1/invoices", "/v1/invoices", content=raw, headers=merchant)
    assert again.status_code == 200
    broken = await fits("POST", "/v1/invoices", "/v1/invoices", content=b"<HDon", headers=merchant)
    assert broken.status_code == 400
    message = await fits("POST", "/v1/messages", "/v1/messages", content=raw, headers=merchant)
    assert message.status_code in (400, 422)

    one = "/v1/invoices/{invoice_id}"
    invoice = submitted.headers["location"]
    officer = gateway.officer
    assert (await fits("GET", invoice, one, headers=officer)).status_code == 200
    assert (await fits("GET", f"{invoice}/xml", f"{one}/xml", headers=officer)).status_code == 200
    receipt = await fits("GET", f"{invoice}/receipt", f"{one}/receipt", headers=officer)
    assert receipt.status_code == 200
    unknown = "/v1/invoices/00000000-0000-0000-0000-000000000000"
    assert (await fits("GET", unknown, one, headers=officer)).status_code == 404
    no_case = gateway.bearer(Role.OFFICER, "officer-1")
    assert (await fits("GET", invoice, one, headers=no_case)).status_code in (400, 403)

    csv = "/v1/officer/invoices.csv"
    exported = await fits("GET", csv, csv, params={"kind": "VAT"}, headers=officer)
    assert exported.status_code == 200
    assert (await fits("GET", csv, csv, params={"sellr": "x"}, headers=officer)).status_code == 400

    await walk_the_registry(gateway)


async def walk_the_registry(gateway: Gateway) -> None:
    fits, admin = gateway.fits, gateway.admin
    merchants, one = "/v1/admin/merchants", "/v1/admin/merchants/{tax_code}"
    hotel = f"{merchants}/{HOTEL}"
    new = {"taxCode": HOTEL, "name": "Khách sạn Sông Sài Gòn", "kind": "hotel"}
    assert (await fits("GET", merchants, merchants, headers=admin)).status_code == 200
    added = await fits("POST", merchants, merchants, json=new, headers=admin)
    assert added.status_code == 201
    assert (await fits("POST", merchants, merchants, json=new, headers=admin)).status_code == 409
    nameless = {"taxCode": "0106324653"}
    bad = await fits("POST", merchants, merchants, json=nameless, headers=admin)
    assert bad.status_code == 422
    assert (await fits("GET", hotel, one, headers=admin)).status_code == 200
    assert (await fits("GET", f"{merchants}/0106324653", one, headers=admin)).status_code == 404
    assert (await fits("GET", hotel, one, headers=gateway.merchant)).status_code == 403
    changes = [
        ("status", {"status": "suspended"}),
        ("pinning", {"certificatesOnly": True}),
        (f"providers/{PROVIDER}", {"canSign": True, "canSubmit": False}),
    ]
    for tail, body in changes:
        template = f"{one}/{tail.replace(PROVIDER, '{provider}')}"
        changed = await fits("PUT", f"{hotel}/{tail}", template, json=body, headers=admin)
        assert changed.status_code == 200, changed.text
    pem = gateway.keys.hotel.certificate.public_bytes(serialization.Encoding.PEM)
    certificates = f"{hotel}/certificates"
    added = await fits("POST", certificates, f"{one}/certificates", content=pem, headers=admin)
    assert added.status_code == 201, added.text


# The schemathesis run: every operation, generated inputs, bounded and derandomized.


SUBJECTS: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: ("admin-1",),
    Role.OFFICER: ("officer-1",),
    Role.MERCHANT: (RESTAURANT,),
    Role.CITIZEN: (BUYER_ID,),
}


@pytest.fixture(scope="module")
def fuzz_settings(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path, intake_keys: Keys
) -> Settings:
    """An intake-ready gateway on its own SQLite file, with the demo's merchants (a household
    among them, whose tax code is its owner's personal ID number) and their certificates."""
    folder = copy_migrated(migrated_sqlite, tmp_path_factory.mktemp("openapi"))
    database_url = f"sqlite://{folder / 'gateway.sqlite3'}"

    async def seed() -> None:
        async with open_database(database_url):
            await seed_demo(MerchantRegistry(), DemoPki(folder / "pki"))

    asyncio.run(seed())
    base = load_settings(environ={}, data_dir=str(folder), database_url=database_url)
    return intake_ready(base, intake_keys)


@pytest.fixture
def fuzzed(fuzz_settings: Settings) -> Any:
    """The document as schemathesis loads it from a new app, over ASGI (the app's lifespan
    runs once: schemathesis ends it after each test)."""
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(fuzz_settings))


@pytest.fixture(scope="module")
def bearers(fuzz_settings: Settings) -> dict[Role, dict[str, str]]:
    return {
        role: {"Authorization": f"Bearer {token(fuzz_settings, role, *subject)}"}
        for role, subject in SUBJECTS.items()
    }


def generated_cases() -> list[Any]:
    """``METHOD /path`` of every documented operation, with valid inputs and, where it takes
    any, invalid ones."""
    document = openapi_document(create_app(load_settings(environ={})).routes)
    cases = []
    for path, method in sorted(documented(document)):
        operation = document["paths"][path][method.lower()]
        takes = [GenerationMode.POSITIVE]
        if {"parameters", "requestBody"} & set(operation):
            takes.append(GenerationMode.NEGATIVE)
        label = f"{method} {path}"
        cases += [pytest.param(label, mode, id=f"{label}-{mode.value}") for mode in takes]
    return cases


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize(("label", "mode"), generated_cases())
def test_no_generated_request_meets_a_server_error(
    label: str, mode: GenerationMode, fuzzed: Any, bearers: dict[Role, dict[str, str]]
) -> None:
    operation = fuzzed.find_operation_by_label(label)
    role = next((r for r in PREFERRED if r.value in operation.definition.raw[ROLES_KEY]), None)
    headers = bearers[role] if role else {}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(fuzz_divided(3), suppress_health_check=list(HealthCheck))
    def each(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    each()
