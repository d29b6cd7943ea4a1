"""The doors agree: every way in asks the one access service and logs the same events.

One live server; for each role and resource, every door that serves the resource is asked
the same question. The matrix holds the doors to one decision (the policy's code, or
ALLOWED), one view of the data and one set of access-log events, and holds that decision to
the policy as written down here.

Doors: REST (``GET /v1/invoices/{id}``), GraphQL over HTTP, GraphQL over WebSocket
(``graphql-transport-ws``), the CSV export (``/v1/officer/invoices.csv``, for searches) and
the browser pages (the invoice page and the workbench's search, signed in with the caller's
token and, where the caller sends them, a case of its purpose and reference). The live feed
is held alike over its two doors: the ``invoiceAccepted`` subscription over WebSocket and the
pages' server-sent events.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.demo_tokens import ensure_demo_keys, mint_token
from integrations.access import ConsentStore, Domain, Role
from integrations.store.database import open_database
from integrations.store.invoices import InvoiceStore
from integrations.store.models import AuditEvent
from tests.conftest import copy_migrated
from tests.resolvers.conftest import AN, BINH, HOTEL, RESTAURANT, invoice_record
from tests.support.invoices import STRANGER
from tests.support.servers import live_server

BRANCH = f"{RESTAURANT}-001"
APP_ID = "budget-app"
CASE = {"X-Purpose": "tax audit", "X-Case-Ref": "TT-2026-17"}
BUYER_CONTACT = (
    "<HDon><DLHDon><NDHDon><NBan><Ten>Nhà hàng Sen</Ten><SDThoai>0241111111</SDThoai></NBan>"
    "<NMua><Ten>Nguyễn Văn An</Ten><SDThoai>0912345678</SDThoai>"
    "<DCTDTu>an@example.vn</DCTDTu><STKNHang>0123456789</STKNHang></NMua>"
    "</NDHDon></DLHDon></HDon>"
).encode()
INVOICE_FIELDS = ("id", "sellerTaxCode", "buyerTaxCode", "buyerPersonalId", "totalPayable")
INVOICE_QUERY = "query($id: ID!) { invoice(id: $id) { " + " ".join(INVOICE_FIELDS) + " } }"
SEARCH_QUERY = (
    "query($seller: String!) { invoices(filter: {seller: $seller}, first: 100) "
    "{ edges { node { id } } } }"
)


@dataclass(frozen=True)
class Caller:
    """A role as the doors see it: token claims plus the request headers it sends."""

    role: Role
    subject: str
    claims: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


CALLERS = {
    "citizen-buyer": Caller(Role.CITIZEN, AN, {"assurance_level": 2}),
    "citizen-buyer-loa1": Caller(Role.CITIZEN, AN, {"assurance_level": 1}),
    "citizen-other": Caller(Role.CITIZEN, BINH, {"assurance_level": 2}),
    "app-consented": Caller(Role.APP, "user-1", {"app_id": APP_ID}, {"X-Purpose": "budgeting"}),
    "app-other-purpose": Caller(Role.APP, "user-1", {"app_id": APP_ID}, {"X-Purpose": "marketing"}),
    "app-unconsented": Caller(
        Role.APP, "user-2", {"app_id": "other-app"}, {"X-Purpose": "budgeting"}
    ),
    "merchant-seller": Caller(Role.MERCHANT, RESTAURANT, {"tax_code": RESTAURANT}),
    "merchant-branch": Caller(Role.MERCHANT, BRANCH, {"tax_code": BRANCH}),
    "merchant-buyer": Caller(Role.MERCHANT, HOTEL, {"tax_code": HOTEL}),
    "merchant-stranger": Caller(Role.MERCHANT, STRANGER, {"tax_code": STRANGER}),
    "officer": Caller(Role.OFFICER, "off-7", headers=CASE),
    "officer-no-case": Caller(Role.OFFICER, "off-7", headers={"X-Purpose": "tax audit"}),
    "officer-no-purpose": Caller(Role.OFFICER, "off-7"),
    "admin": Caller(Role.ADMIN, "ops-1"),
}

OK = "ALLOWED"
F = "FORBIDDEN"
OFFICER_RULES = {
    "officer": OK,
    "officer-no-case": "CASE_REF_REQUIRED",
    "officer-no-purpose": "PURPOSE_REQUIRED",
    "admin": F,
}
NO_PERSON = {
    # Reads of no person's purchase: citizens and apps have no say, officers their rule.
    **{name: F for name in CALLERS if name.startswith(("citizen", "app"))},
    **OFFICER_RULES,
}
EXPECTED: dict[str, dict[str, str]] = {
    # An invoice RESTAURANT sold to the person AN.
    "person-purchase": {
        "citizen-buyer": OK,
        "citizen-buyer-loa1": "ASSURANCE_TOO_LOW",
        "citizen-other": F,
        "app-consented": OK,
        "app-other-purpose": "CONSENT_REQUIRED",
        "app-unconsented": "CONSENT_REQUIRED",
        "merchant-seller": OK,
        "merchant-branch": F,
        "merchant-buyer": F,
        "merchant-stranger": F,
        **OFFICER_RULES,
    },
    # An invoice RESTAURANT's branch sold to the business HOTEL: the parent reads its branch.
    "business-purchase": {
        **NO_PERSON,
        "merchant-seller": OK,
        "merchant-branch": OK,
        "merchant-buyer": OK,
        "merchant-stranger": F,
    },
    # Every invoice RESTAURANT sold: the invoices query and the export.
    "sales-search": {
        **NO_PERSON,
        "merchant-seller": OK,
        "merchant-branch": F,
        "merchant-buyer": F,
        "merchant-stranger": F,
    },
}


@dataclass(frozen=True)
class Answer:
    """What one door answered, reduced to what every door must agree on."""

    decision: str
    data: Any
    events: tuple[tuple[Any, ...], ...]


@dataclass
class Server:
    base: str
    settings: Settings
    invoices: dict[str, uuid.UUID]
    http: aiohttp.ClientSession

    def headers(self, caller: Caller) -> dict[str, str]:
        token = mint_token(
            ensure_demo_keys(self.settings.data_dir),
            caller.role,
            caller.subject,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            **caller.claims,
        )
        return {"Authorization": f"Bearer {token}", **caller.headers}


@pytest.fixture(scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> AsyncIterator[Server]:
    folder = copy_migrated(migrated_sqlite, tmp_path_factory.mktemp("doors"))
    url = f"sqlite://{folder / 'gateway.sqlite3'}"
    settings = load_settings(environ={}, data_dir=str(folder), database_url=url)
    person = replace(invoice_record(1, buyer_id=AN), original=BUYER_CONTACT)
    business = invoice_record(2, seller=BRANCH, buyer_id=None, buyer_tax_code=HOTEL)
    async with open_database(url):
        for record in (person, business):
            await InvoiceStore().insert(record)
        await ConsentStore().grant(
            AN, APP_ID, [Domain.INVOICES], "budgeting", datetime.now(UTC) + timedelta(days=30)
        )
    invoices = {"person-purchase": person.id, "business-purchase": business.id}
    async with live_server(create_app(settings)) as base, aiohttp.ClientSession() as http:
        yield Server(base, settings, invoices, http)


async def _new_events(after: int) -> tuple[int, list[AuditEvent]]:
    rows = await AuditEvent.filter(id__gt=after).order_by("id")
    return (rows[-1].id if rows else after), list(rows)


def _event_key(event: AuditEvent) -> tuple[Any, ...]:
    return (
        event.principal,
        event.role,
        event.subject,
        tuple(event.domains),
        event.purpose,
        event.case_ref,
        event.consent_id is not None,
        event.outcome,
    )


Read = Callable[[Server, Caller, str], Awaitable[tuple[str, Any]]]


def _graphql_decision(body: dict[str, Any], root: str) -> str:
    errors = body.get("errors") or []
    if errors:
        return str(errors[0]["extensions"]["code"])
    return OK if (body.get("data") or {}).get(root) is not None else "NULL"


def _graphql_data(body: dict[str, Any], root: str) -> Any:
    value = (body.get("data") or {}).get(root)
    if value is None:
        return None
    if root == "invoices":
        return sorted(edge["node"]["id"] for edge in value["edges"])
    return value


def _operation(server: Server, resource: str) -> tuple[str, str, dict[str, Any]]:
    if resource == "sales-search":
        return "invoices", SEARCH_QUERY, {"seller": RESTAURANT}
    return "invoice", INVOICE_QUERY, {"id": str(server.invoices[resource])}


async def graphql_http(server: Server, caller: Caller, resource: str) -> tuple[str, Any]:
    root, query, variables = _operation(server, resource)
    async with server.http.post(
        f"{server.base}/graphql",
        json={"query": query, "variables": variables},
        headers=server.headers(caller),
    ) as response:
        body = await response.json(content_type=None)
    return _graphql_decision(body, root), _graphql_data(body, root)


async def graphql_ws(server: Server, caller: Caller, resource: str) -> tuple[str, Any]:
    root, query, variables = _operation(server, resource)
    async with server.http.ws_connect(
        f"{server.base}/graphql",
        protocols=["graphql-transport-ws"],
        headers=server.headers(caller),
    ) as ws:
        await ws.send_json({"type": "connection_init", "payload": {}})
        assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
        await ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        body: dict[str, Any] = {}
        while True:
            message = await ws.receive_json(timeout=5)
            if message["type"] == "next":
                body = message["payload"]
            elif message["type"] == "error":
                body = {"errors": message["payload"]}
                break
            elif message["type"] == "complete":
                break
    return _graphql_decision(body, root), _graphql_data(body, root)


async def rest(server: Server, caller: Caller, resource: str) -> tuple[str, Any]:
    url = f"{server.base}/v1/invoices/{server.invoices[resource]}"
    async with server.http.get(url, headers=server.headers(caller)) as response:
        body = json.loads(await response.read())
    if response.status != 200:
        return str(body["errors"][0]["code"]), None
    return OK, {name: body[name] for name in INVOICE_FIELDS}


async def export(server: Server, caller: Caller, resource: str) -> tuple[str, Any]:
    url = f"{server.base}/v1/officer/invoices.csv"
    params = {"seller": RESTAURANT}
    async with server.http.get(url, params=params, headers=server.headers(caller)) as response:
        raw = await response.read()
    if response.status != 200:
        return str(json.loads(raw)["errors"][0]["code"]), None
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    return OK, sorted(row["id"] for row in rows)


async def _form_token(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as response:
        found = re.search(r'name="csrf" value="([^"]+)"', await response.text())
    assert found is not None, url
    return found.group(1)


@asynccontextmanager
async def signed_in(
    server: Server, caller: Caller
) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """A browser of the pages, in a cookie jar of its own: signed in with the caller's token,
    with a case of the purpose and reference its headers carry; yields it and its form token."""
    token = server.headers(caller)["Authorization"].removeprefix("Bearer ")
    jar = aiohttp.CookieJar(unsafe=True)  # the server is an IP address
    async with aiohttp.ClientSession(server.base, cookie_jar=jar) as http:
        signin = {"csrf": await _form_token(http, "/signin"), "token": token}
        async with http.post("/signin", data=signin, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
        csrf = await _form_token(http, "/signin")
        case = {"purpose": caller.headers.get("X-Purpose", ""), "case_ref": ""}
        case["case_ref"] = caller.headers.get("X-Case-Ref", "")
        async with http.post("/workbench/case", data={"csrf": csrf, **case}):
            pass
        yield http, csrf


async def page(server: Server, caller: Caller, resource: str) -> tuple[str, Any]:
    """The invoice page or the workbench's search, as the caller signed in to the pages."""
    if resource == "sales-search":
        chosen, path = ("/workbench/search", {"seller": RESTAURANT}), "/workbench"
    else:
        chosen, path = ("/invoice", {"id": str(server.invoices[resource])}), "/invoice"
    async with signed_in(server, caller) as (http, csrf):
        async with http.post(chosen[0], data={"csrf": csrf, **chosen[1]}, allow_redirects=False):
            pass
        async with http.get(path) as response:
            html = await response.text()
    refused = re.findall(r'role="alert" data-code="([^"]+)"', html)
    if refused:
        return refused[0], None
    if resource == "sales-search":
        return OK, sorted(re.findall(r'<tr data-invoice-id="([^"]+)"', html))
    fields = dict(re.findall(r'data-field="(\w+)" data-value="([^"]*)"', html))
    id_found = re.search(r'<h1 data-invoice-id="([^"]+)"', html)
    assert id_found is not None
    fields["id"] = id_found.group(1)
    return OK, {name: fields[name] or None for name in INVOICE_FIELDS}


