"""Analytics off the primary: with ``GATEWAY_ANALYTICS_DATABASE_URL`` set, the officer's lists,
summaries and exports read that database and say how current they are (``asOf``), while the
intake and the access log write to the primary.

No replica can be set up here, so the "replica" is a second SQLite file that has "replayed"
only some of the primary's invoices, as a lagging replica would have: every answer shows which
of the two it was read from.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.http.export import AS_OF_HEADER
from integrations.access.principal import Role
from integrations.store.database import open_database
from integrations.store.invoices import InvoiceStore
from integrations.store.merchants import MerchantRegistry
from integrations.store.models import AuditEvent, Invoice
from tests.integrations.store.invoice_factory import SELLERS, Generated, generate
from tests.support.invoices import RESTAURANT, Keys, draft, intake_ready, signed
from tests.support.servers import in_process_client
from tests.support.tokens import token

CASE = {"X-Purpose": "tax audit", "X-Case-Ref": "TT-2026-31"}
EXPORT = "/v1/officer/invoices.csv"
OFFICER_READS = """
query($seller: String!) {
  invoices(first: 100) { asOf edges { node { id } } }
  invoiceSummary { count asOf }
  merchantSales(taxCode: $seller) { asOf distinctBuyers months { count asOf } }
}
"""


@dataclass
class Split:
    http: httpx.AsyncClient
    settings: Settings
    keys: Keys
    replica_path: Path
    replica: list[Generated]

    def officer(self) -> dict[str, str]:
        officer = token(self.settings, Role.OFFICER, "off-9")
        return {"Authorization": f"Bearer {officer}", **CASE}


async def _fill(url: str, made: list[Generated]) -> None:
    async with open_database(url):
        await InvoiceStore().insert_all([invoice.record for invoice in made])


@pytest.fixture
async def split(
    settings: Settings, intake_keys: Keys, migrated_sqlite: Path, tmp_path: Path
) -> AsyncIterator[Split]:
    replica_path = tmp_path / "replica.sqlite3"
    shutil.copyfile(migrated_sqlite, replica_path)
    replica_url = f"sqlite://{replica_path}"
    made = generate(21, seed=12)
    replica = made[:15]
    await _fill(settings.resolved_database_url, made)
    await _fill(replica_url, replica)
    configured = intake_ready(settings, intake_keys).with_values(analytics_database_url=replica_url)
    async with open_database(configured.resolved_database_url):
        await MerchantRegistry().add(RESTAURANT, "Nhà hàng Sen Hồ Tây")
    async with in_process_client(create_app(configured)) as http:
        yield Split(http, configured, intake_keys, replica_path, replica)


def _ids(made: list[Generated]) -> set[str]:
    return {str(g.record.id) for g in made}


def _replica_count(split: Split, table: str) -> int:
    """Rows of ``table`` in the analytics database, read aside from the app's connections."""
    with sqlite3.connect(split.replica_path) as connection:
        return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _recent(text: str | None) -> bool:
    """Whether ``text`` is an ISO time within a minute of now: a primary is never stale."""
    assert text is not None
    return abs(datetime.now(UTC) - datetime.fromisoformat(text)) < timedelta(minutes=1)


async def test_the_export_reads_the_analytics_database_and_logs_to_the_primary(
    split: Split,
) -> None:
    response = await split.http.get(EXPORT, headers=split.officer())

    assert response.status_code == 200, response.text
    exported = {row.split(",")[0] for row in response.text.splitlines()[1:]}
    assert exported == _ids(split.replica)
    assert _recent(response.headers.get(AS_OF_HEADER))
    logged = [e.fields_read for e in await AuditEvent.all()]
    assert logged
    assert all(fields == ["invoices.csv"] for fields in logged)
    assert _replica_count(split, "audit_events") == 0


async def test_officer_queries_read_the_analytics_database_with_as_of(split: Split) -> None:
    seller = SELLERS[0]
    response = await split.http.post(
        "/graphql",
        json={"query": OFFICER_READS, "variables": {"seller": seller}},
        headers=split.officer(),
    )

    body = response.json()
    assert "errors" not in body, body
    data = body["data"]
    assert {e["node"]["id"] for e in data["invoices"]["edges"]} == _ids(split.replica)
    assert sum(group["count"] for group in data["invoiceSummary"]) == len(split.replica)
    sales = data["merchantSales"]
    sold = [g for g in split.replica if g.record.key.seller_tax_code == seller]
    assert sum(group["count"] for group in sales["months"]) == len(sold)
    stamps = {
        data["invoices"]["asOf"],
        sales["asOf"],
        *(group["asOf"] for group in [*data["invoiceSummary"], *sales["months"]]),
    }
    assert len(stamps) == 1, "one request reads one point in time"
    assert _recent(stamps.pop())


async def test_the_intake_writes_to_the_primary_only(split: Split) -> None:
    merchant = token(split.settings, Role.MERCHANT, RESTAURANT, tax_code=RESTAURANT)
    headers = {"Authorization": f"Bearer {merchant}", "Content-Type": "application/xml"}

    accepted = await split.http.post(
        "/v1/invoices", content=signed(draft(41), split.keys.restaurant), headers=headers
    )

    assert accepted.status_code == 201, accepted.text
    assert await Invoice.filter(seller_tax_code=RESTAURANT, number=41).count() == 1
    assert _replica_count(split, "invoices") == len(split.replica)
    exported = await split.http.get(EXPORT, headers=split.officer())
    assert len(exported.text.splitlines()) == 1 + len(split.replica), "not replayed there"


async def test_an_unreachable_analytics_database_answers_503_and_the_intake_goes_on(
    settings: Settings, intake_keys: Keys
) -> None:
    down = intake_ready(settings, intake_keys).with_values(
        analytics_database_url="postgres://postgres@127.0.0.1:1/gateway"
    )
    async with open_database(down.resolved_database_url):
        await MerchantRegistry().add(RESTAURANT, "Nhà hàng Sen Hồ Tây")
    merchant = token(down, Role.MERCHANT, RESTAURANT, tax_code=RESTAURANT)
    officer = {"Authorization": f"Bearer {token(down, Role.OFFICER, 'off-9')}", **CASE}
    xml = {"Authorization": f"Bearer {merchant}", "Content-Type": "application/xml"}

    async with in_process_client(create_app(down)) as http:
        exported = await http.get(EXPORT, headers=officer)
        accepted = await http.post(
            "/v1/invoices", content=signed(draft(42), intake_keys.restaurant), headers=xml
        )

    assert exported.status_code == 503, exported.text
    assert exported.json()["errors"][0]["code"] == "9001"
    assert accepted.status_code == 201, accepted.text
