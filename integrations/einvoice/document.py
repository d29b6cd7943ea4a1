"""Typed invoice data read from a signed ``DLHDon`` element (``einvoice-format.md`` §2, §3).

Extraction works from the ``DLHDon`` element alone, because that is the element the
signature verifier vouches for; walking up to its parent would read data nobody signed.
Children are looked up by local name, so element order, stray namespace prefixes and
unknown extension elements do not matter. Values that cannot be read become findings
with a readable path such as ``DLHDon/NDHDon/DSHHDVu/HHDVu[2]/ThTien``; when a value the
invoice cannot be identified without is missing or unreadable, ``Rejection`` is raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import IntEnum
from typing import Final

from lxml import etree

from integrations.einvoice.codes import (
    AMOUNT_FORMAT,
    DATE_FORMAT,
    INTEGER_FORMAT,
    VALUE_MISSING,
    Code,
)
from integrations.einvoice.findings import Finding, Rejection
from integrations.errors import IdentityError
from integrations.identity import TaxCode

_DECIMAL: Final = re.compile(r"\A-?\d+(?:\.\d+)?\Z")
_INTEGER: Final = re.compile(r"\A\d+\Z")
_DATE: Final = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
_PERCENT_RATES: Final = {"0%": Decimal(0), "5%": Decimal(5), "8%": Decimal(8), "10%": Decimal(10)}
_UNTAXED_RATES: Final = frozenset({"KCT", "KKKNT"})
_OTHER_RATE: Final = re.compile(r"\AKHAC(?::?(?P<percent>\d{1,2}(?:\.\d{1,2})?)%?)?\Z")
VND_SYMBOLS: Final = frozenset({"đ", "Đ", "VNĐ", "VNđ"})
"""The dong's symbol, which real invoices write in ``DVTTe`` instead of the code VND."""


class LineNature(IntEnum):
    """``TChat``: what a line stands for."""

    GOODS = 1
    PROMOTION = 2
    DISCOUNT = 3
    NOTE = 4
    SPECIAL_GOODS = 5


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A ``TSuat`` value as written, with the percentage when the label gives one.

    >>> TaxRate.parse("KHAC:5.26%").percent
    Decimal('5.26')
    >>> TaxRate.parse("KCT").percent is None, TaxRate.parse("7%").is_valid
    (True, False)
    """

    label: str
    percent: Decimal | None
    is_valid: bool

    @classmethod
    def parse(cls, label: str) -> TaxRate:
        """Read every form §2.5 accepts: ``0%``-``10%``, ``KCT``, ``KKKNT``, ``KHAC[:]n[%]``."""
        if label in _PERCENT_RATES:
            return cls(label, _PERCENT_RATES[label], True)
        if label in _UNTAXED_RATES:
            return cls(label, None, True)
        other = _OTHER_RATE.match(label)
        if other:
            percent = other.group("percent")
            return cls(label, Decimal(percent) if percent else None, True)
        return cls(label, None, False)

    @property
    def is_untaxed(self) -> bool:
        """Not subject to VAT, or not declared: no tax is due on such amounts."""
        return self.label in _UNTAXED_RATES

    @property
    def group(self) -> str:
        """One name per rate, so ``KHAC:5.26`` and ``KHAC:5.26%`` total together."""
        if self.is_valid and self.label.startswith("KHAC"):
            return f"KHAC:{self.percent.normalize():f}%" if self.percent is not None else "KHAC"
        return self.label


@dataclass(frozen=True, slots=True)
class Party:
    """The seller (``NBan``) or the buyer (``NMua``); identifiers as written."""

    name: str | None
    tax_code: str | None
    personal_id: str | None
    passport: str | None
    budget_unit_code: str | None
    address: str | None
    email: str | None
    phone: str | None
    bank_account: str | None
    store_code: str | None
    store_name: str | None


@dataclass(frozen=True, slots=True)
class Line:
    """One ``HHDVu`` line item."""

    position: int | None
    nature: int | None
    item_code: str | None
    name: str | None
    unit: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    discount_rate: Decimal | None
    discount_amount: Decimal | None
    amount: Decimal | None
    tax_rate: TaxRate | None
    tax_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class RateTotal:
    """One ``THTTLTSuat/LTSuat`` block: the taxable amount and the tax at one rate."""

    rate: TaxRate
    taxable: Decimal | None
    tax: Decimal | None


@dataclass(frozen=True, slots=True)
class Fee:
    """One ``DSLPhi/LPhi``: a fee or charge outside VAT, added to the total payable."""

    name: str | None
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class RelatedInvoice:
    """``TTHDLQuan``: the invoice a replacement (1) or adjustment (2) refers to."""

    nature: int | None
    kind: int | None
    template: str | None
    series: str | None
    number: int | None
    issued_on: date | None
    note: str | None


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """The business content of one invoice, as the seller signed it."""

    version: str | None
    name: str | None
    template: str
    series: str
    number: int
    issued_on: date
    currency: str | None
    exchange_rate: Decimal | None
    payment_method: str | None
    provider_tax_code: str | None
    seller: Party
    buyer: Party | None
    lines: tuple[Line, ...]
    rate_totals: tuple[RateTotal, ...]
    total_before_tax: Decimal | None
    total_tax: Decimal | None
    total_discount: Decimal | None
    fees: tuple[Fee, ...]
    total_payable: Decimal | None
    total_in_words: str | None
    related: RelatedInvoice | None

    @property
    def amount_currency(self) -> str | None:
        """The ISO code the amounts are in: ``DVTTe``, with the dong's symbol read as VND."""
        return "VND" if self.currency in VND_SYMBOLS else self.currency

    @property
    def total_fees(self) -> Decimal:
        """The fees' sum; a fee whose amount could not be read adds nothing (it is a finding)."""
        return sum((fee.amount for fee in self.fees if fee.amount is not None), Decimal(0))

    @property
    def is_coded(self) -> bool:
        """The tax authority assigns a code before the invoice reaches the buyer."""
        return self.series.startswith("C")

    @property
    def kind_letter(self) -> str | None:
        return self.series[3] if len(self.series) >= 4 else None

    @property
    def is_cash_register(self) -> bool:
        return self.kind_letter == "M"

    @property
    def stamped_by_authority(self) -> bool:
        """The tax authority's code and signature are added on acceptance: a coded invoice,
        unless from a cash register, whose code its seller generated."""
        return self.is_coded and not self.is_cash_register

    @property
    def series_year(self) -> int | None:
        digits = self.series[1:3]
        return 2000 + int(digits) if len(digits) == 2 and digits.isdigit() else None

    @property
    def key(self) -> tuple[str, str, str, int]:
        """(seller tax code, template, series, number): unique per seller for all time.

        Branch codes are normalised to the hyphenated form so both spellings key alike.
        """
        return (
            _canonical_tax_code(self.seller.tax_code or ""),
            self.template,
            self.series,
            self.number,
        )


