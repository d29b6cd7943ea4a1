"""Realistic unsigned invoices and message envelopes, built from small frozen drafts.

The demo, the CLI, the tests and the benchmarks all make their invoices here, so every
example has totals that add up, the fields its format version expects, and a compact
serialisation (no indentation) the size of real traffic. A draft with
``override_totals`` makes deliberately wrong totals for the rules' tests.

>>> raw = compose_invoice(restaurant_invoice())
>>> envelope = compose_message(200, [raw], sender="V0100109106", tax_code="0319303270")

Totals follow the registry's rule (code 5008): per-rate blocks sum the goods lines (TChat 1,
2 and 5), trade-discount lines (TChat 3) go to TTCKTMai, and
TgTTTBSo = TgTCThue + TgTThue - TTCKTMai + fees.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from lxml import etree

from integrations.einvoice.schema import (
    SUPPORTED_VERSIONS,
    VAT_TEMPLATES,
    is_cash_register_series,
    personal_id_allowed,
)

_TITLES = {
    "1": "Hóa đơn giá trị gia tăng",
    "2": "Hóa đơn bán hàng",
    "5": "Tem, vé, thẻ điện tử",
    "7": "Hóa đơn thương mại điện tử",
}
_GOODS = frozenset({1, 2, 5})
_TRADE_DISCOUNT = 3
_NOTE = 4
_ZERO_RATES = frozenset({"0%", "KCT", "KKKNT"})
_TOTAL_TAGS = ("TgTCThue", "TgTThue", "TTCKTMai", "TgTTTBSo", "TgTTTBChu")
_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_CURRENCY_WORDS = {"VND": ("đồng", ""), "USD": ("đô la Mỹ", "xu"), "EUR": ("euro", "xu")}


@dataclass(frozen=True, slots=True)
class LineDraft:
    """One line; ThTien = quantity × unit_price − discount (the amount, else the rate)."""

    name: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: str = "10%"
    unit: str = "phần"
    nature: int = 1
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    item_code: str | None = None

    def discount(self, quantum: Decimal) -> Decimal | None:
        if self.discount_amount is not None:
            return self.discount_amount
        if self.discount_rate is None:
            return None
        return _round(self.quantity * self.unit_price * self.discount_rate / 100, quantum)

    def amount(self, quantum: Decimal) -> Decimal:
        return _round(self.quantity * self.unit_price - (self.discount(quantum) or 0), quantum)


@dataclass(frozen=True, slots=True)
class PartyDraft:
    """A seller or buyer. ``personal_id`` is the 12-digit CCCDan of an individual buyer."""

    name: str
    tax_code: str | None = None
    personal_id: str | None = None
    address: str = ""
    phone: str | None = None
    email: str | None = None
    bank_account: str | None = None
    bank_name: str | None = None
    contact_name: str | None = None
    customer_code: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class RelatedDraft:
    """The invoice a replacement (nature 1) or adjustment (nature 2) corrects."""

    nature: int
    template: str
    series: str
    number: int
    issued_on: date
    note: str | None = None
    kind: int = 1


@dataclass(frozen=True, slots=True)
class FeeDraft:
    """A fee outside VAT, added to the total payable (DSLPhi/LPhi)."""

    name: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """Everything needed to render one invoice; totals are computed, not given."""

    seller: PartyDraft
    buyer: PartyDraft | None
    lines: tuple[LineDraft, ...]
    template: str = "1"
    series: str = "C26TAA"
    number: int = 1
    issued_on: date = field(default_factory=date.today)
    version: str = "2.1.0"
    currency: str = "VND"
    exchange_rate: Decimal | None = None
    payment_method: str = "TM/CK"
    provider_tax_code: str | None = None
    related: RelatedDraft | None = None
    dlhdon_id: str = "SigningData"
    extra_fee: FeeDraft | None = None
    cash_register_code: str | None = None
    extensions: tuple[tuple[str, str], ...] = ()
    line_tax_fields: bool = True
    override_totals: tuple[tuple[str, str], ...] = ()

    @property
    def is_vat(self) -> bool:
        return self.template in VAT_TEMPLATES

    @property
    def quantum(self) -> Decimal:
        """Whole dong for VND, cents for foreign currencies."""
        return Decimal(1) if self.currency == "VND" else Decimal("0.01")


@dataclass(frozen=True, slots=True)
class RateTotal:
    rate: str
    amount: Decimal
    tax: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    """The TToan figures of a draft, as the rules stage should recompute them."""

    rates: tuple[RateTotal, ...]
    before_tax: Decimal
    tax: Decimal
    trade_discount: Decimal
    fees: Decimal
    payable: Decimal


def with_totals(draft: InvoiceDraft, **overrides: Decimal | str) -> InvoiceDraft:
    """A copy whose TToan fields (TgTCThue, TgTThue, TTCKTMai, TgTTTBSo, TgTTTBChu) are forced."""
    unknown = set(overrides) - set(_TOTAL_TAGS)
    if unknown:
        raise ValueError(f"cannot override {sorted(unknown)}; choose from {_TOTAL_TAGS}")
    forced = tuple((tag, str(value)) for tag, value in overrides.items())
    return replace(draft, override_totals=forced)


def compute_totals(draft: InvoiceDraft) -> Totals:
    quantum = draft.quantum
    by_rate: dict[str, Decimal] = {}
    trade_discount = Decimal(0)
    for line in draft.lines:
        if line.nature in _GOODS:
            rate = line.tax_rate if draft.is_vat else ""
            by_rate[rate] = by_rate.get(rate, Decimal(0)) + line.amount(quantum)
        elif line.nature == _TRADE_DISCOUNT:
            trade_discount += line.amount(quantum)
    rates = tuple(
        RateTotal(rate, amount, _round(amount * _rate_value(rate), quantum))
        for rate, amount in by_rate.items()
    )
    before_tax = sum((r.amount for r in rates), Decimal(0))
    tax = sum((r.tax for r in rates), Decimal(0))
    fees = draft.extra_fee.amount if draft.extra_fee else Decimal(0)
    payable = before_tax + tax - trade_discount + fees
    return Totals(rates, before_tax, tax, trade_discount, fees, payable)


def compose_invoice(draft: InvoiceDraft) -> bytes:
    """The draft as UTF-8 ``HDon`` bytes with an empty ``DSCKS/NBan`` for the seller's signature."""
    _check(draft)
    invoice = etree.Element("HDon")
    data = etree.SubElement(invoice, "DLHDon", Id=draft.dlhdon_id)
    _header(data, draft)
    content = etree.SubElement(data, "NDHDon")
    _party(content, "NBan", draft.seller, draft, seller=True)
    if draft.buyer is not None:
        _party(content, "NMua", draft.buyer, draft, seller=False)
    lines = etree.SubElement(content, "DSHHDVu")
    for number, line in enumerate(draft.lines, start=1):
        _line(lines, number, line, draft)
    _totals(content, draft)
    _extensions(data, draft.extensions)
    if draft.cash_register_code:
        _text(invoice, "MCCQT", draft.cash_register_code)
    etree.SubElement(etree.SubElement(invoice, "DSCKS"), "NBan")
    return etree.tostring(invoice, xml_declaration=True, encoding="UTF-8")


