import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from integrations.einvoice.codes import REGISTRY
from integrations.einvoice.document import InvoiceDocument
from integrations.einvoice.findings import Finding, Severity, has_errors
from integrations.einvoice.rules import RuleSettings, check_rules
from tests.integrations.einvoice.test_document import (
    GENERAL,
    LINES,
    RATE_TOTALS,
    TOTALS_TAIL,
    extract,
    invoice_xml,
)

NOW = datetime(2025, 6, 20, 10, 0)
SETTINGS = RuleSettings()


def findings_for(
    settings: RuleSettings = SETTINGS, now: datetime = NOW, **parts: str
) -> list[Finding]:
    doc, read_findings = extract(invoice_xml(**parts))
    assert read_findings == []
    return check_rules(doc, settings, now=now)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_clean_invoice_passes_every_rule() -> None:
    assert findings_for() == []


def test_rules_are_pure() -> None:
    doc: InvoiceDocument = extract(invoice_xml(general=GENERAL.replace("C25TAA", "C25")))[0]
    first = check_rules(doc, SETTINGS, now=NOW)
    assert first == check_rules(doc, SETTINGS, now=NOW)
    assert codes(first) == ["5001"]


@pytest.mark.parametrize("series", ["C25TA", "A25TAA", "C25ZAA", "c25taa", "1C25TAA", "CXXTAA"])
def test_series_symbol(series: str) -> None:
    [finding] = findings_for(general=GENERAL.replace("C25TAA", series))
    assert (finding.code, finding.path) == ("5001", "DLHDon/TTChung/KHHDon")


@pytest.mark.parametrize("series", ["K25MYY", "C25XAB", "K25F01", "C25GAA"])
def test_series_kinds_accepted(series: str) -> None:
    assert findings_for(general=GENERAL.replace("C25TAA", series)) == []


def test_series_year_must_match_issue_year() -> None:
    [finding] = findings_for(general=GENERAL.replace("C25TAA", "C24TAA"))
    assert finding.code == "5002"
    assert "KHHDon says 2024, NLap is in 2025" in finding.message


@pytest.mark.parametrize(
    ("number", "ok"), [("0", False), ("1", True), ("99999999", True), ("100000000", False)]
)
def test_number_range(number: str, ok: bool) -> None:
    found = findings_for(general=GENERAL.replace("0000169", number))
    assert codes(found) == ([] if ok else ["5004"])


@pytest.mark.parametrize(
    ("now", "ok"),
    [
        (datetime(2025, 6, 14, 23, 56), True),
        (datetime(2025, 6, 14, 23, 54), False),
        (datetime(2025, 6, 14, 16, 56, tzinfo=UTC), True),
        (datetime(2025, 6, 14, 16, 54, tzinfo=UTC), False),
        (datetime(2025, 6, 15, 0, 0), True),
    ],
    ids=["skew-local", "early-local", "skew-utc", "early-utc", "same-day"],
)
def test_issue_date_not_in_future(now: datetime, ok: bool) -> None:
    found = findings_for(now=now)
    assert codes(found) == ([] if ok else ["5005"])


def test_clock_skew_is_a_setting() -> None:
    wide = RuleSettings(clock_skew=timedelta(hours=1))
    assert findings_for(settings=wide, now=datetime(2025, 6, 14, 23, 30)) == []


def test_line_amount_beyond_tolerance_is_an_error() -> None:
    lines = LINES.replace("<ThTien>110000</ThTien>", "<ThTien>110002</ThTien>")
    found = findings_for(lines=lines)
    assert ("5006", "DLHDon/NDHDon/DSHHDVu/HHDVu[1]/ThTien") in [(f.code, f.path) for f in found]
    assert all(f.is_error for f in found)


def test_line_rounding_within_tolerance_is_fine() -> None:
    lines = LINES.replace("<DGia>55000</DGia>", "<DGia>54999.6</DGia>")
    assert findings_for(lines=lines) == []


def test_strict_tolerance_flags_rounding() -> None:
    lines = LINES.replace("<DGia>55000</DGia>", "<DGia>54999.6</DGia>")
    assert codes(findings_for(RuleSettings(amount_tolerance=Decimal(0)), lines=lines)) == ["5006"]


def test_discount_rate_used_when_amount_absent() -> None:
    assert findings_for(lines=LINES.replace("<STCKhau>6000</STCKhau>", "")) == []
    wrong = LINES.replace("<STCKhau>6000</STCKhau>", "").replace("<TLCKhau>10", "<TLCKhau>20")
    assert codes(findings_for(lines=wrong)) == ["5006"]


