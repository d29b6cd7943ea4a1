"""The officer CSV export served by the real app: same rows as the list query, audited."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.demo_tokens import ensure_demo_keys, mint_token
from integrations.access import AuditLog
from integrations.access.principal import Role
from integrations.store.database import Database, open_database
from integrations.store.invoices import InvoiceStore
from integrations.store.models import AuditEvent
from tests.integrations.store.invoice_factory import SELLERS, Generated, generate
from tests.support.servers import in_process_client

CASE = {"X-Purpose": "tax audit", "X-Case-Ref": "TT-2026-17"}
EXPORT = "/v1/officer/invoices.csv"
LIST = """
query($filter: InvoiceSearch, $after: String) {
  invoices(filter: $filter, first: 9, after: $after) {
    edges { node { id totalPayable } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@dataclass
class Gateway:
    http: httpx.AsyncClient
    settings: Settings
    made: list[Generated]

    def token(self, role: Role, subject: str, **claims: Any) -> dict[str, str]:
        token = mint_token(
            ensure_demo_keys(self.settings.data_dir),
            role,
            subject,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            **claims,
        )
        return {"Authorization": f"Bearer {token}"}

    def officer(self) -> dict[str, str]:
        return {**self.token(Role.OFFICER, "off-7"), **CASE}


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    made = generate(40, seed=5)
    async with open_database(settings.resolved_database_url):
        await InvoiceStore().insert_all([invoice.record for invoice in made])
    async with in_process_client(create_app(settings)) as http:
        yield Gateway(http, settings, made)


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


async def listed(gateway: Gateway, filter_: dict[str, str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    after = None
    while True:
        response = await gateway.http.post(
            "/graphql",
            json={"query": LIST, "variables": {"filter": filter_, "after": after}},
            headers=gateway.officer(),
        )
        body = response.json()
        assert "errors" not in body, body
        connection = body["data"]["invoices"]
        found += [(e["node"]["id"], e["node"]["totalPayable"]) for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return found
        after = connection["pageInfo"]["endCursor"]


def buyers_of(made: list[Generated], seller: str | None) -> list[str]:
    """The people who bought from ``seller`` (from anyone with None), sorted."""
    return sorted(
        {
            m.record.buyer_personal_id
            for m in made
            if m.record.buyer_personal_id and seller in (None, m.record.key.seller_tax_code)
        }
    )


@pytest.mark.parametrize(
    "filter_",
    [
        pytest.param({}, id="everything"),
        pytest.param({"seller": SELLERS[0], "issuedFrom": "2026-09-01"}, id="seller-since"),
        pytest.param({"amountMin": "300000", "kind": "VAT"}, id="amount-kind"),
    ],
)
async def test_the_export_holds_exactly_the_listed_invoices(
    gateway: Gateway, filter_: dict[str, str]
) -> None:
    expected = await listed(gateway, filter_)
    assert expected or not filter_

    response = await gateway.http.get(EXPORT, params=filter_, headers=gateway.officer())

    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="invoices.csv"'
    rows = rows_of(response)
    exported = [(row["id"], Decimal(row["total_payable"])) for row in rows]
    assert exported == [(invoice_id, Decimal(total)) for invoice_id, total in expected]


async def test_an_export_is_logged_about_its_subject_and_each_person_in_it(
    gateway: Gateway, database_url: str
) -> None:
    everything = await gateway.http.get(EXPORT, headers=gateway.officer())
    one_seller = await gateway.http.get(
        EXPORT, params={"seller": SELLERS[1]}, headers=gateway.officer()
    )

    assert (everything.status_code, one_seller.status_code) == (200, 200)
    assert {row["seller_tax_code"] for row in rows_of(one_seller)} == {SELLERS[1]}
    events = await AuditEvent.all().order_by("id").values("subject", "fields_read", "case_ref")
    assert all(e["fields_read"] == ["invoices.csv"] for e in events)
    assert all(e["case_ref"] == "TT-2026-17" for e in events)
    subjects = [event["subject"] for event in events]
    people_of = {seller: buyers_of(gateway.made, seller) for seller in (None, SELLERS[1])}
    assert people_of[SELLERS[1]], "the generated invoices must include people's purchases"
    split = 1 + len(people_of[None])
    assert subjects[0] == "*"
    assert sorted(subjects[1:split]) == people_of[None]
    assert subjects[split] == SELLERS[1]
    assert sorted(subjects[split + 1 :]) == people_of[SELLERS[1]]
    assert (await AuditLog(Database(database_url)).verify()).ok


async def test_a_merchant_exports_its_own_sales_by_default(gateway: Gateway) -> None:
    caller = gateway.token(Role.MERCHANT, SELLERS[0], tax_code=SELLERS[0])

    response = await gateway.http.get(EXPORT, headers=caller)

    assert response.status_code == 200, response.text
    exported = {row["id"] for row in rows_of(response)}
    own = {str(m.record.id) for m in gateway.made if m.record.key.seller_tax_code == SELLERS[0]}
    assert own
    assert exported == own


@pytest.mark.parametrize(
    ("who", "headers", "status", "code"),
    [
        pytest.param("merchant", {}, 403, "FORBIDDEN", id="another-merchant"),
        pytest.param("officer", {"X-Purpose": "tax audit"}, 403, "CASE_REF_REQUIRED", id="no-case"),
        pytest.param("officer", {}, 403, "PURPOSE_REQUIRED", id="no-purpose"),
    ],
)
async def test_officers_need_a_case_merchants_their_own_sales_and_refusals_are_logged(
    gateway: Gateway, who: str, headers: dict[str, str], status: int, code: str
) -> None:
    params = {}
    if who == "merchant":
        caller = gateway.token(Role.MERCHANT, SELLERS[0], tax_code=SELLERS[0])
        params = {"seller": SELLERS[1]}
    else:
        caller = gateway.token(Role.OFFICER, "off-7")
    response = await gateway.http.get(EXPORT, params=params, headers={**caller, **headers})

    assert response.status_code == status
    assert response.json()["errors"][0]["code"] == code
    assert await AuditEvent.filter(outcome="denied").count() == 1


@pytest.mark.parametrize(
    ("params", "path"),
    [
        pytest.param({"selller": SELLERS[0]}, "selller", id="misspelt"),
        pytest.param({"issuedFrom": "01/09/2026"}, "issuedFrom", id="date"),
        pytest.param({"amountMin": "1e6"}, "amountMin", id="exponent"),
        pytest.param({"amountMin": "1e999999999"}, "amountMin", id="huge-exponent"),
        pytest.param({"amountMin": "NaN"}, "amountMin", id="nan"),
        pytest.param({"amountMax": "-Infinity"}, "amountMax", id="infinity"),
        pytest.param({"amountMax": "9" * 40}, "amountMax", id="forty-digits"),
        pytest.param({"amountMin": "0.0000001"}, "amountMin", id="seven-decimals"),
        pytest.param({"taxRate": "8%\x00"}, "taxRate", id="nul-rate"),
        pytest.param({"series": "\x00"}, "series", id="nul-series"),
        pytest.param({"kind": "invoice"}, "kind", id="kind"),
        pytest.param({"buyer": "12345"}, "buyer", id="buyer"),
        pytest.param({"order": "up"}, "order", id="order"),
    ],
)
async def test_bad_parameters_are_refused_before_anything_is_read(
    gateway: Gateway, params: dict[str, str], path: str
) -> None:
    response = await gateway.http.get(EXPORT, params=params, headers=gateway.officer())
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["path"]) == ("BAD_REQUEST", path)
    assert await AuditEvent.all().count() == 0


async def test_amounts_past_64_bit_millionths_are_compared_not_refused(gateway: Gateway) -> None:
    above = await gateway.http.get(
        EXPORT, params={"amountMin": "9223372036855"}, headers=gateway.officer()
    )
    below = await gateway.http.get(
        EXPORT, params={"amountMax": "99999999999999999.999999"}, headers=gateway.officer()
    )

    assert (above.status_code, below.status_code) == (200, 200)
    assert rows_of(above) == []
    assert len(rows_of(below)) == len(gateway.made)


async def test_anonymous_callers_are_refused(gateway: Gateway) -> None:
    response = await gateway.http.get(EXPORT, headers=CASE)
    assert response.status_code == 401