def compose_message(
    message_type: int,
    invoices: Sequence[bytes],
    *,
    sender: str,
    receiver: str = "TCT",
    tax_code: str,
    message_id: str | None = None,
    version: str = "2.1.0",
) -> bytes:
    """A ``TDiep`` carrying the given invoices unchanged; 206 gets an empty ``CKSNNT``."""
    message = etree.Element("TDiep")
    header = etree.SubElement(message, "TTChung")
    for tag, value in (
        ("PBan", version),
        ("MNGui", sender),
        ("MNNhan", receiver),
        ("MLTDiep", str(message_type)),
        ("MTDiep", message_id or f"{sender}{uuid.uuid4().hex.upper()}"),
        ("MST", tax_code),
        ("SLuong", str(len(invoices))),
    ):
        _text(header, tag, value)
    body = etree.SubElement(message, "DLieu")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for raw in invoices:
        body.append(etree.fromstring(raw, parser))
    if message_type == 206:
        etree.SubElement(message, "CKSNNT")
    return etree.tostring(message, xml_declaration=True, encoding="UTF-8")


def number_in_words(number: int) -> str:
    """Vietnamese words for a whole number: 1250000 → "một triệu hai trăm năm mươi nghìn"."""
    if number == 0:
        return _DIGITS[0]
    return " ".join(_number_words(number, leading=True))