def test_line_without_quantity_and_price_is_not_recomputed() -> None:
    lines = LINES.replace("<SLuong>1</SLuong><DGia>200000</DGia>", "")
    assert findings_for(lines=lines) == []


def test_line_tax_must_match_its_rate() -> None:
    [finding] = findings_for(lines=LINES.replace("<TThue>8800</TThue>", "<TThue>8000</TThue>"))
    assert (finding.code, finding.path) == ("5010", "DLHDon/NDHDon/DSHHDVu/HHDVu[1]")


def test_rate_total_must_equal_its_lines() -> None:
    rate_totals = RATE_TOTALS.replace("<ThTien>160000</ThTien>", "<ThTien>164000</ThTien>")
    found = findings_for(rate_totals=rate_totals)
    assert ("5007", "DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat[1]/ThTien") in [
        (f.code, f.path) for f in found
    ]


def test_discount_line_subtracts_and_promotion_and_note_lines_do_not_count() -> None:
    without_discount = LINES.replace("<ThTien>4000</ThTien>", "<ThTien>5000</ThTien>")
    assert "5007" in codes(findings_for(lines=without_discount))


def test_every_rate_in_the_lines_needs_a_total() -> None:
    rate_totals = RATE_TOTALS.replace(
        "<LTSuat><TSuat>10%</TSuat><ThTien>200000</ThTien><TThue>20000</TThue></LTSuat>", ""
    )
    found = findings_for(rate_totals=rate_totals)
    assert ("5007", "DLHDon/NDHDon/TToan/THTTLTSuat") in [(f.code, f.path) for f in found]
    assert "10%" in next(f.message for f in found if f.code == "5007")


def test_rate_listed_twice() -> None:
    duplicate = "<LTSuat><TSuat>10%</TSuat><ThTien>200000</ThTien><TThue>20000</TThue></LTSuat>"
    rate_totals = RATE_TOTALS.replace("</THTTLTSuat>", duplicate + "</THTTLTSuat>")
    assert "listed twice" in " ".join(f.message for f in findings_for(rate_totals=rate_totals))


def test_rate_tax_beyond_tolerance() -> None:
    rate_totals = RATE_TOTALS.replace("<TThue>20000</TThue>", "<TThue>20002</TThue>")
    tail = TOTALS_TAIL.replace("32800", "32802").replace("397800", "397802")
    [finding] = findings_for(rate_totals=rate_totals, totals_tail=tail)
    assert (finding.code, finding.path) == (
        "5010",
        "DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat[2]/TThue",
    )


def test_rate_tax_allows_per_line_rounding() -> None:
    rate_totals = RATE_TOTALS.replace("<TThue>12800</TThue>", "<TThue>12802</TThue>")
    tail = TOTALS_TAIL.replace("32800", "32802").replace("397800", "397802")
    assert findings_for(rate_totals=rate_totals, totals_tail=tail) == []


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("<TgTCThue>360000", "<TgTCThue>360010", "TgTCThue"),
        ("<TgTThue>32800", "<TgTThue>32900", "TgTThue"),
        ("<TgTTTBSo>397800", "<TgTTTBSo>392800", "TgTTTBSo"),
    ],
)
def test_grand_totals(old: str, new: str, path: str) -> None:
    found = findings_for(totals_tail=TOTALS_TAIL.replace(old, new))
    assert ("5008", f"DLHDon/NDHDon/TToan/{path}") in [(f.code, f.path) for f in found]


def test_payable_may_take_off_the_trade_discount_once() -> None:
    tail = TOTALS_TAIL.replace("<TgTTTBSo>397800", "<TgTTTBSo>387800")
    assert findings_for(totals_tail=tail) == []


def test_sales_invoice_without_rates_totals_from_lines() -> None:
    lines = LINES.replace("<TSuat>8%</TSuat>", "").replace("<TSuat>10%</TSuat>", "")
    lines = lines.replace("<TThue>8800</TThue>", "").replace(
        "<DLieu>4320</DLieu>", "<DLieu>0</DLieu>"
    )
    tail = (
        "<TgTCThue>360000</TgTCThue><TgTTTBSo>360000</TgTTTBSo>"
        "<TgTTTBChu>Ba trăm sáu mươi nghìn đồng</TgTTTBChu>"
    )
    general = GENERAL.replace("<KHMSHDon>1</KHMSHDon>", "<KHMSHDon>2</KHMSHDon>")
    assert findings_for(general=general, lines=lines, rate_totals="", totals_tail=tail) == []
    wrong = tail.replace("<TgTCThue>360000", "<TgTCThue>365000")
    found = findings_for(general=general, lines=lines, rate_totals="", totals_tail=wrong)
    assert codes(found) == ["5008", "5008"]


