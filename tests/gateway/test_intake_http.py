"""The intake over HTTP: authentication, statuses, receipts in JSON and XML, reads."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from lxml import etree

from gateway.app import create_app
from gateway.config import Settings
from gateway.demo_tokens import DemoKeys, ensure_demo_keys, mint_token
from integrations.access.principal import Role
from integrations.einvoice.compose import (
    FeeDraft,
    LineDraft,
    PartyDraft,
    RelatedDraft,
    compose_invoice,
    compose_message,
)
from integrations.einvoice.pki import SignerIdentity
from integrations.store.database import open_database
from integrations.store.merchants import MerchantRegistry
from integrations.store.models import Invoice
from tests.support.invoices import (
    BAD_ATTRIBUTES,
    BUYER_ID,
    HOTEL,
    PROVIDER,
    RESTAURANT,
    Keys,
    cash_register_batch,
    draft,
    intake_ready,
    relabel,
    signed,
    with_bad_attributes,
)
from tests.support.servers import in_process_client

HOSTILE = sorted((Path(__file__).parents[1] / "corpus" / "hostile").glob("*.xml"))
XML = {"Content-Type": "application/xml"}


@dataclass
class Gateway:
    http: httpx.AsyncClient
    tokens: DemoKeys
    settings: Settings

    def token(self, role: Role, subject: str, **claims: object) -> dict[str, str]:
        token = mint_token(
            self.tokens,
            role,
            subject,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            **claims,
        )
        return {"Authorization": f"Bearer {token}"}

    def merchant(self, tax_code: str = RESTAURANT) -> dict[str, str]:
        return {**XML, **self.token(Role.MERCHANT, tax_code, tax_code=tax_code)}


@pytest.fixture
async def gateway(settings: Settings, intake_keys: Keys) -> AsyncIterator[Gateway]:
    settings = intake_ready(settings, intake_keys)
    async with open_database(settings.resolved_database_url):
        registry = MerchantRegistry()
        await registry.add(RESTAURANT, "Nhà hàng Sen Hồ Tây", kind="restaurant")
        await registry.add(HOTEL, "Khách sạn Sông Sài Gòn", kind="hotel")
    tokens = ensure_demo_keys(settings.data_dir)
    async with in_process_client(create_app(settings)) as http:
        yield Gateway(http, tokens, settings)


async def count_invoices(gateway: Gateway) -> int:
    return await Invoice.all().count()


async def test_submission_needs_a_merchant_token(gateway: Gateway, intake_keys: Keys) -> None:
    raw = signed(draft(1), intake_keys.restaurant)
    anonymous = await gateway.http.post("/v1/invoices", content=raw, headers=XML)
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["code"] == "AUTH_REQUIRED"
    citizen = {**XML, **gateway.token(Role.CITIZEN, BUYER_ID, assurance_level=2)}
    forbidden = await gateway.http.post("/v1/invoices", content=raw, headers=citizen)
    assert forbidden.status_code == 403


async def test_accept_then_read_everything_back(gateway: Gateway, intake_keys: Keys) -> None:
    raw = signed(draft(2), intake_keys.restaurant)
    accepted = await gateway.http.post("/v1/invoices", content=raw, headers=gateway.merchant())
    assert accepted.status_code == 201, accepted.text
    receipt = accepted.json()
    assert accepted.headers["location"] == f"/v1/invoices/{receipt['invoiceId']}"
    assert receipt["taxAuthorityCode"].startswith("00")
    assert receipt["signature"].count(".") == 2
    invoice_url = accepted.headers["location"]
    summary = (await gateway.http.get(invoice_url, headers=gateway.merchant())).json()
    assert summary["totalPayable"] == receipt["totalPayable"]
    assert [line["name"] for line in summary["lines"]] == ["Phở bò tái", "Bia Hà Nội"]
    original = await gateway.http.get(f"{invoice_url}/xml", headers=gateway.merchant())
    assert original.content == raw
    coded = await gateway.http.get(f"{invoice_url}/xml?form=coded", headers=gateway.merchant())
    assert etree.fromstring(coded.content).findtext("MCCQT") == receipt["taxAuthorityCode"]
    stored_receipt = await gateway.http.get(f"{invoice_url}/receipt", headers=gateway.merchant())
    assert stored_receipt.json() == receipt
    as_xml = await gateway.http.get(
        f"{invoice_url}/receipt", headers={**gateway.merchant(), "Accept": "application/xml"}
    )
    assert etree.fromstring(as_xml.content).findtext("TTChung/MLTDiep") == "202"
    other = await gateway.http.get(invoice_url, headers=gateway.merchant(HOTEL))
    assert (other.status_code, other.json()["errors"][0]["code"]) == (403, "FORBIDDEN")


async def test_replay_conflict_and_concurrency(gateway: Gateway, intake_keys: Keys) -> None:
    raw = signed(draft(3), intake_keys.restaurant)
    other = signed(draft(3, quantity=7), intake_keys.restaurant)
    headers = gateway.merchant()
    first, *rest = await asyncio.gather(
        *(
            gateway.http.post("/v1/invoices", content=body, headers=headers)
            for body in (raw, raw, other, other)
        )
    )
    statuses = sorted([first.status_code, *(r.status_code for r in rest)])
    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201, 409}
    replay = await gateway.http.post("/v1/invoices", content=raw, headers=headers)
    conflict = await gateway.http.post("/v1/invoices", content=other, headers=headers)
    assert {replay.status_code, conflict.status_code} == {200, 409}
    clash = conflict if conflict.status_code == 409 else replay
    assert clash.json()["errors"][0]["code"] == "5013"
    assert "original" in clash.json()
    assert await count_invoices(gateway) == 1


@pytest.mark.parametrize("path", HOSTILE, ids=[p.stem for p in HOSTILE])
async def test_hostile_documents_are_refused_and_nothing_stored(
    gateway: Gateway, path: Path
) -> None:
    document = await asyncio.to_thread(path.read_bytes)
    response = await gateway.http.post("/v1/invoices", content=document, headers=gateway.merchant())
    code = path.stem.split("-", 1)[0]
    assert response.status_code == (413 if code == "1001" else 400)
    assert response.json()["errors"][0]["code"] == code
    assert await count_invoices(gateway) == 0


async def test_wrong_content_type_and_oversize(gateway: Gateway, intake_keys: Keys) -> None:
    raw = signed(draft(4), intake_keys.restaurant)
    headers = {**gateway.merchant(), "Content-Type": "application/json"}
    wrong = await gateway.http.post("/v1/invoices", content=raw, headers=headers)
    assert wrong.status_code == 415
    huge = await gateway.http.post(
        "/v1/invoices", content=b"<HDon>" + b" " * 1_200_000, headers=gateway.merchant()
    )
    assert huge.status_code == 413
    assert huge.json()["errors"][0]["code"] == "1001"


async def test_rejection_as_a_signed_check_notice(gateway: Gateway, intake_keys: Keys) -> None:
    tampered = signed(draft(5), intake_keys.restaurant).replace(
        b"<SLuong>2</SLuong>", b"<SLuong>3</SLuong>", 1
    )
    response = await gateway.http.post(
        "/v1/invoices",
        content=tampered,
        headers={**gateway.merchant(), "Accept": "application/xml"},
    )
    assert response.status_code == 422
    notice = etree.fromstring(response.content)
    assert notice.findtext("TTChung/MLTDiep") == "204"
    assert notice.findtext("DLieu/TBao/DLTBao/LTBao") == "1"
    assert notice.findtext("DLieu/TBao/DLTBao/LCMa/DSLDo/LDo/MLoi") == "2002"
    assert (
        notice.find("DLieu/TBao/DSCKS/CQT/{http://www.w3.org/2000/09/xmldsig#}Signature")
        is not None
    )
    json_response = await gateway.http.post(
        "/v1/invoices", content=tampered, headers=gateway.merchant()
    )
    assert json_response.status_code == 422
    assert json_response.json()["errors"][0]["hint"]


async def test_batch_reports_each_invoice(gateway: Gateway, intake_keys: Keys) -> None:
    batch = cash_register_batch(intake_keys.restaurant, (1, 2))
    response = await gateway.http.post("/v1/messages", content=batch, headers=gateway.merchant())
    assert response.status_code == 201, response.text
    assert [item["outcome"] for item in response.json()["items"]] == ["accepted", "accepted"]
    again = await gateway.http.post(
        "/v1/messages", content=batch, headers={**gateway.merchant(), "Accept": "application/xml"}
    )
    assert again.status_code == 200
    assert etree.fromstring(again.content).findtext("DLieu/TBao/DLTBao/LTBao") == "2"


async def test_a_forged_tax_authority_code_is_a_finding(
    gateway: Gateway, intake_keys: Keys
) -> None:
    raw = signed(draft(6), intake_keys.restaurant)
    forged = raw.replace(b"<DSCKS>", b"<MCCQT>00" + b"CD" * 16 + b"</MCCQT><DSCKS>", 1)
    response = await gateway.http.post("/v1/invoices", content=forged, headers=gateway.merchant())
    assert response.status_code == 422, response.text
    assert [e["code"] for e in response.json()["errors"]] == ["5024"]
    assert await count_invoices(gateway) == 0


async def test_only_those_entitled_for_the_seller_learn_an_invoice_exists(
    gateway: Gateway, intake_keys: Keys
) -> None:
    """Another merchant posting the seller's accepted bytes gets the answer for unknown bytes."""
    raw = signed(draft(7), intake_keys.restaurant)
    accepted = await gateway.http.post("/v1/invoices", content=raw, headers=gateway.merchant())
    assert accepted.status_code == 201
    unknown = signed(draft(8), intake_keys.restaurant)
    hotel = gateway.merchant(HOTEL)
    answers = [
        await gateway.http.post("/v1/invoices", content=body, headers=headers)
        for body in (raw, unknown)
        for headers in (hotel, {**hotel, "Accept": "application/xml"})
    ]
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    replayed, fresh = answers[0].json(), answers[2].json()
    assert [e["code"] for e in replayed["errors"]] == ["4006"]
    assert replayed["errors"] == fresh["errors"]
    assert "original" not in replayed
    notices = [etree.fromstring(a.content) for a in answers[1::2]]
    assert [n.findtext("DLieu/TBao/DLTBao/LCMa/DSLDo/LDo/MLoi") for n in notices] == ["4006"] * 2
    operator = {**XML, **gateway.token(Role.ADMIN, "operator-1")}
    replayed_for_operator = await gateway.http.post("/v1/invoices", content=raw, headers=operator)
    assert replayed_for_operator.json() == accepted.json()
    assert await count_invoices(gateway) == 1