DOORS: dict[str, dict[str, Read]] = {
    "person-purchase": {
        "rest": rest,
        "graphql-http": graphql_http,
        "graphql-ws": graphql_ws,
        "page": page,
    },
    "business-purchase": {
        "rest": rest,
        "graphql-http": graphql_http,
        "graphql-ws": graphql_ws,
        "page": page,
    },
    "sales-search": {
        "export": export,
        "graphql-http": graphql_http,
        "graphql-ws": graphql_ws,
        "page": page,
    },
}
MATRIX = [
    pytest.param(resource, name, id=f"{resource}-{name}")
    for resource in EXPECTED
    for name in CALLERS
]


@pytest.mark.parametrize(("resource", "caller_name"), MATRIX)
async def test_every_door_decides_shows_and_logs_alike(
    server: Server, resource: str, caller_name: str
) -> None:
    caller = CALLERS[caller_name]
    last, _ = await _new_events(0)
    answers: dict[str, Answer] = {}
    for door, read in DOORS[resource].items():
        decision, data = await read(server, caller, resource)
        last, events = await _new_events(last)
        answers[door] = Answer(decision, data, tuple(sorted(map(_event_key, events))))

    expected = EXPECTED[resource][caller_name]
    assert {door: a.decision for door, a in answers.items()} == dict.fromkeys(answers, expected)
    first, *others = answers.values()
    for door, answer in zip(list(answers)[1:], others, strict=True):
        assert answer.data == first.data, door
        assert answer.events == first.events, door
    assert first.events, "every read and every refusal is in the access log"
    if expected == OK and resource != "sales-search":
        assert first.data["id"] == str(server.invoices[resource])


