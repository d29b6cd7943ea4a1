"""Invoice records for the analytics and risk tests, with totals that follow from the lines,
and the summaries those records should give, computed here without SQL."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from integrations.store.analytics import GroupBy, SummaryRow
from integrations.store.classify import invoice_kind, province_of
from integrations.store.invoices import (
    InvoiceKey,
    InvoiceRecord,
    LineRecord,
    LinkRecord,
    ReceiptRecord,
)
from integrations.store.models import InvoiceKind, LinkState

PERCENTS = {"0%": Decimal(0), "5%": Decimal(5), "8%": Decimal(8), "10%": Decimal(10), "KCT": None}
SELLERS = ("0100109106", "0319303270", "0313032391-001", "001190007777")
BUYERS = ("001099012345", "079301000123", "048085004321", "092303000456", "0401234566", None)


@dataclass(frozen=True, slots=True)
class Line:
    rate: str
    amount: Decimal
    nature: int = 1


def line_tax(line: Line) -> Decimal:
    percent = PERCENTS[line.rate]
    tax = line.amount * percent / 100 if percent is not None else Decimal(0)
    return -tax if line.nature == 3 else tax


def signed(line: Line) -> Decimal:
    return -line.amount if line.nature == 3 else line.amount


def make_record(
    *,
    seller: str = SELLERS[0],
    number: int = 1,
    template: str = "1",
    series: str = "C26TAA",
    issued_on: date = date(2026, 9, 1),
    buyer: str | None = BUYERS[0],
    lines: tuple[Line, ...] = (Line("8%", Decimal(100000)),),
    cash_register: bool = False,
    original: bytes | None = None,
    total_before_tax: Decimal | None = None,
    links: tuple[LinkRecord, ...] | None = None,
    currency: str = "VND",
    exchange_rate: Decimal | None = None,
) -> InvoiceRecord:
    before = sum((signed(line) for line in lines), Decimal(0))
    tax = sum((line_tax(line) for line in lines), Decimal(0))
    invoice_id = uuid.uuid4()
    raw = original or f"<HDon>{invoice_id}</HDon>".encode()
    personal = buyer if buyer and len(buyer) == 12 else None
    tax_code = buyer if buyer and len(buyer) != 12 else None
    if links is None:
        links = (LinkRecord("seller", "tax_code", seller, seller, LinkState.RESOLVED),)
        if buyer:
            kind = "personal_id" if personal else "tax_code"
            links += (LinkRecord("buyer", kind, buyer, buyer, LinkState.RESOLVED),)
    return InvoiceRecord(
        id=invoice_id,
        key=InvoiceKey(seller, template, series, number),
        sha256=hashlib.sha256(raw).hexdigest(),
        original=raw,
        version="2.1.0",
        name="Hóa đơn",
        issued_on=issued_on,
        currency=currency,
        exchange_rate=exchange_rate,
        seller_name=f"Người bán {seller}",
        buyer_name=f"Người mua {buyer}" if buyer else "",
        buyer_tax_code=tax_code,
        buyer_personal_id=personal,
        total_before_tax=before if total_before_tax is None else total_before_tax,
        total_tax=tax,
        total_payable=before + tax,
        is_cash_register=cash_register,
        submitter=seller,
        receipt=ReceiptRecord(f"R-{invoice_id.hex}", "json", {}, b""),
        lines=tuple(
            LineRecord(
                position=position,
                nature=line.nature,
                name="Món",
                amount=line.amount,
                tax_rate=line.rate,
                tax_percent=PERCENTS[line.rate],
            )
            for position, line in enumerate(lines, 1)
        ),
        links=links,
    )


USD_RATES = (Decimal("25430.5"), Decimal(25450), Decimal("26012.75"), Decimal("99999.99"))
"""Rates a USD invoice states (TGia): cents, whole dong, and the largest TGia can write."""


@dataclass(frozen=True, slots=True)
class Generated:
    record: InvoiceRecord
    lines: tuple[Line, ...]

    @property
    def rate(self) -> Decimal:
        """Dong per unit of the invoice's currency: its own TGia, 1 for VND."""
        return self.record.exchange_rate if self.record.currency != "VND" else Decimal(1)