async def test_only_those_entitled_for_the_taxpayer_learn_a_message_exists(
    gateway: Gateway, intake_keys: Keys
) -> None:
    """A taken message (same bytes, or same sender and MTDiep) is named only to its taxpayer's
    submitters and operators; anyone else is answered as for a message never seen."""
    taken_id = f"V{RESTAURANT}" + "A" * 32
    restaurant = intake_keys.restaurant
    batch = cash_register_batch(restaurant, (1, 2), message_id=taken_id)
    first = await gateway.http.post("/v1/messages", content=batch, headers=gateway.merchant())
    assert first.status_code == 201, first.text
    hotel = gateway.merchant(HOTEL)
    fresh_id = f"V{RESTAURANT}" + "B" * 32
    cases = {
        "same-bytes": batch,
        "unknown-bytes": cash_register_batch(restaurant, (1, 2), message_id=fresh_id),
        "same-id": cash_register_batch(intake_keys.hotel, (3, 4), message_id=taken_id),
        "unknown-id": cash_register_batch(intake_keys.hotel, (3, 4), message_id=fresh_id + "C"),
    }
    answers = {
        case: await gateway.http.post("/v1/messages", content=body, headers=hotel)
        for case, body in cases.items()
    }
    assert {case: a.status_code for case, a in answers.items()} == dict.fromkeys(cases, 422)
    items = {case: a.json()["items"] for case, a in answers.items()}
    assert items["same-bytes"] == items["unknown-bytes"]
    assert items["same-id"] == items["unknown-id"]
    assert [[e["code"] for e in item["errors"]] for item in items["same-id"]] == [
        ["2009", "4006"],
        ["2009", "4006"],
    ]
    own = cash_register_batch(restaurant, (5,), message_id=taken_id)
    clash = await gateway.http.post("/v1/messages", content=own, headers=gateway.merchant())
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["code"] == "5013"
    operator = {**XML, **gateway.token(Role.ADMIN, "operator-1")}
    replay = await gateway.http.post("/v1/messages", content=batch, headers=operator)
    assert replay.status_code == 200
    assert await count_invoices(gateway) == 2