@pytest.mark.parametrize("download", ["xml", "receipt"])
@pytest.mark.parametrize(("resource", "caller_name"), [m for m in MATRIX if "search" not in m.id])
async def test_an_invoice_s_downloads_decide_and_log_as_its_summary(
    server: Server, resource: str, caller_name: str, download: str
) -> None:
    caller = CALLERS[caller_name]
    last, _ = await _new_events(0)
    url = f"{server.base}/v1/invoices/{server.invoices[resource]}/{download}"
    async with server.http.get(url, headers=server.headers(caller)) as response:
        body = await response.read()
    decision = OK if response.status == 200 else str(json.loads(body)["errors"][0]["code"])
    last, events = await _new_events(last)
    summary, _ = await rest(server, caller, resource)
    _, summary_events = await _new_events(last)

    assert decision == summary == EXPECTED[resource][caller_name]
    assert sorted(map(_event_key, events)) == sorted(map(_event_key, summary_events))
    assert {tuple(e.fields_read) for e in events} == {(f"invoice.{download}",)}


async def test_each_person_in_a_search_gets_their_own_event(server: Server) -> None:
    last, _ = await _new_events(0)
    officer = CALLERS["officer"]
    for read in DOORS["sales-search"].values():
        await read(server, officer, "sales-search")
    _, events = await _new_events(last)
    assert sorted(e.subject for e in events) == sorted(
        [RESTAURANT, AN] * len(DOORS["sales-search"])
    )