@pytest.mark.parametrize("label", ["7%", "KHAC:x%", "10.0%"])
def test_tax_rate_value(label: str) -> None:
    found = findings_for(lines=LINES.replace("<TSuat>10%</TSuat>", f"<TSuat>{label}</TSuat>"))
    assert ("5009", "DLHDon/NDHDon/DSHHDVu/HHDVu[3]/TSuat") in [(f.code, f.path) for f in found]


@pytest.mark.parametrize("label", ["KCT", "KKKNT"])
def test_untaxed_rates_carry_no_tax(label: str) -> None:
    lines = LINES.replace("<TSuat>10%</TSuat>", f"<TSuat>{label}</TSuat>")
    rate_totals = RATE_TOTALS.replace("<TSuat>10%</TSuat>", f"<TSuat>{label}</TSuat>")
    tail = TOTALS_TAIL.replace("32800", "12800").replace("397800", "377800")
    assert (
        findings_for(lines=lines, rate_totals=rate_totals.replace("20000<", "0<"), totals_tail=tail)
        == []
    )
    found = findings_for(lines=lines, rate_totals=rate_totals, totals_tail=tail)
    assert "5010" in codes(found)


def test_other_rate_spelled_two_ways_totals_together() -> None:
    lines = LINES.replace("<TSuat>10%</TSuat>", "<TSuat>KHAC:5.26</TSuat>")
    rate_totals = RATE_TOTALS.replace("<TSuat>10%</TSuat>", "<TSuat>KHAC:5.26%</TSuat>")
    rate_totals = rate_totals.replace("<TThue>20000</TThue>", "<TThue>10520</TThue>")
    tail = TOTALS_TAIL.replace("32800", "23320").replace("397800", "388320")
    assert findings_for(lines=lines, rate_totals=rate_totals, totals_tail=tail) == []


@pytest.mark.parametrize("currency", ["XYZ", "usd", "Dong"])
def test_unknown_currency(currency: str) -> None:
    general = GENERAL.replace("<DVTTe>VND</DVTTe>", f"<DVTTe>{currency}</DVTTe>")
    assert codes(findings_for(general=general)) == ["5011"]


def test_missing_currency() -> None:
    assert codes(findings_for(general=GENERAL.replace("<DVTTe>VND</DVTTe>", ""))) == ["5011"]


def test_dong_symbol_is_vnd_with_a_warning() -> None:
    [finding] = findings_for(general=GENERAL.replace("<DVTTe>VND</DVTTe>", "<DVTTe>đ</DVTTe>"))
    assert (finding.code, finding.severity) == ("5020", Severity.WARNING)
    assert not has_errors([finding])


@pytest.mark.parametrize("rate", ["", "<TGia>0</TGia>", "<TGia>-1</TGia>"])
def test_foreign_currency_needs_exchange_rate(rate: str) -> None:
    general = GENERAL.replace("<DVTTe>VND</DVTTe><TGia>1</TGia>", f"<DVTTe>USD</DVTTe>{rate}")
    [finding] = findings_for(general=general)
    assert (finding.code, finding.path) == ("5011", "DLHDon/TTChung/TGia")


USD_LINES = (
    "<HHDVu><TChat>1</TChat><THHDVu>Room</THHDVu><SLuong>3</SLuong><DGia>10.50</DGia>"
    "<ThTien>{amount}</ThTien><TSuat>10%</TSuat></HHDVu>"
)
USD_TOTALS = (
    "<THTTLTSuat><LTSuat><TSuat>10%</TSuat><ThTien>{amount}</ThTien><TThue>3.15</TThue>"
    "</LTSuat></THTTLTSuat>"
)


