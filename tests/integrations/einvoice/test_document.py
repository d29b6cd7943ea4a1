from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from integrations.einvoice.document import (
    InvoiceDocument,
    LineNature,
    TaxRate,
    extract_invoice,
)
from integrations.einvoice.findings import Rejection
from integrations.einvoice.parse import Limits, parse_document

GENERAL = (
    "<PBan>2.1.0</PBan><THDon>Hóa đơn giá trị gia tăng</THDon><KHMSHDon>1</KHMSHDon>"
    "<KHHDon>C25TAA</KHHDon><SHDon>0000169</SHDon><NLap>2025-06-15</NLap>"
    "<DVTTe>VND</DVTTe><TGia>1</TGia><HTTToan>TM/CK</HTTToan><MSTTCGP>0100109106</MSTTCGP>"
)
SELLER = (
    "<NBan><Ten>Quán Phở Hà Nội</Ten><MST>0319303270</MST><DChi>12 Lý Thái Tổ, Hà Nội</DChi>"
    "<MCHang>CH01</MCHang><TCHang>Cửa hàng Hoàn Kiếm</TCHang><SDThoai>0241234567</SDThoai>"
    "<DCTDTu>pho@example.vn</DCTDTu><STKNHang>0123456789</STKNHang></NBan>"
)
BUYER = (
    "<NMua><Ten>Nguyễn Văn A</Ten><CCCDan>001099012345</CCCDan><DChi>Hà Nội</DChi>"
    "<SHChieu>B1234567</SHChieu><MDVQHNSach>1234567</MDVQHNSach></NMua>"
)
LINES = (
    "<HHDVu><TChat>1</TChat><STT>1</STT><MHHDVu>PHO</MHHDVu><THHDVu>Phở bò</THHDVu>"
    "<DVTinh>Bát</DVTinh><SLuong>2</SLuong><DGia>55000</DGia><ThTien>110000</ThTien>"
    "<TSuat>8%</TSuat><TThue>8800</TThue></HHDVu>"
    "<HHDVu><TSuat>8%</TSuat><ThTien>54000</ThTien><STCKhau>6000</STCKhau><TLCKhau>10</TLCKhau>"
    "<DGia>20000</DGia><SLuong>3</SLuong><DVTinh>Cốc</DVTinh><THHDVu>Trà chanh</THHDVu>"
    "<STT>2</STT><TChat>1</TChat>"
    "<TTKhac><TTin><TTruong>TThue</TTruong><KDLieu>numeric</KDLieu><DLieu>4320</DLieu></TTin>"
    "</TTKhac></HHDVu>"
    "<HHDVu><TChat>1</TChat><STT>3</STT><THHDVu>Rượu vang</THHDVu><DVTinh>Chai</DVTinh>"
    "<SLuong>1</SLuong><DGia>200000</DGia><ThTien>200000</ThTien><TSuat>10%</TSuat></HHDVu>"
    "<HHDVu><TChat>2</TChat><STT>4</STT><THHDVu>Trà đá tặng kèm</THHDVu><SLuong>2</SLuong>"
    "<TSuat>8%</TSuat></HHDVu>"
    "<HHDVu><TChat>3</TChat><STT>5</STT><THHDVu>Chiết khấu khách quen</THHDVu>"
    "<ThTien>4000</ThTien><TSuat>8%</TSuat></HHDVu>"
    "<HHDVu><TChat>4</TChat><STT>6</STT><THHDVu>Bàn số 7</THHDVu></HHDVu>"
)
RATE_TOTALS = (
    "<THTTLTSuat>"
    "<LTSuat><TSuat>8%</TSuat><ThTien>160000</ThTien><TThue>12800</TThue></LTSuat>"
    "<LTSuat><TSuat>10%</TSuat><ThTien>200000</ThTien><TThue>20000</TThue></LTSuat>"
    "</THTTLTSuat>"
)
TOTALS_TAIL = (
    "<TgTCThue>360000</TgTCThue><TgTThue>32800</TgTThue>"
    "<DSLPhi><LPhi><TLPhi>Phí phục vụ</TLPhi><TPhi>5000</TPhi></LPhi></DSLPhi>"
    "<TTCKTMai>10000</TTCKTMai><TgTTTBSo>397800</TgTTTBSo>"
    "<TgTTTBChu>Ba trăm chín mươi bảy nghìn tám trăm đồng</TgTTTBChu>"
)