def generate(count: int, *, seed: int = 7, foreign: float = 0.0) -> list[Generated]:
    """A varied, reproducible set: every seller, buyer kind, template, rate and month; a
    ``foreign`` share of the invoices is in USD, in cents, at one of ``USD_RATES``."""
    rng = random.Random(seed)
    numbers: dict[tuple[str, str], int] = {}
    made = []
    for _ in range(count):
        seller = rng.choice(SELLERS)
        template, series, cash = rng.choice(
            (("1", "C26TAA", False), ("2", "C26TBB", False), ("1", "C26MCC", True))
        )
        numbers[seller, series] = number = numbers.get((seller, series), 0) + 1
        usd = foreign > 0 and rng.random() < foreign
        amount = _cents if usd else _amount
        lines = tuple(
            Line(rng.choice(tuple(PERCENTS)), amount(rng)) for _ in range(rng.randint(1, 3))
        )
        if rng.random() < 0.2:
            lines += (Line(lines[0].rate, Decimal(rng.randint(1, 50)) * 100, nature=3),)
        record = make_record(
            seller=seller,
            number=number,
            template=template,
            series=series,
            issued_on=date(2026, 8, 1) + timedelta(days=rng.randint(0, 91)),
            buyer=rng.choice(BUYERS),
            lines=lines,
            cash_register=cash,
            currency="USD" if usd else "VND",
            exchange_rate=rng.choice(USD_RATES) if usd else None,
        )
        made.append(Generated(record, lines))
    return made


def _amount(rng: random.Random) -> Decimal:
    whole = Decimal(rng.randint(1, 400) * 5000)
    return whole + Decimal("0.5") if rng.random() < 0.1 else whole


def _cents(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(1, 400_000)).scaleb(-2)


def kind_of(record: InvoiceRecord) -> InvoiceKind:
    return invoice_kind(
        record.key.template, record.key.series, is_cash_register=record.is_cash_register
    )


def buyer_of(record: InvoiceRecord) -> str | None:
    return record.buyer_personal_id or record.buyer_tax_code


Group = tuple[tuple[str, ...], str]


def expected_summary(
    chosen: list[Generated], group_by: tuple[GroupBy, ...]
) -> dict[Group, SummaryRow]:
    """Per group and currency: the sums in the currency, and in dong at each invoice's rate."""
    groups: dict[Group, list[tuple[Generated, Line | None]]] = defaultdict(list)
    for g in chosen:
        pairs = [(g, line) for line in g.lines] if GroupBy.TAX_RATE in group_by else [(g, None)]
        for pair in pairs:
            key = tuple(value_of(pair, dim) for dim in group_by)
            groups[key, g.record.currency].append(pair)
    summary = {}
    for (key, currency), pairs in groups.items():
        invoices = {g.record.id: g for g, _ in pairs}
        if GroupBy.TAX_RATE in group_by:
            amounts = [(signed(line), line_tax(line), g.rate) for g, line in pairs if line]
            amounts = [(before, tax, before + tax, rate) for before, tax, rate in amounts]
        else:
            amounts = [
                (g.record.total_before_tax, g.record.total_tax, g.record.total_payable, g.rate)
                for g in invoices.values()
            ]
        before, tax, payable = (sum((a[i] for a in amounts), Decimal(0)) for i in range(3))
        in_dong = (sum((a[i] * a[3] for a in amounts), Decimal(0)) for i in range(3))
        buyers = {buyer_of(g.record) for g in invoices.values()} - {None}
        summary[key, currency] = SummaryRow(
            key, currency, len(invoices), before, tax, payable, *in_dong, len(buyers)
        )
    return summary


def value_of(pair: tuple[Generated, Line | None], dim: GroupBy) -> str:
    record, line = pair[0].record, pair[1]
    return {
        GroupBy.MONTH: record.issued_on.isoformat()[:7],
        GroupBy.SELLER: record.key.seller_tax_code,
        GroupBy.BUYER: buyer_of(record) or "",
        GroupBy.TAX_RATE: line.rate if line else "",
        GroupBy.SELLER_PROVINCE: province_of(record.key.seller_tax_code),
        GroupBy.BUYER_PROVINCE: province_of(buyer_of(record)),
        GroupBy.KIND: kind_of(record).value,
    }[dim]
