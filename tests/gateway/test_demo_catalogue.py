"""The demo's invoices: what each example shows, and the checked-in files kept current."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateway import demo
from gateway import demo_catalogue as catalogue
from integrations.einvoice.compose import compose_invoice, compute_totals
from integrations.identity import parse_taxpayer_id
from integrations.simulators.known import MERCHANTS, PEOPLE
from tests.integrations.einvoice.test_compose import DECLARATION, parse, texts

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "unsigned"


def test_restaurant_totals_per_rate() -> None:
    totals = compute_totals(catalogue.restaurant_invoice())
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
    raw = compose_invoice(catalogue.restaurant_invoice())
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
    draft = catalogue.hotel_invoice()
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
    draft = catalogue.supermarket_invoice()
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
    replacement = parse(compose_invoice(catalogue.replacement_invoice()))
    assert texts(replacement, ".//TTHDLQuan/*") == [
        "1", "1", "1", "C26TSV", "1", "2026-11-20", "Thay thế hóa đơn số 1 do sai tên người mua"
    ]  # fmt: skip
    adjustment = parse(compose_invoice(catalogue.adjustment_invoice()))
    assert texts(adjustment, ".//TTHDLQuan/TCHDon") == ["2"]
    assert texts(adjustment, ".//TgTTTBSo") == ["-21600"]
    assert texts(adjustment, ".//TgTTTBChu") == ["Âm hai mươi mốt nghìn sáu trăm đồng"]


def test_cash_register_invoice_carries_its_code() -> None:
    root = parse(compose_invoice(catalogue.household_invoice()))
    assert [child.tag for child in root] == ["DLHDon", "MCCQT", "DSCKS"]
    assert root.findtext("MCCQT") == "M2-26-QW7Z3-00000000001"
    assert texts(root, ".//NMua/CCCDan") == ["001099012345"]


def test_checked_in_examples_match_the_composer() -> None:
    expected = {
        f"{name}.xml": compose_invoice(draft) for name, draft in catalogue.demo_invoices().items()
    }
    on_disk = {path.name: path.read_bytes() for path in EXAMPLES_DIR.glob("*.xml")}
    assert on_disk.keys() == expected.keys()
    for name, raw in expected.items():
        assert on_disk[name] == raw, (
            f"{name} is stale; regenerate with "
            "python -c 'from pathlib import Path; from gateway.demo_catalogue import "
            'write_examples; write_examples(Path("examples/unsigned"))\''
        )


def test_write_examples(tmp_path: Path) -> None:
    written = catalogue.write_examples(tmp_path / "out")
    assert sorted(path.name for path in written) == sorted(
        f"{name}.xml" for name in catalogue.EXAMPLES
    )


def test_each_series_runs_from_one_without_gaps_in_date_order() -> None:
    """What the demo submits raises no NUMBERING_GAP and no NUMBER_REUSED."""
    drafts = [
        *catalogue.demo_invoices().values(),
        catalogue.provider_signed_invoice(),
        *catalogue.cash_register_batch(),
    ]
    series: dict[tuple[str, str, str], list[tuple[int, object]]] = {}
    for draft in drafts:
        key = (draft.seller.tax_code or "", draft.template, draft.series)
        series.setdefault(key, []).append((draft.number, draft.issued_on))
    for key, held in series.items():
        held.sort()
        assert [number for number, _ in held] == list(range(1, len(held) + 1)), key
        dates = [issued_on for _, issued_on in held]
        assert dates == sorted(dates), key


@pytest.mark.parametrize("name", sorted(catalogue.EXAMPLES))
def test_example_parties_are_known_to_the_simulators(name: str) -> None:
    draft = catalogue.EXAMPLES[name]()
    seller = MERCHANTS[draft.seller.tax_code or ""]
    assert draft.seller.name == seller.name
    buyer = draft.buyer
    assert buyer is not None
    if buyer.personal_id:
        assert PEOPLE[buyer.personal_id].full_name == buyer.name
    else:
        assert MERCHANTS[buyer.tax_code or ""].name == buyer.name
    assert str(parse_taxpayer_id(draft.provider_tax_code or "")) == demo.PROVIDER


def test_household_business_is_its_owners_personal_id() -> None:
    household = MERCHANTS[demo.HOUSEHOLD]
    assert household.kind == "household"
    assert household.owner_id == demo.HOUSEHOLD
    assert catalogue.household_invoice().seller.tax_code == demo.HOUSEHOLD
