"""The identity stage: every identity number an invoice states, checked as the tax authority
checks it (``einvoice-format.md`` §7), with the code of the party and field it sits in."""

from datetime import UTC, datetime

import pytest

from integrations.einvoice.checks import Checker
from integrations.einvoice.compose import PartyDraft
from integrations.einvoice.link import check_identities
from integrations.einvoice.schema import Schemas, default_xsd_dir
from integrations.einvoice.signature import TrustStore
from tests.integrations.einvoice.test_document import BUYER, GENERAL, SELLER, extract, invoice_xml
from tests.support.invoices import Keys, draft, signed

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
BUYER_MST = "HDon/DLHDon/NDHDon/NMua/MST"
BUYER_CCCD = "HDon/DLHDon/NDHDon/NMua/CCCDan"
REMAINDER_ZERO = "0100109160"  # 0·31 + 1·29 + … + 6·3 = 143 = 13 × 11: never issued


def buyer(**fields: str) -> str:
    return (
        "<NMua><Ten>Người mua</Ten>"
        + "".join(f"<{t}>{v}</{t}>" for t, v in fields.items())
        + ("</NMua>")
    )


def findings_for(**parts: str) -> list[tuple[str, str]]:
    document, read = extract(invoice_xml(**parts))
    assert read == []
    return [(f.code, f.path) for f in check_identities(document, now=NOW)]


def test_every_identity_of_a_clean_invoice_passes() -> None:
    assert findings_for() == []


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"MST": "0100109106"}, id="tax-code"),
        pytest.param({"MST": "0319303270"}, id="tax-code-check-digit-0"),
        pytest.param({"MST": "0100109106-001"}, id="branch"),
        pytest.param({"MST": "0100109106001"}, id="branch-without-hyphen"),
        pytest.param({"MST": "079301000123"}, id="personal-id-as-tax-code"),
        pytest.param({"CCCDan": "001099012345"}, id="personal-id"),
        pytest.param({"MST": "001099012345", "CCCDan": "001099012345"}, id="both"),
        pytest.param({"SHChieu": "B1234567"}, id="passport"),
        pytest.param({"SHChieu": "AB 12-3456/X"}, id="foreign-passport"),
        pytest.param({"MDVQHNSach": "1234567"}, id="budget-unit"),
    ],
)
def test_every_identifier_kind_the_format_allows_the_buyer(fields: dict[str, str]) -> None:
    assert findings_for(buyer=buyer(**fields)) == []


@pytest.mark.parametrize(
    ("fields", "expected", "reason"),
    [
        pytest.param({"MST": "0100109107"}, ("4002", BUYER_MST), "check digit should be 6", id="check-digit"),  # noqa: E501
        pytest.param({"MST": REMAINDER_ZERO}, ("4002", BUYER_MST), "divisible by 11", id="remainder-zero"),  # noqa: E501
        pytest.param({"MST": "0100109106-000"}, ("4002", BUYER_MST), "not 000", id="branch-000"),
        pytest.param({"MST": "0100109107-001"}, ("4002", BUYER_MST), "check digit", id="branch-of-wrong-parent"),  # noqa: E501
        pytest.param({"MST": "12345"}, ("4002", BUYER_MST), "5 characters", id="short"),
        pytest.param({"MST": "003099012345"}, ("4002", BUYER_MST), "003 is not a province code", id="12-digit-unknown-province"),  # noqa: E501
        pytest.param({"MST": "001299012345"}, ("4002", BUYER_MST), "2099, which is in the future", id="12-digit-future-birth"),  # noqa: E501
        pytest.param({"CCCDan": "003099012345"}, ("4003", BUYER_CCCD), "003 is not a province code", id="cccd-unknown-province"),  # noqa: E501
        pytest.param({"CCCDan": "001227012345"}, ("4003", BUYER_CCCD), "2027, which is in the future", id="cccd-future-birth"),  # noqa: E501
        pytest.param({"CCCDan": "00109901234"}, ("4003", BUYER_CCCD), "exactly 12 digits", id="cccd-11-digits"),  # noqa: E501
        pytest.param({"CCCDan": "012345678"}, ("4003", BUYER_CCCD), "exactly 12 digits", id="cmnd-9-digits"),  # noqa: E501
        pytest.param({"CCCDan": "0010990123AB"}, ("4003", BUYER_CCCD), "exactly 12 digits", id="cccd-letters"),  # noqa: E501
    ],
)  # fmt: skip
def test_buyer_identities_the_tax_authority_refuses(
    fields: dict[str, str], expected: tuple[str, str], reason: str
) -> None:
    document, _ = extract(invoice_xml(buyer=buyer(**fields)))
    [finding] = check_identities(document, now=NOW)
    assert (finding.code, finding.path) == expected
    assert reason in finding.message
    assert finding.is_error
    assert finding.hint


def test_a_birth_year_is_judged_against_the_receipt_date() -> None:
    document, _ = extract(invoice_xml(buyer=buyer(CCCDan="001226012345")))
    assert check_identities(document, now=NOW) == []
    assert [f.code for f in check_identities(document, now=datetime(2025, 12, 31, 16))] == ["4003"]
    # 17:00 UTC on 31 December is already the new year in Vietnam.
    assert check_identities(document, now=datetime(2025, 12, 31, 17, tzinfo=UTC)) == []


def test_every_wrong_number_of_one_buyer_is_reported() -> None:
    document, _ = extract(invoice_xml(buyer=buyer(MST="0100109107", CCCDan="003099012345")))
    assert [f.code for f in check_identities(document, now=NOW)] == ["4002", "4003"]


def test_the_seller_and_the_provider_are_checked_by_the_same_rules() -> None:
    seller = SELLER.replace("0319303270", "0319303271")
    general = GENERAL.replace("<MSTTCGP>0100109106</MSTTCGP>", "<MSTTCGP>0100109160</MSTTCGP>")
    assert findings_for(seller=seller, general=general) == [
        ("4001", "HDon/DLHDon/NDHDon/NBan/MST"),
        ("4008", "HDon/DLHDon/TTChung/MSTTCGP"),
    ]
    household = SELLER.replace("0319303270", "003190007777")
    assert findings_for(seller=household, buyer=BUYER) == [("4001", "HDon/DLHDon/NDHDon/NBan/MST")]


@pytest.mark.parametrize(
    ("party", "code"),
    [
        pytest.param(PartyDraft("Công ty", tax_code="0100109107"), "4002", id="tax-code"),
        pytest.param(PartyDraft("Người mua", personal_id="001299012345"), "4003", id="cccd"),
    ],
)
def test_the_intake_checks_refuse_a_signed_invoice_with_a_wrong_buyer_number(
    intake_keys: Keys, party: PartyDraft, code: str
) -> None:
    checker = Checker(
        schemas=Schemas(default_xsd_dir()),
        trust=TrustStore.from_files([intake_keys.anchor_file], [intake_keys.crl_file]),
    )
    raw = signed(draft(1, buyer=party), intake_keys.restaurant)
    verdict = checker.invoice(raw, now=datetime.now(UTC))
    assert not verdict.ok
    assert [f.code for f in verdict.findings if f.is_error] == [code]