async def test_an_answer_lists_a_hundred_findings_and_counts_the_rest(
    gateway: Gateway, intake_keys: Keys
) -> None:
    body = with_bad_attributes(signed(draft(9), intake_keys.restaurant))
    headers = gateway.merchant()
    as_json = await gateway.http.post("/v1/invoices", content=body, headers=headers)
    assert as_json.status_code == 422
    assert len(as_json.content) < 64_000
    answer = as_json.json()
    assert len(answer["errors"]) == 100
    assert {e["code"] for e in answer["errors"]} == {"3001"}
    assert answer["omitted"] == {"errors": BAD_ATTRIBUTES - 100}
    xml_headers = {**headers, "Accept": "application/xml"}
    as_xml = await gateway.http.post("/v1/invoices", content=body, headers=xml_headers)
    assert as_xml.status_code == 422
    assert len(as_xml.content) < 96_000
    reasons = etree.fromstring(as_xml.content).findall("DLieu/TBao/DLTBao/LCMa/DSLDo/LDo")
    assert len(reasons) == 101
    assert reasons[-1].findtext("MLoi") == "1013"
    assert f"{BAD_ATTRIBUTES - 100} more" in reasons[-1].findtext("MTLoi")
    assert await count_invoices(gateway) == 0


async def test_message_answers_are_bounded_too(gateway: Gateway, intake_keys: Keys) -> None:
    batch = cash_register_batch(intake_keys.restaurant, (1, 2))
    envelope = with_bad_attributes(batch, b"<TTChung>")
    headers = gateway.merchant()
    refused = await gateway.http.post("/v1/messages", content=envelope, headers=headers)
    assert refused.status_code == 422
    assert len(refused.content) < 64_000
    assert (len(refused.json()["errors"]), refused.json()["omitted"]) == (
        100,
        {"errors": BAD_ATTRIBUTES - 100},
    )
    xml_headers = {**headers, "Accept": "application/xml"}
    receipt = await gateway.http.post("/v1/messages", content=envelope, headers=xml_headers)
    reasons = etree.fromstring(receipt.content).findall("DLieu/TBao/DSLDo/LDo")
    assert [r.findtext("MLoi") for r in reasons[-2:]] == ["3001", "1013"]
    assert len(reasons) == 101
    invoices = [
        compose_invoice(relabel(draft(n), series=f"C{draft(1).issued_on:%y}TAB")) for n in (3, 4)
    ]
    invoices[1] = with_bad_attributes(invoices[1].split(b"?>", 1)[1], b"<NDHDon>")
    unsigned = compose_message(200, invoices, sender=f"V{RESTAURANT}", tax_code=RESTAURANT)
    items = (await gateway.http.post("/v1/messages", content=unsigned, headers=headers)).json()
    second = items["items"][1]
    assert (len(second["errors"]), second["omitted"]) == (100, {"errors": BAD_ATTRIBUTES - 100})
    replayed = await gateway.http.post("/v1/messages", content=unsigned, headers=xml_headers)
    assert replayed.status_code == 200
    groups = etree.fromstring(replayed.content).findall("DLieu/TBao/DLTBao/LCMa")
    assert [len(g.findall("DSLDo/LDo")) for g in groups] == [1, 101]
    assert groups[1].findtext("DSLDo/LDo[101]/MLoi") == "1013"