def amount_in_words(amount: Decimal, currency: str = "VND") -> str:
    """TgTTTBChu: "Một triệu hai trăm năm mươi nghìn đồng"; other currencies name their unit."""
    unit, cents_unit = _CURRENCY_WORDS.get(currency, (currency, ""))
    whole, fraction = divmod(abs(amount), 1)
    words = f"{number_in_words(int(whole))} {unit}"
    cents = int((fraction * 100).quantize(Decimal(1), ROUND_HALF_UP))
    if cents and cents_unit:
        words += f" và {number_in_words(cents)} {cents_unit}"
    if amount < 0:
        words = f"âm {words}"
    return words[0].upper() + words[1:]


def _number_words(number: int, leading: bool) -> list[str]:
    billions, rest = divmod(number, 1_000_000_000)
    words: list[str] = []
    if billions:
        words += [*_number_words(billions, leading), "tỷ"]
        leading = False
    for scale, name in ((1_000_000, "triệu"), (1_000, "nghìn"), (1, "")):
        group = rest // scale % 1000
        if group:
            words += _group_words(group, full=not leading)
            words += [name] if name else []
            leading = False
    return words


def _group_words(group: int, full: bool) -> list[str]:
    """0..999; ``full`` when a higher group came first, so "không trăm" and "linh" are spoken."""
    hundreds, tens, units = group // 100, group // 10 % 10, group % 10
    words = [_DIGITS[hundreds], "trăm"] if full or hundreds else []
    if tens == 1:
        words.append("mười")
    elif tens:
        words += [_DIGITS[tens], "mươi"]
    elif units and words:
        words.append("linh")
    if units == 1 and tens >= 2:
        words.append("mốt")
    elif units == 5 and tens:
        words.append("lăm")
    elif units:
        words.append(_DIGITS[units])
    return words


def _check(draft: InvoiceDraft) -> None:
    if draft.version not in SUPPORTED_VERSIONS:
        raise ValueError(f"version {draft.version!r} is not one of {sorted(SUPPORTED_VERSIONS)}")
    if not draft.seller.tax_code:
        raise ValueError("the seller needs a tax code")
    cash_register = is_cash_register_series(draft.series)
    if cash_register and not draft.cash_register_code:
        raise ValueError(
            f"series {draft.series} is a cash-register series: give cash_register_code"
        )
    buyer_id = draft.buyer.personal_id if draft.buyer else None
    if buyer_id and not personal_id_allowed(draft.version, cash_register):
        raise ValueError(f"PBan {draft.version} has no CCCDan on this form")
    if draft.currency != "VND" and draft.exchange_rate is None:
        raise ValueError(f"currency {draft.currency} needs an exchange rate")


def _header(data: etree._Element, draft: InvoiceDraft) -> None:
    header = etree.SubElement(data, "TTChung")
    _text(header, "PBan", draft.version)
    _text(header, "THDon", _TITLES.get(draft.template, "Hóa đơn"))
    _text(header, "KHMSHDon", draft.template)
    _text(header, "KHHDon", draft.series)
    _text(header, "SHDon", str(draft.number))
    _text(header, "NLap", draft.issued_on.isoformat())
    if draft.version == "2.1.0":
        _text(header, "HDCTTChinh", "0")
    _text(header, "DVTTe", draft.currency)
    if draft.exchange_rate is not None:
        _text(header, "TGia", _plain(draft.exchange_rate))
    _text(header, "HTTToan", draft.payment_method)
    _text(header, "MSTTCGP", draft.provider_tax_code)
    if draft.related is not None:
        _related(header, draft.related)


def _related(header: etree._Element, related: RelatedDraft) -> None:
    block = etree.SubElement(header, "TTHDLQuan")
    _text(block, "TCHDon", str(related.nature))
    _text(block, "LHDCLQuan", str(related.kind))
    _text(block, "KHMSHDCLQuan", related.template)
    _text(block, "KHHDCLQuan", related.series)
    _text(block, "SHDCLQuan", str(related.number))
    _text(block, "NLHDCLQuan", related.issued_on.isoformat())
    _text(block, "GChu", related.note)


def _party(
    content: etree._Element, tag: str, party: PartyDraft, draft: InvoiceDraft, *, seller: bool
) -> None:
    block = etree.SubElement(content, tag)
    _text(block, "Ten", party.name)
    _text(block, "MST", party.tax_code)
    _text(block, "DChi", party.address or None)
    if not seller:
        _text(block, "MKHang", party.customer_code)
        _text(block, "CCCDan", party.personal_id)
        _text(block, "HVTNMHang", party.contact_name)
    _text(block, "SDThoai", party.phone)
    _text(block, "DCTDTu", party.email)
    _text(block, "STKNHang", party.bank_account)
    _text(block, "TNHang", party.bank_name)
    if seller:
        _text(block, "Website", party.website)


