"""The composer: totals as the rules recompute them, version shapes and envelopes."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, time
from decimal import Decimal

import pytest
from lxml import etree

from integrations.einvoice.compose import (
    InvoiceDraft,
    LineDraft,
    PartyDraft,
    compose_invoice,
    compose_message,
    compute_totals,
    with_totals,
)
from integrations.einvoice.document import extract_invoice
from integrations.einvoice.rules import RuleSettings, check_rules
from tests.support.invoices import draft, relabel

DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>\n"


def parse(raw: bytes) -> etree._Element:
    return etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.iterfind(path)]


def restaurant() -> InvoiceDraft:
    """Two goods lines, 2 x 65,000 at 8 % and 3 x 25,000 at 10 %, sold to a business."""
    buyer = PartyDraft("Siêu thị Phương Nam", tax_code="0313032391", address="TP Hồ Chí Minh")
    return draft(1, buyer=buyer)


def cash_register(version: str = "2.1.0") -> InvoiceDraft:
    """A household's cash-register sale to a buyer who gives a CCCDan."""
    return relabel(
        draft(7, buyer=PartyDraft("Nguyễn Văn An", personal_id="001099012345")),
        seller=PartyDraft("Hộ kinh doanh Phở Dung", tax_code="001190007777", address="Hà Nội"),
        template="2",
        series="C26MBT",
        version=version,
        cash_register_code="M2-26-QW7Z3-00000000007",
    )


def rule_findings(invoice: InvoiceDraft) -> list[str]:
    document, read = extract_invoice(parse(compose_invoice(invoice)).find("DLHDon"))
    now = datetime.combine(invoice.issued_on, time(12))
    return [f.code for f in read + check_rules(document, RuleSettings(), now=now)]


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param((), id="goods"),
        pytest.param(
            (LineDraft("Chiết khấu thương mại", Decimal(1), Decimal(20000), "8%", nature=3),),
            id="trade-discount-line",
        ),
        pytest.param(
            (LineDraft("Khuyến mại", Decimal(1), Decimal(9000), "10%", nature=2),),
            id="promotion-with-a-value",
        ),
        pytest.param((LineDraft("Bàn số 7", Decimal(0), Decimal(0), nature=4),), id="note"),
    ],
)
@pytest.mark.parametrize("template", ["1", "2"])
def test_totals_are_those_the_rules_recompute(template: str, lines: tuple[LineDraft, ...]) -> None:
    invoice = relabel(restaurant(), template=template, lines=restaurant().lines + lines)
    assert rule_findings(invoice) == []


def test_a_trade_discount_line_comes_off_its_rate_and_is_reported() -> None:
    discount = LineDraft("Chiết khấu thương mại", Decimal(1), Decimal(20000), "8%", nature=3)
    totals = compute_totals(relabel(restaurant(), lines=(*restaurant().lines, discount)))
    assert [(r.rate, r.amount, r.tax) for r in totals.rates] == [
        ("8%", Decimal(110000), Decimal(8800)),
        ("10%", Decimal(75000), Decimal(7500)),
    ]
    assert (totals.before_tax, totals.tax, totals.trade_discount, totals.payable) == (
        Decimal(185000),
        Decimal(16300),
        Decimal(20000),
        Decimal(201300),
    )


@pytest.mark.parametrize(
    ("version", "has_leasing_flag"), [("2.0.0", False), ("2.0.1", False), ("2.1.0", True)]
)
def test_version_shapes(version: str, has_leasing_flag: bool) -> None:
    root = parse(compose_invoice(replace(restaurant(), version=version)))
    assert texts(root, ".//PBan") == [version]
    assert (root.find(".//HDCTTChinh") is not None) is has_leasing_flag


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param({"version": "2.0.0"}, "no CCCDan", id="cccdan-in-2.0.0"),
        pytest.param({"cash_register_code": None}, "cash_register_code", id="no-register-code"),
        pytest.param({"version": "1.0.0"}, "not one of", id="unknown-version"),
        pytest.param({"currency": "USD"}, "exchange rate", id="no-exchange-rate"),
        pytest.param({"seller": PartyDraft("Hộ kinh doanh")}, "tax code", id="no-seller-code"),
    ],
)
def test_inconsistent_drafts_are_refused(change: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        compose_invoice(replace(cash_register(), **change))  # type: ignore[arg-type]


def test_2_0_1_allows_cccdan_only_on_cash_register_forms() -> None:
    invoice = cash_register("2.0.1")
    assert b"<CCCDan>" in compose_invoice(invoice)
    with pytest.raises(ValueError, match="no CCCDan"):
        compose_invoice(replace(invoice, series="C26TBT", cash_register_code=None))


def test_with_totals_forces_wrong_totals() -> None:
    forced = with_totals(restaurant(), TgTTTBSo=Decimal(1), TgTThue="7")
    root = parse(compose_invoice(forced))
    assert texts(root, ".//TToan/TgTTTBSo") == ["1"]
    assert texts(root, ".//TToan/TgTThue") == ["7"]
    assert texts(root, ".//TToan/TgTCThue") == ["205000"]
    with pytest.raises(ValueError, match="cannot override"):
        with_totals(forced, TgTTTBS0=Decimal(1))


def test_minimal_draft_defaults() -> None:
    minimal = InvoiceDraft(
        seller=PartyDraft("Công ty TNHH Sen Vàng", tax_code="0319303270", address="TP HCM"),
        buyer=None,
        lines=(LineDraft("Cà phê sữa đá", Decimal(2), Decimal(29000)),),
    )
    root = parse(compose_invoice(minimal))
    assert root.find(".//NMua") is None
    assert texts(root, ".//KHHDon") == ["C26TAA"]
    assert texts(root, ".//LTSuat/TThue") == ["5800"]


def test_message_wraps_invoices_verbatim() -> None:
    pretty = etree.tostring(
        parse(compose_invoice(cash_register())), pretty_print=True, encoding="UTF-8"
    )
    compact = compose_invoice(cash_register("2.0.1"))
    raw = compose_message(206, [pretty, compact], sender="V0100109106", tax_code="079301000123")
    assert raw.startswith(DECLARATION)
    assert pretty.strip() in raw
    assert compact.removeprefix(DECLARATION) in raw
    root = parse(raw)
    header = root.find("TTChung")
    assert [child.tag for child in header] == [
        "PBan", "MNGui", "MNNhan", "MLTDiep", "MTDiep", "MST", "SLuong"
    ]  # fmt: skip
    assert texts(header, "*")[:4] == ["2.1.0", "V0100109106", "TCT", "206"]
    assert re.fullmatch(r"V0100109106[0-9A-F]{32}", header.findtext("MTDiep") or "")
    assert header.findtext("SLuong") == "2"
    assert [child.tag for child in root] == ["TTChung", "DLieu", "CKSNNT"]
    assert len(root.find("CKSNNT")) == 0


def test_message_id_can_be_given_and_only_206_has_a_batch_slot() -> None:
    raw = compose_message(
        203, [], sender="V0100109106", tax_code="0319303270", message_id="V0100109106" + "A" * 32
    )
    root = parse(raw)
    assert root.findtext("TTChung/MTDiep") == "V0100109106" + "A" * 32
    assert root.find("CKSNNT") is None
