"""Invoices in the graph: batched party lookups, keyset pages, and who may read which."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta

import pytest

from integrations.access import Principal, Role
from integrations.cpu import CpuPool
from integrations.einvoice.checks import Checker
from integrations.einvoice.link import IdentityLinker
from integrations.einvoice.pipeline import Intake
from integrations.einvoice.receipts import ReceiptSigner
from integrations.einvoice.schema import Schemas, default_xsd_dir
from integrations.einvoice.signature import TrustStore
from integrations.identity import tax_check_digit
from integrations.simulators import RunningSimulators, known
from integrations.store.database import Database
from integrations.store.invoices import InvoiceStore
from integrations.store.merchants import MerchantRegistry
from integrations.store.models import AuditEvent
from tests.gateway.test_intake_http import BAD_ATTRIBUTES, with_bad_attributes
from tests.resolvers.conftest import (
    AN,
    BINH,
    CITIZEN_AN,
    HOTEL,
    OFFICER,
    RESTAURANT,
    RESTAURANT_MERCHANT,
    Graph,
    codes,
    invoice_record,
)
from tests.support.invoices import Keys, draft, signed


@pytest.fixture
def database(db: None, database_url: str) -> Database:
    """The invoice store and the access log on each backend."""
    return Database(database_url)


@pytest.fixture
async def intake(intake_keys: Keys) -> AsyncIterator[Intake]:
    registry = MerchantRegistry()
    await registry.add(RESTAURANT, "Nhà hàng Sen Hồ Tây", kind="restaurant")
    trust = TrustStore.from_files([intake_keys.anchor_file], [intake_keys.crl_file])
    cpu = CpuPool()
    yield Intake(
        checker=Checker(schemas=Schemas(default_xsd_dir()), trust=trust),
        registry=registry,
        store=InvoiceStore(),
        linker=IdentityLinker(),
        signer=ReceiptSigner(intake_keys.gateway),
        cpu=cpu,
    )
    cpu.close()


def buyers(count: int) -> list[str]:
    return [f"001099{n:06d}" for n in range(1, count + 1)]


def sellers(count: int) -> list[str]:
    codes = (f"01{n:07d}" for n in range(10**7))
    valid = (f"{nine}{digit}" for nine in codes if (digit := tax_check_digit(nine)) is not None)
    return [next(valid) for _ in range(count)]


SOLD = """
query($seller: String!, $first: Int!) {
  invoices(filter: {seller: $seller}, first: $first) {
    edges { node { number seller { name } buyer { taxCode name status } } }
    pageInfo { hasNextPage }
  }
}
"""

BOUGHT = """
query($id: String!) {
  citizen(idNumber: $id) {
    invoices(first: 100) { edges { node { seller { taxCode name } buyer { name } } } }
  }
}
"""


async def test_a_hundred_invoices_make_one_tax_registry_call(
    graph: Graph, sims: RunningSimulators
) -> None:
    records = [invoice_record(n, buyer_id=buyer) for n, buyer in enumerate(buyers(100), start=1)]
    await InvoiceStore().insert_all(records)
    sims.reset_stats()

    result = await graph.run(SOLD, OFFICER, {"seller": RESTAURANT, "first": 100})

    assert result.errors is None
    edges = result.data["invoices"]["edges"]
    assert len(edges) == 100
    assert {e["node"]["seller"]["name"] for e in edges} == {known.MERCHANTS[RESTAURANT].name}
    assert {e["node"]["buyer"]["taxCode"] for e in edges} == set(buyers(100))
    assert sims.calls("tax") == sims.calls("tax", "POST /v1/taxpayers:batch") == 1
    assert sum(sims.calls(agency) for agency in sims.urls) == 1
    # One access-log event per person whose purchases were read, and one for the search.
    report = await graph.audit.verify()
    assert report.ok
    assert report.checked == 101


async def test_a_hundred_sellers_of_one_buyer_make_one_call(
    graph: Graph, sims: RunningSimulators
) -> None:
    await InvoiceStore().insert_all([invoice_record(1, seller=seller) for seller in sellers(100)])
    sims.reset_stats()

    result = await graph.run(BOUGHT, CITIZEN_AN, {"id": AN})

    assert result.errors is None
    edges = result.data["citizen"]["invoices"]["edges"]
    assert {e["node"]["seller"]["taxCode"] for e in edges} == set(sellers(100))
    assert {e["node"]["buyer"]["name"] for e in edges} == {"Nguyễn Văn An"}
    assert sims.calls("tax") == 1
    assert (await graph.audit.verify()).checked == 1


async def test_pages_follow_cursors_newest_first(graph: Graph) -> None:
    store = InvoiceStore()
    first_day = date(2026, 10, 1)
    for n in range(5):
        await store.insert(invoice_record(n + 1, issued_on=first_day + timedelta(days=n)))
    query = """
    query($after: String) {
      me { invoices(first: 2, after: $after) {
        edges { cursor node { number issuedOn } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      } }
    }"""
    numbers: list[int] = []
    after = None
    pages = 0
    while True:
        result = await graph.run(query, CITIZEN_AN, {"after": after})
        assert result.errors is None
        connection = result.data["me"]["invoices"]
        info = connection["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        assert info["startCursor"] == connection["edges"][0]["cursor"]
        assert info["endCursor"] == connection["edges"][-1]["cursor"]
        numbers += [edge["node"]["number"] for edge in connection["edges"]]
        pages += 1
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert numbers == [5, 4, 3, 2, 1]
    assert pages == 3


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        pytest.param("first: 0", "BAD_USER_INPUT", id="first-zero"),
        pytest.param("first: 101", "BAD_USER_INPUT", id="first-too-big"),
        pytest.param('after: "bm90IG91cnM="', "CURSOR_INVALID", id="foreign-cursor"),
    ],
)
async def test_page_arguments_are_checked(graph: Graph, arguments: str, code: str) -> None:
    result = await graph.run(
        f"{{ me {{ invoices({arguments}) {{ edges {{ cursor }} }} }} }}", CITIZEN_AN
    )
    assert codes(result) == [(code, None)]
    assert result.data == {"me": {"invoices": None}}


async def test_merchants_read_only_their_own_sales(graph: Graph) -> None:
    await InvoiceStore().insert(invoice_record(1))
    query = """
    query($code: String!) {
      taxpayer(taxCode: $code) { name invoicesSold { edges { node { number buyer { name } } } } }
    }"""
    own = await graph.run(query, RESTAURANT_MERCHANT, {"code": RESTAURANT})
    node = own.data["taxpayer"]["invoicesSold"]["edges"][0]["node"]
    assert node["number"] == 1
    # The buyer is a person: their tax registration is not the merchant's to read.
    assert node["buyer"] is None
    assert codes(own) == [("FORBIDDEN", None)]

    other = await graph.run(query, RESTAURANT_MERCHANT, {"code": HOTEL})
    assert other.data == {"taxpayer": {"name": known.MERCHANTS[HOTEL].name, "invoicesSold": None}}
    assert codes(other) == [("FORBIDDEN", None)]


async def test_one_invoice_is_read_by_its_parties_and_officers(graph: Graph) -> None:
    stored = await InvoiceStore().insert(invoice_record(7))
    query = "query($id: ID!) { invoice(id: $id) { number totalPayable } }"
    variables = {"id": str(stored.id)}
    for reader in (CITIZEN_AN, OFFICER, RESTAURANT_MERCHANT):
        result = await graph.run(query, reader, variables)
        assert result.errors is None, reader
        assert result.data["invoice"]["number"] == 7
    stranger = await graph.run(query, Principal(BINH, Role.CITIZEN, assurance_level=2), variables)
    assert stranger.data == {"invoice": None}
    assert codes(stranger) == [("FORBIDDEN", None)]
    missing = await graph.run(query, OFFICER, {"id": "00000000-0000-0000-0000-000000000000"})
    assert missing.data == {"invoice": None}
    assert missing.errors is None


SUBMIT = """
mutation($xml: String!) {
  submitInvoice(xml: $xml) {
    outcome receiptId conflictingInvoiceId
    invoice { number sellerTaxCode totalPayable }
    findings { code severity }
  }
}
"""


async def test_merchants_submit_signed_invoices(
    graph: Graph, intake: Intake, intake_keys: Keys
) -> None:
    submitting = replace(graph, intake=intake)
    xml = signed(draft(1), intake_keys.restaurant).decode()
    first = await submitting.run(SUBMIT, RESTAURANT_MERCHANT, {"xml": xml})
    assert first.errors is None
    accepted = first.data["submitInvoice"]
    assert accepted["outcome"] == "ACCEPTED", accepted["findings"]
    assert accepted["invoice"]["sellerTaxCode"] == RESTAURANT
    assert accepted["receiptId"]
    again = await submitting.run(SUBMIT, RESTAURANT_MERCHANT, {"xml": xml})
    assert again.data["submitInvoice"]["outcome"] == "REPLAYED"
    assert again.data["submitInvoice"]["receiptId"] == accepted["receiptId"]
    broken = await submitting.run(SUBMIT, RESTAURANT_MERCHANT, {"xml": "<HDon>"})
    rejected = broken.data["submitInvoice"]
    assert rejected["outcome"] == "REJECTED"
    assert rejected["findings"][0]["code"].startswith("1")


async def test_only_merchants_and_operators_submit(graph: Graph, intake: Intake) -> None:
    refused = await replace(graph, intake=intake).run(SUBMIT, CITIZEN_AN, {"xml": "<HDon/>"})
    assert codes(refused) == [("FORBIDDEN", None)]
    unavailable = await graph.run(SUBMIT, RESTAURANT_MERCHANT, {"xml": "<HDon/>"})
    assert codes(unavailable) == [("SERVICE_UNAVAILABLE", None)]


async def test_a_submitter_reads_back_only_what_the_policy_lets_it_read(
    graph: Graph, intake: Intake, intake_keys: Keys
) -> None:
    submitting = replace(graph, intake=intake)
    operator = Principal("ops-1", Role.ADMIN)
    xml = signed(draft(2), intake_keys.restaurant).decode()

    by_operator = await submitting.run(SUBMIT, operator, {"xml": xml})
    by_seller = await submitting.run(SUBMIT, RESTAURANT_MERCHANT, {"xml": xml})

    assert by_operator.errors is None
    assert by_operator.data["submitInvoice"]["outcome"] == "ACCEPTED"
    assert by_operator.data["submitInvoice"]["invoice"] is None
    assert by_seller.data["submitInvoice"]["outcome"] == "REPLAYED"
    assert by_seller.data["submitInvoice"]["invoice"]["sellerTaxCode"] == RESTAURANT
    events = await AuditEvent.all().order_by("id").values_list("principal", "outcome")
    assert events == [("admin:ops-1", "denied"), ("merchant:sen-ho-tay", "allowed")]


async def test_another_merchant_submitting_the_bytes_learns_nothing_of_the_invoice(
    graph: Graph, intake: Intake, intake_keys: Keys
) -> None:
    variables = {"xml": signed(draft(3), intake_keys.restaurant).decode()}
    hotel = Principal("song-sai-gon", Role.MERCHANT, tax_code=HOTEL)
    seller, other = [
        (await replace(graph, intake=intake).run(SUBMIT, who, variables)).data["submitInvoice"]
        for who in (RESTAURANT_MERCHANT, hotel)
    ]
    assert seller["outcome"] == "ACCEPTED"
    assert other == {
        "outcome": "REJECTED",
        "receiptId": None,
        "conflictingInvoiceId": None,
        "invoice": None,
        "findings": [{"code": "4006", "severity": "error"}],
    }


async def test_submit_invoice_lists_a_hundred_findings_and_counts_the_rest(
    graph: Graph, intake: Intake, intake_keys: Keys
) -> None:
    flooded = with_bad_attributes(signed(draft(3), intake_keys.restaurant)).decode()
    query = (
        "mutation($xml: String!) { submitInvoice(xml: $xml) { findings { code } omittedFindings } }"
    )

    result = await replace(graph, intake=intake).run(query, RESTAURANT_MERCHANT, {"xml": flooded})

    answer = result.data["submitInvoice"]
    assert len(answer["findings"]) == 100
    assert answer["omittedFindings"] >= BAD_ATTRIBUTES - 100