def invoice_xml(
    *,
    general: str = GENERAL,
    related: str = "",
    seller: str = SELLER,
    buyer: str = BUYER,
    lines: str = LINES,
    rate_totals: str = RATE_TOTALS,
    totals_tail: str = TOTALS_TAIL,
) -> bytes:
    """A signed-invoice-shaped document; the pieces are replaced to craft each case."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<HDon xmlns:inv="http://laphoadon.gdt.gov.vn/2014/09/invoicexml/v1">'
        f'<DLHDon Id="data"><TTChung>{general}{related}</TTChung>'
        f"<NDHDon>{seller}{buyer}<DSHHDVu>{lines}</DSHHDVu>"
        f"<TToan>{rate_totals}{totals_tail}</TToan></NDHDon>"
        "<TTKhac><TTin><TTruong>Mã tra cứu</TTruong><KDLieu>string</KDLieu>"
        "<DLieu>ABC123</DLieu></TTin></TTKhac></DLHDon>"
        "<MCCQT>00474597512BE94B7BAB367996EF464828</MCCQT><DSCKS><NBan/></DSCKS></HDon>"
    ).encode()


def dlhdon_of(raw: bytes) -> etree._Element:
    root = parse_document(raw, Limits())
    return next(child for child in root if etree.QName(child).localname == "DLHDon")


def extract(raw: bytes) -> tuple[InvoiceDocument, list]:
    return extract_invoice(dlhdon_of(raw))


def test_clean_invoice_reads_without_findings() -> None:
    doc, findings = extract(invoice_xml())
    assert findings == []
    assert (doc.version, doc.name) == ("2.1.0", "Hóa đơn giá trị gia tăng")
    assert (doc.template, doc.series, doc.number) == ("1", "C25TAA", 169)
    assert doc.issued_on == date(2025, 6, 15)
    assert (doc.currency, doc.exchange_rate, doc.payment_method) == ("VND", Decimal(1), "TM/CK")
    assert doc.provider_tax_code == "0100109106"
    assert doc.key == ("0319303270", "1", "C25TAA", 169)
    assert doc.total_before_tax == Decimal(360000)
    assert doc.total_tax == Decimal(32800)
    assert doc.total_fees == Decimal(5000)
    assert doc.total_discount == Decimal(10000)
    assert doc.total_payable == Decimal(397800)
    assert doc.total_in_words.startswith("Ba trăm")
    assert doc.related is None


def test_parties() -> None:
    doc, _ = extract(invoice_xml())
    assert doc.seller.name == "Quán Phở Hà Nội"
    assert (doc.seller.store_code, doc.seller.store_name) == ("CH01", "Cửa hàng Hoàn Kiếm")
    assert (doc.seller.email, doc.seller.phone) == ("pho@example.vn", "0241234567")
    assert doc.seller.bank_account == "0123456789"
    assert doc.buyer is not None
    assert doc.buyer.tax_code is None
    assert doc.buyer.personal_id == "001099012345"
    assert doc.buyer.passport == "B1234567"
    assert doc.buyer.budget_unit_code == "1234567"


def test_buyer_is_optional() -> None:
    doc, findings = extract(invoice_xml(buyer=""))
    assert doc.buyer is None
    assert findings == []


def test_lines_are_read_in_any_child_order() -> None:
    doc, _ = extract(invoice_xml())
    assert [line.nature for line in doc.lines] == [1, 1, 1, 2, 3, 4]
    assert doc.lines[3].nature == LineNature.PROMOTION
    second = doc.lines[1]
    assert second.position == 2
    assert (second.name, second.unit) == ("Trà chanh", "Cốc")
    assert (second.quantity, second.unit_price) == (Decimal(3), Decimal(20000))
    assert (second.discount_rate, second.discount_amount) == (Decimal(10), Decimal(6000))
    assert second.amount == Decimal(54000)
    assert second.tax_rate == TaxRate("8%", Decimal(8), True)


def test_line_tax_from_child_or_extension() -> None:
    doc, _ = extract(invoice_xml())
    assert [line.tax_amount for line in doc.lines[:3]] == [Decimal(8800), Decimal(4320), None]


def test_rate_totals() -> None:
    doc, _ = extract(invoice_xml())
    assert [(t.rate.label, t.taxable, t.tax) for t in doc.rate_totals] == [
        ("8%", Decimal(160000), Decimal(12800)),
        ("10%", Decimal(200000), Decimal(20000)),
    ]


def test_series_properties() -> None:
    doc, _ = extract(invoice_xml())
    assert doc.is_coded
    assert doc.kind_letter == "T"
    assert not doc.is_cash_register
    assert doc.series_year == 2025
    cash, _ = extract(invoice_xml(general=GENERAL.replace("C25TAA", "K26MYY")))
    assert (cash.is_coded, cash.is_cash_register, cash.series_year) == (False, True, 2026)
    odd, _ = extract(invoice_xml(general=GENERAL.replace("C25TAA", "X")))
    assert (odd.kind_letter, odd.series_year) == (None, None)


def test_branch_code_keys_like_its_hyphenated_form() -> None:
    plain, _ = extract(invoice_xml(seller=SELLER.replace("0319303270", "0100109106001")))
    assert plain.key[0] == "0100109106-001"


def test_negative_amounts_are_kept() -> None:
    doc, findings = extract(invoice_xml(lines=LINES.replace("110000", "-110000")))
    assert findings == []
    assert doc.lines[0].amount == Decimal(-110000)


def test_stray_prefix_on_business_elements_is_tolerated() -> None:
    raw = (
        invoice_xml()
        .replace(b"<NBan>", b'<x:NBan xmlns:x="urn:x">')
        .replace(b"</NBan>", b"</x:NBan>")
    )
    doc, _ = extract(raw)
    assert doc.seller.tax_code == "0319303270"


def test_related_invoice() -> None:
    related = (
        "<TTHDLQuan><TCHDon>1</TCHDon><LHDCLQuan>1</LHDCLQuan><KHMSHDCLQuan>1</KHMSHDCLQuan>"
        "<KHHDCLQuan>C25TAA</KHHDCLQuan><SHDCLQuan>0000012</SHDCLQuan>"
        "<NLHDCLQuan>2025-06-01</NLHDCLQuan><GChu>Thay thế</GChu></TTHDLQuan>"
    )
    doc, findings = extract(invoice_xml(related=related))
    assert findings == []
    assert doc.related is not None
    assert (doc.related.nature, doc.related.kind) == (1, 1)
    assert (doc.related.template, doc.related.series, doc.related.number) == ("1", "C25TAA", 12)
    assert (doc.related.issued_on, doc.related.note) == (date(2025, 6, 1), "Thay thế")


def test_extraction_uses_the_given_element_only() -> None:
    raw = invoice_xml().replace(b"</HDon>", b"<SHDon>1</SHDon></HDon>")
    dlhdon = dlhdon_of(raw)
    detached = etree.fromstring(etree.tostring(dlhdon))
    assert extract_invoice(detached)[0] == extract_invoice(dlhdon)[0]


@pytest.mark.parametrize(
    ("lines", "code", "path"),
    [
        (
            LINES.replace("<ThTien>54000</ThTien>", "<ThTien>54,000</ThTien>"),
            "5016",
            "DLHDon/NDHDon/DSHHDVu/HHDVu[2]/ThTien",
        ),
        (
            LINES.replace("<DGia>200000</DGia>", "<DGia>2e5</DGia>"),
            "5016",
            "DLHDon/NDHDon/DSHHDVu/HHDVu[3]/DGia",
        ),
        (
            LINES.replace("<TChat>2</TChat>", "<TChat>hai</TChat>"),
            "5023",
            "DLHDon/NDHDon/DSHHDVu/HHDVu[4]/TChat",
        ),
        (
            LINES.replace("<TChat>4</TChat>", ""),
            "5022",
            "DLHDon/NDHDon/DSHHDVu/HHDVu[6]/TChat",
        ),
        (
            LINES.replace("<DLieu>4320</DLieu>", "<DLieu>NaN</DLieu>"),
            "5016",
            "DLHDon/NDHDon/DSHHDVu/HHDVu[2]/TTKhac/TTin[1]/DLieu",
        ),
    ],
    ids=["comma", "exponent", "nature-word", "nature-missing", "extension-nan"],
)
def test_unreadable_values_become_findings(lines: str, code: str, path: str) -> None:
    doc, findings = extract(invoice_xml(lines=lines))
    assert [(f.code, f.path) for f in findings] == [(code, path)]
    assert findings[0].hint
    assert len(doc.lines) == 6


def test_unreadable_totals_and_related_date() -> None:
    related = "<TTHDLQuan><TCHDon>2</TCHDon><NLHDCLQuan>2025-02-30</NLHDCLQuan></TTHDLQuan>"
    tail = TOTALS_TAIL.replace("<TgTThue>32800</TgTThue>", "<TgTThue>32.800,00</TgTThue>")
    doc, findings = extract(invoice_xml(related=related, totals_tail=tail))
    assert doc.total_tax is None
    assert doc.related is not None
    assert doc.related.issued_on is None
    assert {(f.code, f.path) for f in findings} == {
        ("5016", "DLHDon/NDHDon/TToan/TgTThue"),
        ("5021", "DLHDon/TTChung/TTHDLQuan/NLHDCLQuan"),
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            invoice_xml(general=GENERAL.replace("<SHDon>0000169</SHDon>", "")),
            [("5022", "DLHDon/TTChung/SHDon")],
        ),
        (
            invoice_xml(general=GENERAL.replace("0000169", "169a")),
            [("5023", "DLHDon/TTChung/SHDon")],
        ),
        (
            invoice_xml(general=GENERAL.replace("2025-06-15", "15/06/2025")),
            [("5021", "DLHDon/TTChung/NLap")],
        ),
        (
            invoice_xml(seller=SELLER.replace("<MST>0319303270</MST>", "<MST> </MST>")),
            [("5022", "DLHDon/NDHDon/NBan/MST")],
        ),
        (
            invoice_xml(seller=""),
            [("5022", "DLHDon/NDHDon/NBan")],
        ),
        (
            invoice_xml(
                general=GENERAL.replace("<KHMSHDon>1</KHMSHDon>", "").replace(
                    "<KHHDon>C25TAA</KHHDon>", ""
                )
            ),
            [("5022", "DLHDon/TTChung/KHMSHDon"), ("5022", "DLHDon/TTChung/KHHDon")],
        ),
        (
            b"<HDon><DLHDon Id='x'/></HDon>",
            [("5022", "DLHDon/TTChung"), ("5022", "DLHDon/NDHDon")],
        ),
    ],
    ids=[
        "no-number",
        "bad-number",
        "bad-date",
        "blank-seller-mst",
        "no-seller",
        "no-series",
        "empty",
    ],
)
def test_unidentifiable_invoice_is_rejected(raw: bytes, expected: list[tuple[str, str]]) -> None:
    with pytest.raises(Rejection) as caught:
        extract(raw)
    assert [(f.code, f.path) for f in caught.value.findings] == expected


@pytest.mark.parametrize(
    ("label", "percent"),
    [
        ("0%", Decimal(0)),
        ("5%", Decimal(5)),
        ("8%", Decimal(8)),
        ("10%", Decimal(10)),
        ("KCT", None),
        ("KKKNT", None),
        ("KHAC", None),
        ("KHAC:5.26", Decimal("5.26")),
        ("KHAC:5.26%", Decimal("5.26")),
        ("KHAC:7%", Decimal(7)),
        ("KHAC3.5%", Decimal("3.5")),
        ("KHAC:12.50%", Decimal("12.5")),
    ],
)
def test_accepted_tax_rates(label: str, percent: Decimal | None) -> None:
    rate = TaxRate.parse(label)
    assert rate.is_valid
    assert rate.label == label
    assert rate.percent == percent


@pytest.mark.parametrize(
    "label", ["", "7%", "10", "8 %", "10.0%", "kct", "KHAC:", "KHAC:x%", "KHAC:123%", "-5%"]
)
def test_refused_tax_rates(label: str) -> None:
    rate = TaxRate.parse(label)
    assert not rate.is_valid
    assert rate.percent is None
    assert rate.label == label


def test_rate_groups_merge_spellings_of_one_rate() -> None:
    groups = {TaxRate.parse(x).group for x in ["KHAC:5.26", "KHAC:5.26%", "KHAC5.26%"]}
    assert groups == {"KHAC:5.26%"}
    assert TaxRate.parse("8%").group == "8%"
    assert TaxRate.parse("KCT").is_untaxed
    assert not TaxRate.parse("0%").is_untaxed


def test_each_fee_is_kept_with_its_name_beside_their_total() -> None:
    one = "<DSLPhi><LPhi><TLPhi>Phí phục vụ</TLPhi><TPhi>5000</TPhi></LPhi></DSLPhi>"
    two = one.replace(
        "</DSLPhi>", "<LPhi><TLPhi>Phụ thu Tết</TLPhi><TPhi>2500.5</TPhi></LPhi></DSLPhi>"
    )
    doc, _ = extract(invoice_xml(totals_tail=TOTALS_TAIL.replace(one, two)))
    assert [(fee.name, fee.amount) for fee in doc.fees] == [
        ("Phí phục vụ", Decimal(5000)),
        ("Phụ thu Tết", Decimal("2500.5")),
    ]
    assert doc.total_fees == Decimal("7500.5")
    none, _ = extract(invoice_xml(totals_tail=TOTALS_TAIL.replace(one, "")))
    assert (none.fees, none.total_fees) == ((), Decimal(0))


@pytest.mark.parametrize(
    ("written", "read"),
    [("VND", "VND"), ("đ", "VND"), ("VNĐ", "VND"), ("USD", "USD"), (None, None)],
)
def test_the_currency_of_the_amounts_reads_the_dong_symbol_as_vnd(
    written: str | None, read: str | None
) -> None:
    general = GENERAL.replace("<DVTTe>VND</DVTTe>", f"<DVTTe>{written}</DVTTe>" if written else "")
    doc, _ = extract(invoice_xml(general=general))
    assert (doc.currency, doc.amount_currency) == (written, read)
