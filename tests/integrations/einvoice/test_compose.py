"""The composer: totals, words, version shapes, envelopes and the checked-in examples."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from integrations.einvoice import compose
from integrations.einvoice.compose import (
    InvoiceDraft,
    LineDraft,
    PartyDraft,
    amount_in_words,
    compose_invoice,
    compose_message,
    compute_totals,
    number_in_words,
    with_totals,
)

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples" / "unsigned"
DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>\n"


def parse(raw: bytes) -> etree._Element:
    return etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.iterfind(path)]


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (15, "mười lăm"),
        (21, "hai mươi mốt"),
        (45, "bốn mươi lăm"),
        (105, "một trăm linh năm"),
        (110, "một trăm mười"),
        (21_600, "hai mươi mốt nghìn sáu trăm"),
        (1_005_000, "một triệu không trăm linh năm nghìn"),
        (1_000_005, "một triệu không trăm linh năm"),
        (1_250_000, "một triệu hai trăm năm mươi nghìn"),
        (1_000_000_005, "một tỷ không trăm linh năm"),
        (2_500_000_000_000, "hai nghìn năm trăm tỷ"),
    ],
)
def test_number_in_words(number: int, words: str) -> None:
    assert number_in_words(number) == words


def test_amount_in_words() -> None:
    assert amount_in_words(Decimal(1250000)) == "Một triệu hai trăm năm mươi nghìn đồng"
    assert amount_in_words(Decimal("125.50"), "USD") == (
        "Một trăm hai mươi lăm đô la Mỹ và năm mươi xu"
    )
    assert amount_in_words(Decimal(-21600)) == "Âm hai mươi mốt nghìn sáu trăm đồng"
    assert amount_in_words(Decimal(7), "JPY") == "Bảy JPY"


def test_restaurant_totals_per_rate() -> None:
    totals = compute_totals(compose.restaurant_invoice())
    # 8 %: 170,000 + 300,000 + 165,000 + 110,000 + 190,000 + 135,000 = 1,070,000
    # 10 %: 336,000 + (450,000 less 10 %) 405,000 = 741,000
    assert [(r.rate, r.amount, r.tax) for r in totals.rates] == [
        ("8%", Decimal(1070000), Decimal(85600)),
        ("10%", Decimal(741000), Decimal(74100)),
    ]
    assert (totals.before_tax, totals.tax, totals.payable) == (
        Decimal(1811000),
        Decimal(159700),
        Decimal(1970700),
    )


def test_restaurant_document() -> None:
    raw = compose_invoice(compose.restaurant_invoice())
    assert raw.startswith(DECLARATION)
    assert 4_000 <= len(raw) <= 8_000
    root = parse(raw)
    assert root.find("DLHDon").get("Id") == "DLHDon-SV-0000001"
    assert texts(root, ".//LTSuat/ThTien") == ["1070000", "741000"]
    assert texts(root, ".//TToan/TgTTTBSo") == ["1970700"]
    assert texts(root, ".//TToan/TgTTTBChu") == ["Một triệu chín trăm bảy mươi nghìn bảy trăm đồng"]
    wine = root.findall(".//HHDVu")[-1]
    assert (wine.findtext("TLCKhau"), wine.findtext("STCKhau"), wine.findtext("ThTien")) == (
        "10",
        "45000",
        "405000",
    )
    assert texts(wine, "TTKhac/TTin/DLieu") == ["40500", "445500"]
    slot = root.find("DSCKS/NBan")
    assert slot is not None
    assert len(slot) == 0
    assert not any(e.tail and e.tail.strip() == "" for e in root.iter()), "no indentation"


def test_foreign_currency_uses_cents_and_exchange_rate() -> None:
    draft = compose.hotel_invoice()
    totals = compute_totals(draft)
    # 8 %: 360.00 + 75.00 + 18.75 = 453.75, tax 36.30; 10 %: 28.60, tax 2.86; fee 25.00
    assert [(r.amount, r.tax) for r in totals.rates] == [
        (Decimal("453.75"), Decimal("36.30")),
        (Decimal("28.60"), Decimal("2.86")),
    ]
    assert totals.payable == Decimal("546.51")
    root = parse(compose_invoice(draft))
    assert texts(root, ".//TTChung/TGia") == ["25415.00"]
    assert texts(root, ".//LPhi/TPhi") == ["25.00"]
    assert texts(root, ".//TgTTTBChu") == ["Năm trăm bốn mươi sáu đô la Mỹ và năm mươi mốt xu"]


def test_sales_invoice_has_no_vat_and_subtracts_trade_discount() -> None:
    draft = compose.supermarket_invoice()
    root = parse(compose_invoice(draft))
    assert root.find(".//TSuat") is None
    assert root.find(".//THTTLTSuat") is None
    assert root.find(".//TgTThue") is None
    lines = root.findall(".//HHDVu")
    assert [line.findtext("TChat") for line in lines] == ["1", "1", "1", "1", "2", "3", "4"]
    assert lines[3].findtext("STCKhau") == "10000"
    assert lines[4].findtext("ThTien") == "0"
    assert lines[6].find("SLuong") is None
    # 378,000 + 140,400 + 201,000 + 126,000 + 0 - 25,000
    assert texts(root, ".//TTCKTMai") == ["25000"]
    assert texts(root, ".//TgTTTBSo") == ["820400"]


def test_related_invoices() -> None:
    replacement = parse(compose_invoice(compose.replacement_invoice()))
    assert texts(replacement, ".//TTHDLQuan/*") == [
        "1", "1", "1", "C26TSV", "1", "2026-11-20", "Thay thế hóa đơn số 1 do sai tên người mua"
    ]  # fmt: skip
    adjustment = parse(compose_invoice(compose.adjustment_invoice()))
    assert texts(adjustment, ".//TTHDLQuan/TCHDon") == ["2"]
    assert texts(adjustment, ".//TgTTTBSo") == ["-21600"]
    assert texts(adjustment, ".//TgTTTBChu") == ["Âm hai mươi mốt nghìn sáu trăm đồng"]


@pytest.mark.parametrize(
    ("version", "has_leasing_flag"), [("2.0.0", False), ("2.0.1", False), ("2.1.0", True)]
)
def test_version_shapes(version: str, has_leasing_flag: bool) -> None:
    root = parse(compose_invoice(replace(compose.restaurant_invoice(), version=version)))
    assert texts(root, ".//PBan") == [version]
    assert (root.find(".//HDCTTChinh") is not None) is has_leasing_flag


def test_cash_register_invoice_carries_its_code() -> None:
    root = parse(compose_invoice(compose.household_invoice()))
    assert [child.tag for child in root] == ["DLHDon", "MCCQT", "DSCKS"]
    assert root.findtext("MCCQT") == "M2-26-QW7Z3-00000001542"
    assert texts(root, ".//NMua/CCCDan") == ["001099012345"]


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
        compose_invoice(replace(compose.household_invoice(), **change))  # type: ignore[arg-type]


def test_2_0_1_allows_cccdan_only_on_cash_register_forms() -> None:
    draft = compose.household_invoice("2.0.1")
    assert b"<CCCDan>" in compose_invoice(draft)
    with pytest.raises(ValueError, match="no CCCDan"):
        compose_invoice(replace(draft, series="C26TBT", cash_register_code=None))


def test_with_totals_forces_wrong_totals() -> None:
    draft = with_totals(compose.restaurant_invoice(), TgTTTBSo=Decimal(1), TgTThue="7")
    root = parse(compose_invoice(draft))
    assert texts(root, ".//TToan/TgTTTBSo") == ["1"]
    assert texts(root, ".//TToan/TgTThue") == ["7"]
    assert texts(root, ".//TToan/TgTCThue") == ["1811000"]
    with pytest.raises(ValueError, match="cannot override"):
        with_totals(draft, TgTTTBS0=Decimal(1))


def test_minimal_draft_defaults() -> None:
    draft = InvoiceDraft(
        seller=PartyDraft("Công ty TNHH Sen Vàng", tax_code="0319303270", address="TP HCM"),
        buyer=None,
        lines=(LineDraft("Cà phê sữa đá", Decimal(2), Decimal(29000)),),
    )
    root = parse(compose_invoice(draft))
    assert root.find(".//NMua") is None
    assert texts(root, ".//KHHDon") == ["C26TAA"]
    assert texts(root, ".//LTSuat/TThue") == ["5800"]


def test_message_wraps_invoices_verbatim() -> None:
    pretty = etree.tostring(
        parse(compose_invoice(compose.household_invoice())), pretty_print=True, encoding="UTF-8"
    )
    compact = compose_invoice(compose.household_invoice("2.0.1"))
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


def test_checked_in_examples_match_the_composer() -> None:
    expected = {
        f"{name}.xml": compose_invoice(draft) for name, draft in compose.demo_invoices().items()
    }
    on_disk = {path.name: path.read_bytes() for path in EXAMPLES_DIR.glob("*.xml")}
    assert on_disk.keys() == expected.keys()
    for name, raw in expected.items():
        assert on_disk[name] == raw, (
            f"{name} is stale; regenerate with "
            "python -c 'from pathlib import Path; from integrations.einvoice.compose import "
            'write_examples; write_examples(Path("examples/unsigned"))\''
        )


def test_write_examples(tmp_path: Path) -> None:
    written = compose.write_examples(tmp_path / "out")
    assert sorted(path.name for path in written) == sorted(
        f"{name}.xml" for name in compose.EXAMPLES
    )