def _line(lines: etree._Element, number: int, line: LineDraft, draft: InvoiceDraft) -> None:
    item = etree.SubElement(lines, "HHDVu")
    _text(item, "TChat", str(line.nature))
    _text(item, "STT", str(number))
    _text(item, "MHHDVu", line.item_code)
    _text(item, "THHDVu", line.name)
    if line.nature == _NOTE:
        return
    quantum = draft.quantum
    _text(item, "DVTinh", line.unit or None)
    _text(item, "SLuong", _plain(line.quantity))
    _text(item, "DGia", _plain(line.unit_price))
    if line.discount_rate is not None:
        _text(item, "TLCKhau", _plain(line.discount_rate))
    discount = line.discount(quantum)
    if discount is not None:
        _text(item, "STCKhau", _plain(discount))
    _text(item, "ThTien", _plain(line.amount(quantum)))
    if draft.is_vat:
        _text(item, "TSuat", line.tax_rate)
        if draft.line_tax_fields:
            # Emitters show each line's VAT as extension fields; the standard has no line tax.
            tax = _round(line.amount(quantum) * _rate_value(line.tax_rate), quantum)
            _extensions(
                item,
                (("TThue", _plain(tax)), ("TgTien", _plain(line.amount(quantum) + tax))),
                "numeric",
            )


def _totals(content: etree._Element, draft: InvoiceDraft) -> None:
    totals = compute_totals(draft)
    block = etree.SubElement(content, "TToan")
    values: dict[str, str] = {}
    if draft.is_vat:
        by_rate = etree.SubElement(block, "THTTLTSuat")
        for rate in totals.rates:
            entry = etree.SubElement(by_rate, "LTSuat")
            _text(entry, "TSuat", rate.rate)
            _text(entry, "ThTien", _plain(rate.amount))
            _text(entry, "TThue", _plain(rate.tax))
        values.update(TgTCThue=_plain(totals.before_tax), TgTThue=_plain(totals.tax))
    if totals.trade_discount:
        values["TTCKTMai"] = _plain(totals.trade_discount)
    values["TgTTTBSo"] = _plain(totals.payable)
    values["TgTTTBChu"] = amount_in_words(totals.payable, draft.currency)
    values.update(draft.override_totals)
    if draft.extra_fee is not None:
        fees = etree.SubElement(etree.SubElement(block, "DSLPhi"), "LPhi")
        _text(fees, "TLPhi", draft.extra_fee.name)
        _text(fees, "TPhi", _plain(draft.extra_fee.amount))
    for tag in _TOTAL_TAGS:
        _text(block, tag, values.get(tag))


def _extensions(
    parent: etree._Element, fields: tuple[tuple[str, str], ...], kind: str = "string"
) -> None:
    if not fields:
        return
    block = etree.SubElement(parent, "TTKhac")
    for name, value in fields:
        entry = etree.SubElement(block, "TTin")
        _text(entry, "TTruong", name)
        _text(entry, "KDLieu", kind)
        _text(entry, "DLieu", value)


def _text(parent: etree._Element, tag: str, value: str | None) -> None:
    if value is not None:
        etree.SubElement(parent, tag).text = value


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _round(value: Decimal, quantum: Decimal) -> Decimal:
    return value.quantize(quantum, ROUND_HALF_UP)


def _rate_value(rate: str) -> Decimal:
    """10% → 0.10; KHAC:5.26% (or without %) → 0.0526; KCT, KKKNT, 0% and none → 0."""
    if not rate or rate in _ZERO_RATES:
        return Decimal(0)
    return Decimal(rate.removeprefix("KHAC:").removesuffix("%")) / 100


# Example shapes, checked in under examples/unsigned/ by ``write_examples``. Sellers and buyers
# are the merchants and people of ``integrations.simulators.known``, so that the demo's agency
# simulators know every party of every example invoice.