@pytest.mark.parametrize(
    ("caller", "scopes", "masked"),
    [
        pytest.param("officer", (), ["bank_account", "email", "phone"], id="officer"),
        pytest.param("officer", ("read:phone",), ["bank_account", "email"], id="officer-phone"),
        pytest.param("officer", ("read:sensitive",), [], id="officer-all"),
        pytest.param("app-consented", (), ["bank_account", "email", "phone"], id="app"),
        pytest.param("citizen-buyer", (), [], id="the-buyer"),
        pytest.param("merchant-seller", (), [], id="the-seller"),
    ],
)
async def test_the_original_xml_is_masked_as_the_graph_masks(
    server: Server, caller: str, scopes: tuple[str, ...], masked: list[str]
) -> None:
    who = CALLERS[caller]
    who = replace(who, claims={**who.claims, "scopes": scopes})
    url = f"{server.base}/v1/invoices/{server.invoices['person-purchase']}/xml"
    async with server.http.get(url, headers=server.headers(who)) as response:
        body = await response.read()
    assert response.status == 200
    hidden = {"phone": b"0912345678", "email": b"an@example.vn", "bank_account": b"0123456789"}
    assert sorted(name for name, value in hidden.items() if value not in body) == masked
    assert response.headers.get("X-Masked", "") == ",".join(masked)
    assert b"0241111111" in body, "the seller's own contact details are not the buyer's data"
    if not masked:
        assert body == BUYER_CONTACT