def _canonical_tax_code(text: str) -> str:
    try:
        return TaxCode(text).value
    except IdentityError:
        return text


class _Node:
    """An element with its readable path, and its children by local name.

    The children are indexed once, when the node is made: every node made is read from.
    """

    __slots__ = ("element", "named", "path")

    def __init__(self, element: etree._Element, path: str) -> None:
        self.element = element
        self.path = path
        self.named: dict[str, list[etree._Element]] = {}
        for child in element:
            if isinstance(child.tag, str):
                self.named.setdefault(child.tag.rpartition("}")[2], []).append(child)

    def child(self, name: str) -> _Node | None:
        found = self.named.get(name)
        return _Node(found[0], f"{self.path}/{name}") if found else None

    def children(self, name: str) -> Iterator[_Node]:
        """Made one at a time, so a reader that stops early makes no more."""
        found = self.named.get(name, [])
        return (_Node(el, f"{self.path}/{name}[{i}]") for i, el in enumerate(found, start=1))

    def text(self, name: str) -> str | None:
        # Read straight from the element: a child node (and its path) is only made for errors.
        found = self.named.get(name)
        text = found[0].text if found else None
        if text is None:
            return None
        return text.strip() or None


class _Reader:
    """Reads typed values, recording a finding for each one that is unreadable or missing.

    A missing parent has already been reported, so nothing below it is reported again.
    """

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def node(self, parent: _Node | None, name: str, *, need: bool = False) -> _Node | None:
        if parent is None:
            return None
        found = parent.child(name)
        if found is None and need:
            self.findings.append(VALUE_MISSING.finding(path=f"{parent.path}/{name}"))
        return found

    def text(self, node: _Node | None, name: str, *, need: bool = False) -> str | None:
        if node is None:
            return None
        text = node.text(name)
        if text is None and need:
            self.findings.append(VALUE_MISSING.finding(path=f"{node.path}/{name}"))
        return text

    def decimal(self, node: _Node | None, name: str) -> Decimal | None:
        # The commonest read (six a line), so it asks the node directly.
        text = node.text(name) if node is not None else None
        if text is None:
            return None
        if _DECIMAL.match(text):
            return Decimal(text)
        return self._unreadable(AMOUNT_FORMAT, text, node, name)

    def integer(self, node: _Node | None, name: str, *, need: bool = False) -> int | None:
        text = self.text(node, name, need=need)
        if text is None or _INTEGER.match(text):
            return int(text) if text is not None else None
        return self._unreadable(INTEGER_FORMAT, text, node, name)

    def date(self, node: _Node | None, name: str, *, need: bool = False) -> date | None:
        text = self.text(node, name, need=need)
        if text is None:
            return None
        if _DATE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        return self._unreadable(DATE_FORMAT, text, node, name)

    def _unreadable(self, code: Code, text: str, node: _Node | None, name: str) -> None:
        path = f"{node.path}/{name}" if node is not None else name
        self.findings.append(code.finding(repr(text), path=path))