OFFICER_CASE = {"X-Purpose": "tax audit", "X-Case-Ref": "TT-2026-17"}
INVOICE_FIELDS = """
  id formatVersion sellerTaxCode template series number currency exchangeRate paymentMethod
  buyerTaxCode buyerPersonalId buyerPassport buyerBudgetUnitCode totalBeforeTax totalTax
  totalTradeDiscount fees { name amount } totalFees totalPayable taxAuthorityCode
  cashRegisterCode signerSubject signerSerial signerIssuer signingProviderTaxCode relation
  relatedId relatedKey { sellerTaxCode template series number }
"""
# The CSV column of each REST and GraphQL field (docs/invoice-fields.md).
CSV_NAMES = {
    "formatVersion": "format_version",
    "currency": "currency",
    "exchangeRate": "exchange_rate",
    "paymentMethod": "payment_method",
    "buyerPassport": "buyer_passport",
    "buyerBudgetUnitCode": "buyer_budget_unit_code",
    "totalTradeDiscount": "total_trade_discount",
    "totalFees": "total_fees",
    "totalPayable": "total_payable",
    "cashRegisterCode": "cash_register_code",
    "signerSubject": "signer_subject",
    "signerSerial": "signer_serial",
    "signerIssuer": "signer_issuer",
    "signingProviderTaxCode": "signing_provider_tax_code",
}


