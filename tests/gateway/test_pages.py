"""The browser pages in-process: sign-in, the session cookie, CSRF, the case, every page, the
words of both languages, and that no ID lands in a URL."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.web.explorer import ExplorerRoute
from gateway.web.formats import day, iso_day, moment, money, quantity
from gateway.web.identities import demo_sign_in_offered
from gateway.web.messages_en import EN
from gateway.web.messages_vi import VI
from gateway.web.sessions import COOKIE
from integrations.access import Role
from integrations.ratelimit.windows import Limit
from integrations.store.database import open_database
from integrations.store.invoices import InvoiceStore, LineRecord
from tests.resolvers.conftest import AN, BINH, HOTEL, RESTAURANT, invoice_record
from tests.support.servers import in_process_client
from tests.support.tokens import token as bearer

TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "web" / "templates"
LINE = LineRecord(
    1,
    1,
    "Phở bò tái",
    "",
    "tô",
    Decimal(2),
    Decimal(54000),
    None,
    Decimal(108000),
    "8%",
    Decimal(8),
)


class Browser:
    """An in-process client that keeps the session cookie and posts forms with their token."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def get(self, path: str) -> httpx.Response:
        response = await self.http.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, **fields: str) -> httpx.Response:
        if not self.csrf:
            await self.get("/signin")
        response = await self.http.post(path, data={"csrf": self.csrf, **fields})
        if response.status_code == 303 and response.headers["location"] != "/invoice/xml":
            await self.get(response.headers["location"])  # as a browser follows, new token
        return response

    async def sign_in(self, identity: str) -> httpx.Response:
        await self.get("/signin")
        return await self.post("/signin", identity=identity)

    async def open_case(self, purpose: str = "tax-audit", case_ref: str = "TT-2026-0017") -> None:
        await self.post("/workbench/case", purpose=purpose, case_ref=case_ref)


def codes(page: httpx.Response) -> list[str]:
    return re.findall(r'class="problem" role="alert" data-code="([^"]+)"', page.text)


@pytest.fixture
async def seeded(settings: Settings) -> dict[str, uuid.UUID]:
    person = replace(invoice_record(1, buyer_id=AN), lines=(LINE,))
    other = invoice_record(2, buyer_id=BINH, issued_on=date(2026, 10, 5))
    business = invoice_record(3, buyer_id=None, buyer_tax_code=HOTEL)
    async with open_database(settings.resolved_database_url):
        for record in (person, other, business):
            await InvoiceStore().insert(record)
    return {"person": person.id, "other": other.id, "business": business.id}


@pytest.fixture
async def browser(settings: Settings, seeded: dict[str, uuid.UUID]) -> AsyncIterator[Browser]:
    async with in_process_client(create_app(settings)) as http:
        yield Browser(http)


async def test_the_demo_picker_signs_in_and_lands_on_the_role_page(browser: Browser) -> None:
    page = await browser.get("/signin")
    assert 'data-identity="officer"' in page.text
    answer = await browser.post("/signin", identity="officer")
    assert (answer.status_code, answer.headers["location"]) == (303, "/workbench")
    answer = await browser.post("/signin", identity="citizen-an")
    assert answer.headers["location"] == "/me"


async def test_a_pasted_token_is_verified_before_it_is_kept(
    browser: Browser, settings: Settings
) -> None:
    token = bearer(
        settings,
        Role.MERCHANT,
        RESTAURANT,
        tax_code=RESTAURANT,
    )
    await browser.get("/signin")
    refused = await browser.post("/signin", token=token[:-4] + "AAAA")
    assert refused.status_code == 401
    assert codes(refused) == ["AUTH_INVALID_TOKEN"]
    assert (await browser.post("/signin", token=token)).headers["location"] == "/workbench"


async def test_the_session_cookie_is_opaque_httponly_and_strict(browser: Browser) -> None:
    answer = await browser.sign_in("citizen-an")
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert AN not in value, "the ID is not readable"
    # Every JWT starts with the base64 of '{"alg"'; eight characters rule out a chance match.
    assert "eyJhbGci" not in value, "nor is the token"


async def test_the_cookie_is_secure_over_https(settings: Settings) -> None:
    async with in_process_client(create_app(settings)) as http:
        http.base_url = httpx.URL("https://gateway.test")
        answer = await http.get("/signin")
    assert "; Secure" in answer.headers["set-cookie"]


async def test_a_form_without_the_session_token_is_refused(browser: Browser) -> None:
    await browser.sign_in("officer")
    answer = await browser.http.post("/workbench/case", data={"purpose": "x", "case_ref": "y"})
    assert answer.status_code == 403
    assert codes(answer) == ["CSRF_REJECTED"]