@pytest.mark.parametrize(("amount", "ok"), [("31.50", True), ("31.51", True), ("31.52", False)])
def test_foreign_currency_tolerance_is_one_cent(amount: str, ok: bool) -> None:
    general = GENERAL.replace(
        "<DVTTe>VND</DVTTe><TGia>1</TGia>", "<DVTTe>USD</DVTTe><TGia>25400</TGia>"
    )
    tail = (
        f"<TgTCThue>{amount}</TgTCThue><TgTThue>3.15</TgTThue>"
        f"<TgTTTBSo>{Decimal(amount) + Decimal('3.15')}</TgTTTBSo><TgTTTBChu>x</TgTTTBChu>"
    )
    found = findings_for(
        general=general,
        lines=USD_LINES.format(amount=amount),
        rate_totals=USD_TOTALS.format(amount=amount),
        totals_tail=tail,
    )
    assert codes(found) == ([] if ok else ["5006"])


def test_tolerance_scales_with_currency_precision() -> None:
    assert SETTINGS.tolerance("VND") == Decimal(1)
    assert SETTINGS.tolerance("JPY") == Decimal(1)
    assert SETTINGS.tolerance("USD") == Decimal("0.01")
    assert SETTINGS.tolerance("KWD") == Decimal("0.001")
    assert RuleSettings(amount_tolerance=Decimal(5)).tolerance("EUR") == Decimal("0.05")


def test_settings_refuse_negative_tolerances() -> None:
    with pytest.raises(ValueError, match="negative"):
        RuleSettings(amount_tolerance=Decimal(-1))


def test_missing_total_in_words_is_a_warning() -> None:
    tail = TOTALS_TAIL.split("<TgTTTBChu>")[0]
    [finding] = findings_for(totals_tail=tail)
    assert (finding.code, finding.severity) == ("5018", Severity.WARNING)


COMPLETE_RELATED = (
    "<TTHDLQuan><TCHDon>2</TCHDon><LHDCLQuan>1</LHDCLQuan><KHMSHDCLQuan>1</KHMSHDCLQuan>"
    "<KHHDCLQuan>C25TAA</KHHDCLQuan><SHDCLQuan>12</SHDCLQuan>"
    "<NLHDCLQuan>2025-06-01</NLHDCLQuan></TTHDLQuan>"
)


def test_complete_related_invoice_passes() -> None:
    assert findings_for(related=COMPLETE_RELATED) == []


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("<NLHDCLQuan>2025-06-01</NLHDCLQuan>", "", "NLHDCLQuan"),
        ("<SHDCLQuan>12</SHDCLQuan>", "", "SHDCLQuan"),
        ("<TCHDon>2</TCHDon>", "<TCHDon>3</TCHDon>", "TCHDon"),
        ("<KHHDCLQuan>C25TAA</KHHDCLQuan>", "", "KHHDCLQuan"),
    ],
)
def test_incomplete_related_invoice(old: str, new: str, named: str) -> None:
    related = COMPLETE_RELATED.replace(old, new)
    [finding] = findings_for(related=related)
    assert (finding.code, finding.path) == ("5019", "DLHDon/TTChung/TTHDLQuan")
    assert named in finding.message


def test_negative_adjustment_invoice_adds_up() -> None:
    lines = (
        "<HHDVu><TChat>1</TChat><THHDVu>Điều chỉnh giảm</THHDVu><SLuong>-1</SLuong>"
        "<DGia>100000</DGia><ThTien>-100000</ThTien><TSuat>8%</TSuat></HHDVu>"
    )
    rate_totals = (
        "<THTTLTSuat><LTSuat><TSuat>8%</TSuat><ThTien>-100000</ThTien><TThue>-8000</TThue>"
        "</LTSuat></THTTLTSuat>"
    )
    tail = (
        "<TgTCThue>-100000</TgTCThue><TgTThue>-8000</TgTThue><TgTTTBSo>-108000</TgTTTBSo>"
        "<TgTTTBChu>Âm một trăm linh tám nghìn đồng</TgTTTBChu>"
    )
    related = COMPLETE_RELATED
    assert (
        findings_for(lines=lines, rate_totals=rate_totals, totals_tail=tail, related=related) == []
    )


DOC_ROW = re.compile(r"^\| (5\d{3}) \|.*\| (error|warning) \|", re.MULTILINE)
RULE_CODES = {"5001", "5002", "5004", "5005", "5006", "5007", "5008", "5009", "5010",
              "5011", "5018", "5019", "5020"}  # fmt: skip


def test_docs_list_every_rule_with_its_severity() -> None:
    text = (Path(__file__).parents[3] / "docs" / "rules.md").read_text(encoding="utf-8")
    documented = dict(DOC_ROW.findall(text))
    assert documented.keys() == RULE_CODES
    for code, severity in documented.items():
        assert REGISTRY[code].severity.value == severity, code