PROVIDER_TAX_CODE = "0309612872"
"""The invoice-software provider named in MSTTCGP, allowed to sign and submit for the restaurant."""
_RESTAURANT = PartyDraft(
    name="Công ty TNHH Nhà hàng Sen Hồ Tây",
    tax_code="0100109106",
    address="614 Lạc Long Quân, Phường Tây Hồ, Hà Nội",
    phone="02437181234",
    email="ketoan@senhotay.vn",
    bank_account="0011001234567",
    bank_name="Ngân hàng TMCP Ngoại thương Việt Nam - CN Hà Nội",
    website="https://senhotay.vn",
)
_SUPERMARKET = PartyDraft(
    name="Công ty TNHH Siêu thị Phương Nam",
    tax_code="0313032391",
    address="230 Điện Biên Phủ, Phường Xuân Hòa, TP Hồ Chí Minh",
    phone="02839951234",
    email="hoadon@sieuthiphuongnam.vn",
)


def restaurant_invoice() -> InvoiceDraft:
    """A business dinner: food at the reduced 8 % rate, drinks at 10 %, a discounted wine."""
    return InvoiceDraft(
        seller=_RESTAURANT,
        buyer=replace(
            _SUPERMARKET, contact_name="Lê Minh Cường", phone=None, customer_code="KH00451"
        ),
        lines=(
            LineDraft("Gỏi cuốn tôm thịt", Decimal(2), Decimal(85000), "8%", item_code="MA01"),
            LineDraft("Phở bò tái chín", Decimal(4), Decimal(75000), "8%", "tô", item_code="MA02"),
            LineDraft("Cá kho tộ", Decimal(1), Decimal(165000), "8%", item_code="MA03"),
            LineDraft("Rau muống xào tỏi", Decimal(2), Decimal(55000), "8%", "đĩa"),
            LineDraft("Cơm chiên hải sản", Decimal(2), Decimal(95000), "8%", "đĩa"),
            LineDraft("Nước ép cam", Decimal(3), Decimal(45000), "8%", "ly"),
            LineDraft("Bia Sài Gòn Special", Decimal(12), Decimal(28000), "10%", "lon"),
            LineDraft(
                "Rượu vang đỏ Đà Lạt",
                Decimal(1),
                Decimal(450000),
                "10%",
                "chai",
                discount_rate=Decimal(10),
            ),
        ),
        series="C26TSV",
        number=1,
        issued_on=date(2026, 11, 20),
        provider_tax_code=PROVIDER_TAX_CODE,
        dlhdon_id="DLHDon-SV-0000001",
        extensions=(("Số bàn", "12"), ("Mã tra cứu", "SV26TQ8K4M2P")),
    )


def hotel_invoice() -> InvoiceDraft:
    """A three-night business stay billed in US dollars, format 2.0.0, with an airport transfer."""
    return InvoiceDraft(
        seller=PartyDraft(
            name="Công ty CP Khách sạn Sông Sài Gòn",
            tax_code="0319303270",
            address="19 Tôn Đức Thắng, Phường Sài Gòn, TP Hồ Chí Minh",
            phone="02838291234",
            email="frontdesk@songsaigonhotel.vn",
        ),
        buyer=replace(
            _RESTAURANT,
            contact_name="Nguyễn Văn An",
            website=None,
            bank_account=None,
            bank_name=None,
        ),
        lines=(
            LineDraft("Phòng Deluxe hướng sông", Decimal(3), Decimal("120.00"), "8%", "đêm"),
            LineDraft("Ăn sáng buffet", Decimal(6), Decimal("12.50"), "8%", "suất"),
            LineDraft("Giặt là", Decimal(1), Decimal("18.75"), "8%", "lần"),
            LineDraft("Minibar: rượu vang", Decimal(2), Decimal("14.30"), "10%", "chai"),
        ),
        series="C26TSG",
        number=318,
        issued_on=date(2026, 11, 22),
        version="2.0.0",
        currency="USD",
        exchange_rate=Decimal("25415.00"),
        payment_method="CK",
        provider_tax_code=PROVIDER_TAX_CODE,
        extra_fee=FeeDraft("Phí đưa đón sân bay", Decimal("25.00")),
    )