async def test_without_a_session_every_page_sends_to_sign_in(browser: Browser) -> None:
    for path in ("/workbench", "/me", "/invoice", "/workbench/person", "/workbench/risk"):
        answer = await browser.http.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/signin"), path


async def test_an_officer_searches_inside_a_case_and_opens_an_invoice(
    browser: Browser, seeded: dict[str, uuid.UUID]
) -> None:
    await browser.sign_in("officer")
    assert 'action="/workbench/case"' in (await browser.get("/workbench")).text
    await browser.open_case()
    await browser.post("/workbench/search", seller=RESTAURANT, issuedFrom="1/11/2026")
    page = await browser.get("/workbench")
    assert codes(page) == []
    shown = set(re.findall(r'<tr data-invoice-id="([^"]+)"', page.text))
    assert shown == {str(seeded["person"]), str(seeded["business"])}
    assert 'value="01/11/2026"' in page.text
    assert "108.000 ₫" in page.text
    assert "02/11/2026" in page.text
    await browser.post("/invoice", id=str(seeded["person"]))
    page = await browser.get("/invoice")
    assert page.status_code == 200
    assert "Phở bò tái" in page.text
    assert "TT-2026-0017" in page.text
    xml = await browser.http.get("/invoice/xml")
    assert xml.content == f"<HDon>{RESTAURANT}/1</HDon>".encode()
    assert "attachment" in xml.headers["content-disposition"]


async def test_sorting_and_export_follow_the_search(
    browser: Browser, seeded: dict[str, uuid.UUID]
) -> None:
    await browser.sign_in("officer")
    await browser.open_case()
    await browser.post("/workbench/search", seller=RESTAURANT)
    await browser.post("/workbench/sort", key="ISSUED_ON")
    page = await browser.get("/workbench")
    rows = re.findall(r'<tr data-invoice-id="([^"]+)"', page.text)
    assert rows[0] == str(seeded["other"]), "the same key again puts the oldest first"
    export = await browser.post("/workbench/export")
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert len(lines) == 4
    assert str(seeded["other"]) in lines[1]


async def test_an_officer_without_a_case_is_told_by_the_api(browser: Browser) -> None:
    await browser.sign_in("officer")
    await browser.open_case(purpose="tax-audit", case_ref="")
    await browser.post("/workbench/search", seller=RESTAURANT)
    assert codes(await browser.get("/workbench")) == ["CASE_REF_REQUIRED"]


async def test_a_refused_invoice_says_why(browser: Browser, seeded: dict[str, uuid.UUID]) -> None:
    await browser.sign_in("citizen-binh")
    await browser.post("/invoice", id=str(seeded["person"]))
    page = await browser.get("/invoice")
    assert page.status_code == 403
    assert codes(page) == ["FORBIDDEN"]
    assert "Bạn không có quyền xem dữ liệu này" in page.text


async def test_the_person_and_merchant_pages(browser: Browser) -> None:
    await browser.sign_in("officer")
    await browser.open_case()
    await browser.post("/workbench/person", id_number=AN)
    person = await browser.get("/workbench/person")
    assert codes(person) == []
    assert "Nguyễn Văn An" in person.text
    assert "<svg" in person.text
    assert "11/2026" in person.text
    await browser.post("/workbench/merchant", tax_code=RESTAURANT)
    merchant = await browser.get("/workbench/merchant")
    assert codes(merchant) == []
    assert re.search(r"data-distinct-buyers>(\d+)<", merchant.text)[1] == "3"


async def test_the_citizen_sees_who_read_their_data(browser: Browser) -> None:
    await browser.sign_in("officer")
    await browser.open_case(purpose="refund-review")
    await browser.post("/workbench/person", id_number=AN)
    await browser.get("/workbench/person")
    await browser.sign_in("citizen-an")
    page = await browser.get("/me")
    assert codes(page) == []
    assert 'data-reader="officer:officer-01"' in page.text
    assert "Cán bộ thuế officer-01 đã xem" in page.text
    assert "Xét hoàn thuế" in page.text


async def test_a_citizen_grants_and_revokes_a_consent(browser: Browser) -> None:
    next_month = (date.today() + timedelta(days=30)).isoformat()
    await browser.sign_in("citizen-an")
    await browser.post(
        "/me/consents",
        app_id="budget-app",
        purpose="budgeting",
        expires=next_month,
        domains="invoices",
    )
    page = await browser.get("/me")
    assert codes(page) == []
    assert 'data-consent="budget-app" data-state="active"' in page.text
    consent = re.search(
        r'"/me/consents/revoke"[^>]*>[^<]*<input[^>]*>\s*<button[^>]*value="([^"]+)"', page.text
    )
    assert consent is not None
    await browser.post("/me/consents/revoke", id=consent.group(1))
    assert 'data-state="revoked"' in (await browser.get("/me")).text