async def every_door(gateway: Gateway, invoice_id: str) -> tuple[dict, dict, dict]:
    """The invoice as the REST summary, the GraphQL ``invoice`` and the officer's CSV show it."""
    officer = {**gateway.token(Role.OFFICER, "off-7"), **OFFICER_CASE}
    rest = await gateway.http.get(f"/v1/invoices/{invoice_id}", headers=officer)
    assert rest.status_code == 200, rest.text
    query = f"query($id: ID!) {{ invoice(id: $id) {{ {INVOICE_FIELDS} }} }}"
    graph = await gateway.http.post(
        "/graphql", json={"query": query, "variables": {"id": invoice_id}}, headers=officer
    )
    assert "errors" not in graph.json(), graph.text
    export = await gateway.http.get(
        "/v1/officer/invoices.csv", params={"seller": RESTAURANT}, headers=officer
    )
    assert export.status_code == 200, export.text
    rows = csv.DictReader(io.StringIO(export.content.decode("utf-8-sig")))
    [row] = [row for row in rows if row["id"] == invoice_id]
    return rest.json(), graph.json()["data"]["invoice"], row


def shown_alike(rest: dict, graph: dict, row: dict, expected: dict[str, object]) -> None:
    """Each door shows each expected value; the CSV writes what is absent as ''."""
    assert {name: rest[name] for name in expected} == expected
    assert {name: graph[name] for name in expected} == expected
    in_csv = {CSV_NAMES[name]: value for name, value in expected.items() if name in CSV_NAMES}
    assert {column: row[column] for column in in_csv} == {
        column: "" if value is None else str(value) for column, value in in_csv.items()
    }


def signer_of(identity: SignerIdentity) -> dict[str, str]:
    certificate = identity.certificate
    return {
        "signerSubject": certificate.subject.rfc4514_string(),
        "signerSerial": format(certificate.serial_number, "x"),
        "signerIssuer": certificate.issuer.rfc4514_string(),
    }