async def test_a_read_that_cannot_be_logged_is_refused_at_every_door(server: Server) -> None:
    database = server.settings.resolved_database_url.removeprefix("sqlite://")
    with sqlite3.connect(database) as broken:
        broken.execute(
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'the audit disk is full'); END"
        )
    try:
        officer = CALLERS["officer"]
        answers = {
            f"{resource}:{door}": (await read(server, officer, resource))[0]
            for resource in ("person-purchase", "sales-search")
            for door, read in DOORS[resource].items()
        }
    finally:
        with sqlite3.connect(database) as mended:
            mended.execute("DROP TRIGGER audit_down")
    assert answers == dict.fromkeys(answers, "AUDIT_UNAVAILABLE")


FEED_QUERY = "subscription($seller: String!) { invoiceAccepted(sellerTaxCode: $seller) { id } }"


async def _subscribed(last: int) -> tuple[int, list[AuditEvent]]:
    """The access-log events a subscription wrote when it was decided: a subscriber that is
    let in hears nothing more until an invoice is accepted, so the log says it was decided."""
    for _ in range(500):
        after, events = await _new_events(last)
        if events:
            return after, events
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription was never decided")


async def feed_ws(server: Server, caller: Caller, last: int) -> tuple[str, int, list[AuditEvent]]:
    async with server.http.ws_connect(
        f"{server.base}/graphql", protocols=["graphql-transport-ws"], headers=server.headers(caller)
    ) as ws:
        await ws.send_json({"type": "connection_init", "payload": {}})
        assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
        payload = {"query": FEED_QUERY, "variables": {"seller": RESTAURANT}}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        last, events = await _subscribed(last)
        if events[0].outcome == "allowed":
            return OK, last, events
        message = await ws.receive_json(timeout=5)
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        return str(errors[0]["extensions"]["code"]), last, events


async def feed_sse(server: Server, caller: Caller, last: int) -> tuple[str, int, list[AuditEvent]]:
    async with signed_in(server, caller) as (http, csrf):
        async with http.post("/workbench/feed", data={"csrf": csrf, "seller": RESTAURANT}):
            pass
        async with http.get("/workbench/feed/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert await stream.content.readline() == b": open\n"
            last, events = await _subscribed(last)
            if events[0].outcome == "allowed":
                return OK, last, events
            while not (line := await stream.content.readline()).startswith(b"data: "):
                pass
            return str(json.loads(line.removeprefix(b"data: "))["code"]), last, events


@pytest.mark.parametrize("caller_name", list(CALLERS))
async def test_the_live_feed_decides_and_logs_alike_over_websocket_and_events(
    server: Server, caller_name: str
) -> None:
    caller = CALLERS[caller_name]
    last, _ = await _new_events(0)
    ws_code, last, ws_events = await feed_ws(server, caller, last)
    sse_code, last, sse_events = await feed_sse(server, caller, last)
    assert ws_code == sse_code == EXPECTED["sales-search"][caller_name]
    assert sorted(map(_event_key, ws_events)) == sorted(map(_event_key, sse_events))