async def test_the_english_switch(browser: Browser) -> None:
    await browser.sign_in("officer")
    await browser.post("/lang", lang="en", back="/workbench")
    page = await browser.get("/workbench")
    assert "Open a case" in page.text
    assert '<html lang="en">' in page.text


async def test_no_page_puts_an_id_in_a_url(browser: Browser, seeded: dict[str, uuid.UUID]) -> None:
    await browser.sign_in("officer")
    await browser.open_case()
    await browser.post("/workbench/search", buyer=AN)
    page = await browser.get("/workbench")
    assert re.findall(r'<form method="(\w+)"', page.text) == ["post"] * page.text.count("<form")
    hrefs = re.findall(r'href="([^"]+)"', page.text)
    assert not [h for h in hrefs if AN in h or str(seeded["person"]) in h or "?" in h]


async def test_the_explorer_is_for_browsers_and_never_in_production(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "/static/graphiql/graphiql.min.js" in page.text
    assert "unpkg" not in page.text
    assert "jsdelivr" not in page.text
    api = await client.get("/graphql", headers={"Accept": "application/json"})
    assert api.headers["content-type"].startswith("application/json")
    production = load_settings(
        environ={},
        mode="production",
        upstream_backend="agencies",
        **{
            f"{a}_url": "http://agency.test"
            for a in ("population", "tax", "insurance", "electricity", "water", "telecom")
        },
    )
    assert not [r for r in create_app(production).routes if isinstance(r, ExplorerRoute)]


def test_both_languages_have_every_word_the_templates_use() -> None:
    assert set(VI) == set(EN)
    used = {
        key
        for template in TEMPLATES.glob("*.html")
        for key in re.findall(r'\bt\("([a-z_]+\.[A-Za-z_]+)"\s*[,)]', template.read_text())
    }
    assert used - set(VI) == set()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param(money("1234567"), "1.234.567 ₫", id="dong"),
        pytest.param(money("1234.5", "USD"), "1.234,50 USD", id="dollars"),
        pytest.param(day("2026-11-20"), "20/11/2026", id="day"),
        pytest.param(moment("2026-11-20T20:05:00+00:00"), "21/11/2026 03:05", id="vietnam-time"),
        pytest.param(quantity("1.500"), "1,5", id="quantity"),
        pytest.param(iso_day("1/2/2027"), "2027-02-01", id="typed-day"),
        pytest.param(iso_day("2027-02-01"), "2027-02-01", id="iso-day-kept"),
        pytest.param(day("31/02/2027"), "31/02/2027", id="not-a-day-shown-back"),
    ],
)
def test_local_conventions(value: str, shown: str) -> None:
    assert value == shown


def test_every_asset_is_the_gateways_own() -> None:
    web = TEMPLATES.parent
    pages = [*TEMPLATES.glob("*.html"), *(web / "static").glob("*.js")]
    addresses = [
        address
        for path in pages
        for address in re.findall(r'(?:src|href|action)="([^"{]+)"', path.read_text())
    ]
    assert addresses
    assert [a for a in addresses if not a.startswith(("/", "#"))] == []
    assert re.search(r"\w+://\w", (web / "static" / "explorer.js").read_text()) is None


async def test_a_tampered_cookie_is_no_session(browser: Browser) -> None:
    await browser.sign_in("officer")
    value = browser.http.cookies[COOKIE]
    browser.http.cookies.set(COOKIE, value[:-8] + "AAAAAAAA", domain="gateway.test")
    answer = await browser.http.get("/workbench")
    assert (answer.status_code, answer.headers["location"]) == (303, "/signin")


def test_no_demo_identities_where_an_identity_provider_is_configured(
    settings: Settings, tmp_path: Path
) -> None:
    assert demo_sign_in_offered(settings)
    provider = settings.with_values(jwks_file=tmp_path / "jwks.json")
    assert not demo_sign_in_offered(provider)
    assert not demo_sign_in_offered(settings.with_values(mode="production"))


async def test_a_page_caller_is_rate_limited_by_the_session_s_token(
    settings: Settings, seeded: dict[str, uuid.UUID]
) -> None:
    limited = settings.with_values(
        rate_limit_principal=Limit(4, 3600), rate_limit_address=Limit(1000, 3600)
    )
    async with in_process_client(create_app(limited)) as http:
        citizen, officer = Browser(http), Browser(http)
        await citizen.sign_in("citizen-an")
        statuses = [(await citizen.get("/me")).status_code for _ in range(5)]
        http.cookies.clear()
        await officer.sign_in("officer")
        other = await officer.get("/workbench")

    assert statuses[-1] == 429, statuses
    assert other.status_code == 200, "each caller has its own budget, from the same address"