def extract_invoice(dlhdon: etree._Element) -> tuple[InvoiceDocument, list[Finding]]:
    """Read the invoice held by a signed ``DLHDon``; the findings list what could not be read.

    Raises ``Rejection`` when the invoice cannot be identified: no template, series, number,
    issue date or seller tax code.
    """
    reader = _Reader()
    root = _Node(dlhdon, etree.QName(dlhdon).localname)
    general = reader.node(root, "TTChung", need=True)
    content = reader.node(root, "NDHDon", need=True)
    seller = reader.node(content, "NBan", need=True)
    template = reader.text(general, "KHMSHDon", need=True)
    series = reader.text(general, "KHHDon", need=True)
    number = reader.integer(general, "SHDon", need=True)
    issued_on = reader.date(general, "NLap", need=True)
    seller_tax_code = reader.text(seller, "MST", need=True)
    if (
        general is None
        or content is None
        or seller is None
        or template is None
        or series is None
        or number is None
        or issued_on is None
        or seller_tax_code is None
    ):
        raise Rejection(reader.findings)
    totals = content.child("TToan")
    buyer = content.child("NMua")
    document = InvoiceDocument(
        version=general.text("PBan"),
        name=general.text("THDon"),
        template=template,
        series=series,
        number=number,
        issued_on=issued_on,
        currency=general.text("DVTTe"),
        exchange_rate=reader.decimal(general, "TGia"),
        payment_method=general.text("HTTToan"),
        provider_tax_code=general.text("MSTTCGP"),
        seller=_party(seller),
        buyer=_party(buyer) if buyer is not None else None,
        lines=_lines(content, reader),
        rate_totals=_rate_totals(totals, reader),
        total_before_tax=reader.decimal(totals, "TgTCThue"),
        total_tax=reader.decimal(totals, "TgTThue"),
        total_discount=reader.decimal(totals, "TTCKTMai"),
        fees=_fees(totals, reader),
        total_payable=reader.decimal(totals, "TgTTTBSo"),
        total_in_words=reader.text(totals, "TgTTTBChu"),
        related=_related(general.child("TTHDLQuan"), reader),
    )
    return document, reader.findings


def _party(node: _Node) -> Party:
    return Party(
        name=node.text("Ten"),
        tax_code=node.text("MST"),
        personal_id=node.text("CCCDan"),
        passport=node.text("SHChieu"),
        budget_unit_code=node.text("MDVQHNSach"),
        address=node.text("DChi"),
        email=node.text("DCTDTu"),
        phone=node.text("SDThoai"),
        bank_account=node.text("STKNHang"),
        store_code=node.text("MCHang"),
        store_name=node.text("TCHang"),
    )


def _lines(content: _Node, reader: _Reader) -> tuple[Line, ...]:
    items = content.child("DSHHDVu")
    if items is None:
        return ()
    return tuple(_line(node, reader) for node in items.children("HHDVu"))


def _line(node: _Node, reader: _Reader) -> Line:
    rate = node.text("TSuat")
    return Line(
        position=reader.integer(node, "STT"),
        nature=reader.integer(node, "TChat", need=True),
        item_code=node.text("MHHDVu"),
        name=node.text("THHDVu"),
        unit=node.text("DVTinh"),
        quantity=reader.decimal(node, "SLuong"),
        unit_price=reader.decimal(node, "DGia"),
        discount_rate=reader.decimal(node, "TLCKhau"),
        discount_amount=reader.decimal(node, "STCKhau"),
        amount=reader.decimal(node, "ThTien"),
        tax_rate=TaxRate.parse(rate) if rate is not None else None,
        tax_amount=_line_tax(node, reader),
    )


def _line_tax(node: _Node, reader: _Reader) -> Decimal | None:
    """The line's VAT: not a standard tag, so vendors write a TThue child or a TTKhac field."""
    if "TThue" in node.named:
        return reader.decimal(node, "TThue")
    extension = node.child("TTKhac")
    for field in extension.children("TTin") if extension is not None else ():
        if field.text("TTruong") == "TThue":
            return reader.decimal(field, "DLieu")
    return None


def _rate_totals(totals: _Node | None, reader: _Reader) -> tuple[RateTotal, ...]:
    block = totals.child("THTTLTSuat") if totals is not None else None
    if block is None:
        return ()
    return tuple(
        RateTotal(
            rate=TaxRate.parse(node.text("TSuat") or ""),
            taxable=reader.decimal(node, "ThTien"),
            tax=reader.decimal(node, "TThue"),
        )
        for node in block.children("LTSuat")
    )


def _fees(totals: _Node | None, reader: _Reader) -> tuple[Fee, ...]:
    block = totals.child("DSLPhi") if totals is not None else None
    if block is None:
        return ()
    return tuple(
        Fee(name=node.text("TLPhi"), amount=reader.decimal(node, "TPhi"))
        for node in block.children("LPhi")
    )


def _related(node: _Node | None, reader: _Reader) -> RelatedInvoice | None:
    if node is None:
        return None
    return RelatedInvoice(
        nature=reader.integer(node, "TCHDon"),
        kind=reader.integer(node, "LHDCLQuan"),
        template=node.text("KHMSHDCLQuan"),
        series=node.text("KHHDCLQuan"),
        number=reader.integer(node, "SHDCLQuan"),
        issued_on=reader.date(node, "NLHDCLQuan"),
        note=node.text("GChu"),
    )