async def test_every_field_an_invoice_states_is_kept_and_shown_at_every_door(
    gateway: Gateway, intake_keys: Keys
) -> None:
    base = draft(10)
    foreign = relabel(
        base,
        buyer=PartyDraft(
            name="John Smith", passport="B1234567", budget_unit_code="1234567", address="Hà Nội"
        ),
        lines=(
            LineDraft("Phòng đôi", Decimal(2), Decimal("120.50"), "8%", "đêm"),
            LineDraft("Giảm giá khách quen", Decimal(1), Decimal("10.25"), "8%", nature=3),
        ),
        currency="USD",
        exchange_rate=Decimal("25430.5"),
        payment_method="Chuyển khoản",
        extra_fee=FeeDraft("Phí dịch vụ", Decimal("5.75")),
    )
    accepted = await gateway.http.post(
        "/v1/invoices", content=signed(foreign, intake_keys.restaurant), headers=gateway.merchant()
    )
    assert accepted.status_code == 201, accepted.text
    invoice_id = accepted.json()["invoiceId"]
    rest, graph, row = await every_door(gateway, invoice_id)
    shown_alike(
        rest,
        graph,
        row,
        {
            "formatVersion": "2.1.0",
            "currency": "USD",
            "exchangeRate": "25430.5",
            "paymentMethod": "Chuyển khoản",
            "buyerTaxCode": None,
            "buyerPersonalId": None,
            "buyerPassport": "B1234567",
            "buyerBudgetUnitCode": "1234567",
            "totalBeforeTax": "230.75",
            "totalTax": "18.46",
            "totalTradeDiscount": "10.25",
            "fees": [{"name": "Phí dịch vụ", "amount": "5.75"}],
            "totalFees": "5.75",
            "totalPayable": "254.96",
            "cashRegisterCode": None,
            **signer_of(intake_keys.restaurant),
            "signingProviderTaxCode": None,
            "relatedKey": None,
        },
    )
    assert rest["taxAuthorityCode"] == graph["taxAuthorityCode"] == row["tax_authority_code"]


async def test_a_provider_signed_invoice_names_the_provider(
    gateway: Gateway, intake_keys: Keys
) -> None:
    granted = await gateway.http.put(
        f"/v1/admin/merchants/{RESTAURANT}/providers/{PROVIDER}",
        json={"canSign": True, "canSubmit": False},
        headers=gateway.token(Role.ADMIN, "operator-1"),
    )
    assert granted.status_code == 200, granted.text
    accepted = await gateway.http.post(
        "/v1/invoices",
        content=signed(draft(11), intake_keys.provider),
        headers=gateway.merchant(),
    )
    assert accepted.status_code == 201, accepted.text
    rest, graph, row = await every_door(gateway, accepted.json()["invoiceId"])
    expected = {**signer_of(intake_keys.provider), "signingProviderTaxCode": PROVIDER}
    shown_alike(rest, graph, row, expected)


async def test_a_replacement_shows_the_key_of_the_invoice_it_replaces(
    gateway: Gateway, intake_keys: Keys
) -> None:
    original = draft(12)
    first = await gateway.http.post(
        "/v1/invoices", content=signed(original, intake_keys.restaurant), headers=gateway.merchant()
    )
    assert first.status_code == 201, first.text
    related = RelatedDraft(1, "1", original.series, 12, original.issued_on, note="Sai số lượng")
    replacement = relabel(draft(13, quantity=3), related=related)
    second = await gateway.http.post(
        "/v1/invoices",
        content=signed(replacement, intake_keys.restaurant),
        headers=gateway.merchant(),
    )
    assert second.status_code == 201, second.text
    rest, graph, row = await every_door(gateway, second.json()["invoiceId"])
    key = {"sellerTaxCode": RESTAURANT, "template": "1", "series": original.series, "number": 12}
    expected = {"relation": "replacement", "relatedId": first.json()["invoiceId"]}
    shown_alike(rest, graph, row, {**expected, "relatedKey": key})
    assert [row[f"related_{name}"] for name in ("seller_tax_code", "template", "series")] == [
        RESTAURANT,
        "1",
        original.series,
    ]
    assert row["related_number"] == "12"


async def test_a_cash_register_invoice_shows_its_code_and_its_batch_signer(
    gateway: Gateway, intake_keys: Keys
) -> None:
    batch = cash_register_batch(intake_keys.restaurant, (21,))
    response = await gateway.http.post("/v1/messages", content=batch, headers=gateway.merchant())
    assert response.status_code == 201, response.text
    [item] = response.json()["items"]
    rest, graph, row = await every_door(gateway, item["invoiceId"])
    code = f"M1-{date.today():%y}-AB12C-{21:011d}"
    expected = {"cashRegisterCode": code, "taxAuthorityCode": None}
    shown_alike(rest, graph, row, {**expected, **signer_of(intake_keys.restaurant)})