def supermarket_invoice() -> InvoiceDraft:
    """A sales invoice with line discounts, a free promotional item and a member discount."""
    return InvoiceDraft(
        seller=_SUPERMARKET,
        buyer=PartyDraft(
            name="Trần Thị Bình",
            personal_id="079301000123",
            address="45 Nguyễn Huệ, Phường Sài Gòn, TP Hồ Chí Minh",
            phone="0903123456",
        ),
        lines=(
            LineDraft("Gạo ST25 túi 5kg", Decimal(2), Decimal(189000), unit="túi"),
            LineDraft(
                "Dầu ăn Tường An 1L",
                Decimal(3),
                Decimal(52000),
                unit="chai",
                discount_rate=Decimal(10),
            ),
            LineDraft("Sữa tươi tiệt trùng 1L", Decimal(6), Decimal(33500), unit="hộp"),
            LineDraft(
                "Nước mắm Phú Quốc 500ml",
                Decimal(2),
                Decimal(68000),
                unit="chai",
                discount_amount=Decimal(10000),
            ),
            LineDraft("Ly thủy tinh (khuyến mại)", Decimal(1), Decimal(0), unit="cái", nature=2),
            LineDraft("Chiết khấu thẻ thành viên", Decimal(1), Decimal(25000), unit="", nature=3),
            LineDraft("Hàng khuyến mại không đổi trả", Decimal(0), Decimal(0), nature=4),
        ),
        template="2",
        series="K26TPN",
        number=20417,
        issued_on=date(2026, 11, 23),
        payment_method="Tiền mặt",
        provider_tax_code=PROVIDER_TAX_CODE,
    )


def replacement_invoice() -> InvoiceDraft:
    """Replaces the restaurant invoice whose buyer name was wrong."""
    original = restaurant_invoice()
    return replace(
        original,
        number=2,
        issued_on=date(2026, 11, 21),
        dlhdon_id="DLHDon-SV-0000002",
        related=RelatedDraft(
            nature=1,
            template=original.template,
            series=original.series,
            number=original.number,
            issued_on=original.issued_on,
            note="Thay thế hóa đơn số 1 do sai tên người mua",
        ),
    )


def adjustment_invoice() -> InvoiceDraft:
    """Lowers the price of one dish on the restaurant invoice: negative amounts throughout."""
    original = restaurant_invoice()
    return replace(
        original,
        number=3,
        issued_on=date(2026, 11, 24),
        dlhdon_id="DLHDon-SV-0000003",
        lines=(
            LineDraft("Điều chỉnh giảm đơn giá Phở bò tái chín", Decimal(4), Decimal(-5000), "8%"),
        ),
        extensions=(),
        related=RelatedDraft(
            nature=2,
            template=original.template,
            series=original.series,
            number=original.number,
            issued_on=original.issued_on,
            note="Điều chỉnh giảm đơn giá theo biên bản ngày 24/11/2026",
        ),
    )


def household_invoice(version: str = "2.1.0") -> InvoiceDraft:
    """A cash-register sales invoice from a household noodle shop; the buyer gives a CCCDan.

    Since Circular 86/2024 the household business's tax code is its owner's personal ID number.
    """
    return InvoiceDraft(
        seller=PartyDraft(
            name="Hộ kinh doanh Phở Dung",
            tax_code="001190007777",
            address="27 Hàng Bạc, Phường Hoàn Kiếm, Hà Nội",
        ),
        buyer=PartyDraft(name="Nguyễn Văn An", personal_id="001099012345"),
        lines=(
            LineDraft("Phở bò đặc biệt", Decimal(2), Decimal(65000), unit="tô"),
            LineDraft("Quẩy", Decimal(4), Decimal(5000), unit="cái"),
            LineDraft("Trà đá", Decimal(2), Decimal(5000), unit="ly"),
        ),
        template="2",
        series="C26MBT",
        number=1542,
        issued_on=date(2026, 11, 25),
        version=version,
        payment_method="Tiền mặt",
        provider_tax_code=PROVIDER_TAX_CODE,
        cash_register_code="M2-26-QW7Z3-00000001542",
    )


EXAMPLES: dict[str, Callable[[], InvoiceDraft]] = {
    "restaurant-vat-mixed": restaurant_invoice,
    "hotel-usd": hotel_invoice,
    "supermarket-sales": supermarket_invoice,
    "replacement": replacement_invoice,
    "adjustment": adjustment_invoice,
    "household-cash-register": household_invoice,
    "household-cash-register-2.0.1": lambda: household_invoice("2.0.1"),
}


def demo_invoices() -> dict[str, InvoiceDraft]:
    """Every example shape by name."""
    return {name: make() for name, make in EXAMPLES.items()}


def write_examples(folder: Path) -> list[Path]:
    """Writes ``<name>.xml`` for every example; the test suite checks the files stay current."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draft in demo_invoices().items():
        path = folder / f"{name}.xml"
        path.write_bytes(compose_invoice(draft))
        written.append(path)
    return written
