"""The intake over HTTP: authentication, statuses, receipts in JSON and XML, reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from lxml import etree

from gateway.app import create_app
from gateway.config import Settings
from gateway.demo_tokens import DemoKeys, ensure_demo_keys, mint_token
from integrations.access.principal import Role
from integrations.einvoice.compose import compose_invoice, compose_message
from integrations.store.database import open_database
from integrations.store.merchants import MerchantRegistry
from integrations.store.models import Invoice
from tests.support.invoices import (
    BUYER_ID,
    HOTEL,
    RESTAURANT,
    Keys,
    cash_register_batch,
    draft,
    relabel,
    signed,
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
    settings = settings.with_values(
        trust_anchors=(intake_keys.anchor_file,),
        crl_files=(intake_keys.crl_file,),
        signing_key=intake_keys.gateway_key,
        signing_cert=intake_keys.gateway_cert,
    )
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


BAD_ATTRIBUTES = 60_000


def with_bad_attributes(document: bytes, element: bytes = b"<TTChung>") -> bytes:
    """Tens of thousands of attributes the schema forbids, each one a finding: 590 KB."""
    attributes = b"".join(b' a%d=""' % n for n in range(BAD_ATTRIBUTES))
    return document.replace(element, element[:-1] + attributes + b">", 1)


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
