"""Realistic unsigned invoices and message envelopes, built from small frozen drafts.

The demo, the CLI, the tests and the benchmarks all make their invoices here, so every
invoice has totals that add up, the fields its format version expects, and a compact
serialisation (no indentation) the size of real traffic. A draft with
``override_totals`` makes deliberately wrong totals for the rules' tests. The demo's own
invoices are drafts in ``gateway.demo_catalogue``.

>>> raw = compose_invoice(draft)
>>> envelope = compose_message(200, [raw], sender="V0100109106", tax_code="0319303270")

Totals are those the rules recompute (``docs/rules.md``): goods lines (TChat 1 and 5) add to
their rate, trade-discount lines (TChat 3) subtract from it, promotions and notes carry no
amount; TTCKTMai reports the trade discount, already taken off, and
TgTTTBSo = TgTCThue + TgTThue + fees.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from integrations.einvoice.schema import (
    SUPPORTED_VERSIONS,
    VAT_TEMPLATES,
    is_cash_register_series,
    personal_id_allowed,
)
from integrations.einvoice.words import amount_in_words

_TITLES = {
    "1": "Hóa đơn giá trị gia tăng",
    "2": "Hóa đơn bán hàng",
    "5": "Tem, vé, thẻ điện tử",
    "7": "Hóa đơn thương mại điện tử",
}
_TRADE_DISCOUNT = 3
_NOTE = 4
# How each line nature moves the amount of its rate; promotions and notes carry none.
_SIGNS = {1: 1, 5: 1, _TRADE_DISCOUNT: -1}
_ZERO_RATES = frozenset({"0%", "KCT", "KKKNT"})
_TOTAL_TAGS = ("TgTCThue", "TgTThue", "TTCKTMai", "TgTTTBSo", "TgTTTBChu")


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
    """A seller or buyer. ``personal_id`` is the 12-digit CCCDan of an individual buyer;
    ``passport`` (SHChieu) and ``budget_unit_code`` (MDVQHNSach) identify other buyers."""

    name: str
    tax_code: str | None = None
    personal_id: str | None = None
    passport: str | None = None
    budget_unit_code: str | None = None
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
        sign = _SIGNS.get(line.nature)
        if sign is None:
            continue
        rate = line.tax_rate if draft.is_vat else ""
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + sign * line.amount(quantum)
        if line.nature == _TRADE_DISCOUNT:
            trade_discount += line.amount(quantum)
    rates = tuple(
        RateTotal(rate, amount, _round(amount * _rate_value(rate), quantum))
        for rate, amount in by_rate.items()
    )
    before_tax = sum((r.amount for r in rates), Decimal(0))
    tax = sum((r.tax for r in rates), Decimal(0))
    fees = draft.extra_fee.amount if draft.extra_fee else Decimal(0)
    payable = before_tax + tax + fees
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
        _text(block, "MDVQHNSach", party.budget_unit_code)
        _text(block, "MKHang", party.customer_code)
        _text(block, "CCCDan", party.personal_id)
        _text(block, "SHChieu", party.passport)
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
