"""Business rules over an extracted invoice: the 5xxx stage. Pure: no I/O, no clock.

Which rule is an error and which a warning, the tolerance and the totals formula are
explained in ``docs/rules.md``. Rules that need the store (the related invoice exists,
the key is new) belong to the pipeline, not here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal, localcontext
from itertools import chain
from types import MappingProxyType
from typing import Final

from integrations.einvoice.codes import (
    CURRENCY,
    CURRENCY_SYMBOL,
    GRAND_TOTAL,
    ISSUE_DATE_FUTURE,
    LINE_AMOUNT,
    NUMBER_RANGE,
    RATE_TOTAL,
    RELATED_INCOMPLETE,
    SERIES_INVALID,
    SERIES_YEAR,
    TAX_AMOUNT,
    TAX_RATE,
    TOTAL_IN_WORDS,
)
from integrations.einvoice.document import (
    VND_SYMBOLS,
    InvoiceDocument,
    Line,
    LineNature,
    TaxRate,
)
from integrations.einvoice.findings import Finding

VIETNAM_TIME: Final = timezone(timedelta(hours=7), "ICT")
MAX_NUMBER: Final = 99_999_999

DEFAULT_CURRENCIES: Final = frozenset(
    {
        "VND", "USD", "EUR", "JPY", "CNY", "KRW", "GBP", "AUD", "CAD", "CHF", "SGD", "HKD",
        "TWD", "THB", "MYR", "IDR", "PHP", "INR", "LAK", "KHR", "RUB", "NZD", "SEK", "NOK",
        "DKK", "AED", "SAR", "KWD",
    }
)  # fmt: skip
# ISO 4217 minor-unit digits where they differ from the usual two.
_MINOR_UNITS: Final = MappingProxyType({"VND": 0, "JPY": 0, "KRW": 0, "KWD": 3})

_SERIES: Final = re.compile(r"\A[CK]\d{2}[TDLMNBGHXF][A-Z0-9]{2}\Z")
_PRICED: Final = frozenset({LineNature.GOODS, LineNature.SPECIAL_GOODS})
# How each line nature moves the taxable amount; promotions and notes carry none.
_TAXABLE_SIGN: Final[Mapping[int | None, int]] = MappingProxyType(
    {LineNature.GOODS: 1, LineNature.SPECIAL_GOODS: 1, LineNature.DISCOUNT: -1}
)

_GENERAL: Final = "DLHDon/TTChung"
_LINE: Final = "DLHDon/NDHDon/DSHHDVu/HHDVu"
_TOTALS: Final = "DLHDon/NDHDon/TToan"
_RATE_TOTAL: Final = f"{_TOTALS}/THTTLTSuat/LTSuat"


@dataclass(frozen=True)
class RuleSettings:
    """Knobs of the business rules.

    ``amount_tolerance`` counts in the smallest unit of the invoice currency: the default
    of 1 allows one dong on a VND invoice and one cent on a USD invoice.

    >>> RuleSettings().tolerance("USD")
    Decimal('0.01')
    """

    clock_skew: timedelta = timedelta(minutes=5)
    amount_tolerance: Decimal = Decimal(1)
    allowed_currencies: frozenset[str] = DEFAULT_CURRENCIES
    minor_units: Mapping[str, int] = field(default_factory=lambda: _MINOR_UNITS, hash=False)
    local_zone: tzinfo = VIETNAM_TIME

    def __post_init__(self) -> None:
        if self.amount_tolerance < 0 or self.clock_skew < timedelta(0):
            raise ValueError("RuleSettings tolerances must not be negative")

    def tolerance(self, currency: str) -> Decimal:
        return self.amount_tolerance.scaleb(-self.minor_units.get(currency, 2))


def check_rules(doc: InvoiceDocument, settings: RuleSettings, *, now: datetime) -> list[Finding]:
    """Every business-rule finding for one invoice, errors and warnings alike.

    ``now`` is the receipt time; a naive value is taken as local time in
    ``settings.local_zone``.
    """
    currency, currency_findings = _currency(doc, settings)
    tolerance = settings.tolerance(currency)
    with localcontext(prec=60):
        return list(
            chain(
                _numbering(doc),
                _issue_date(doc, settings, now),
                currency_findings,
                _rate_values(doc),
                _lines(doc, tolerance),
                _rate_totals(doc, tolerance),
                _grand_totals(doc, tolerance),
                _related(doc),
                _in_words(doc),
            )
        )


def _numbering(doc: InvoiceDocument) -> Iterator[Finding]:
    if not _SERIES.match(doc.series):
        yield SERIES_INVALID.finding(repr(doc.series), path=f"{_GENERAL}/KHHDon")
    elif doc.series_year != doc.issued_on.year:
        yield SERIES_YEAR.finding(
            f"KHHDon says {doc.series_year}, NLap is in {doc.issued_on.year}",
            path=f"{_GENERAL}/KHHDon",
        )
    if not 1 <= doc.number <= MAX_NUMBER:
        yield NUMBER_RANGE.finding(str(doc.number), path=f"{_GENERAL}/SHDon")


def _issue_date(doc: InvoiceDocument, settings: RuleSettings, now: datetime) -> Iterator[Finding]:
    local_now = now.astimezone(settings.local_zone) if now.tzinfo else now
    latest = (local_now + settings.clock_skew).date()
    if doc.issued_on > latest:
        yield ISSUE_DATE_FUTURE.finding(
            f"NLap is {doc.issued_on}, today is {local_now.date()}", path=f"{_GENERAL}/NLap"
        )


def _currency(doc: InvoiceDocument, settings: RuleSettings) -> tuple[str, list[Finding]]:
    """The currency the amounts are in, and what is wrong with how it is written."""
    path = f"{_GENERAL}/DVTTe"
    written = doc.currency
    if written is None:
        return "VND", [CURRENCY.finding("DVTTe is missing", path=path)]
    if written in VND_SYMBOLS:
        return "VND", [CURRENCY_SYMBOL.finding(f"{written!r} read as VND", path=path)]
    if written not in settings.allowed_currencies:
        return "VND", [CURRENCY.finding(f"{written!r} is not an accepted code", path=path)]
    if written != "VND" and (doc.exchange_rate is None or doc.exchange_rate <= 0):
        return written, [
            CURRENCY.finding(f"TGia must be above 0 for {written}", path=f"{_GENERAL}/TGia")
        ]
    return written, []


def _rate_values(doc: InvoiceDocument) -> Iterator[Finding]:
    for i, line in enumerate(doc.lines, start=1):
        if line.tax_rate is not None and not line.tax_rate.is_valid:
            yield TAX_RATE.finding(repr(line.tax_rate.label), path=f"{_LINE}[{i}]/TSuat")
    for i, total in enumerate(doc.rate_totals, start=1):
        if not total.rate.is_valid:
            yield TAX_RATE.finding(repr(total.rate.label), path=f"{_RATE_TOTAL}[{i}]/TSuat")


def _lines(doc: InvoiceDocument, tolerance: Decimal) -> Iterator[Finding]:
    for i, line in enumerate(doc.lines, start=1):
        if line.nature not in _PRICED or line.amount is None:
            continue
        expected = _line_amount(line)
        if expected is not None and abs(expected - line.amount) > tolerance:
            yield LINE_AMOUNT.finding(
                f"SLuong × DGia − discount = {expected}, ThTien is {line.amount}",
                path=f"{_LINE}[{i}]/ThTien",
            )
        yield from _line_tax(line, line.amount, f"{_LINE}[{i}]", tolerance)


def _line_tax(line: Line, amount: Decimal, path: str, tolerance: Decimal) -> Iterator[Finding]:
    """A line's own VAT, where the vendor states one, must match its rate."""
    expected = _tax_on(amount, line.tax_rate)
    if line.tax_rate is None or line.tax_amount is None or expected is None:
        return
    if abs(expected - line.tax_amount) > tolerance:
        yield TAX_AMOUNT.finding(
            f"{amount} at {line.tax_rate.label} gives {expected}, the line says {line.tax_amount}",
            path=path,
        )


def _line_amount(line: Line) -> Decimal | None:
    """Quantity × price less the discount, when the line states quantity and price."""
    if line.quantity is None or line.unit_price is None:
        return None
    gross = line.quantity * line.unit_price
    if line.discount_amount is not None:
        return gross - line.discount_amount
    if line.discount_rate is not None:
        return gross - gross * line.discount_rate / 100
    return gross


def _tax_on(amount: Decimal, rate: TaxRate | None) -> Decimal | None:
    """The VAT due on an amount, or None when the rate does not say."""
    if rate is None or not rate.is_valid:
        return None
    if rate.is_untaxed:
        return Decimal(0)
    return amount * rate.percent / 100 if rate.percent is not None else None


def _sums_by_rate(doc: InvoiceDocument) -> dict[str, tuple[Decimal, int]]:
    """Per rate group: the signed sum of line amounts and how many lines made it."""
    sums: dict[str, tuple[Decimal, int]] = defaultdict(lambda: (Decimal(0), 0))
    for line in doc.lines:
        sign = _TAXABLE_SIGN.get(line.nature)
        if sign is None or line.amount is None or line.tax_rate is None:
            continue
        total, count = sums[line.tax_rate.group]
        sums[line.tax_rate.group] = (total + sign * line.amount, count + 1)
    return dict(sums)


def _rate_totals(doc: InvoiceDocument, tolerance: Decimal) -> Iterator[Finding]:
    sums = _sums_by_rate(doc)
    seen: set[str] = set()
    for i, total in enumerate(doc.rate_totals, start=1):
        group, path = total.rate.group, f"{_RATE_TOTAL}[{i}]"
        line_sum, line_count = sums.get(group, (Decimal(0), 0))
        if group in seen:
            yield RATE_TOTAL.finding(f"{total.rate.label} is listed twice", path=path)
        seen.add(group)
        if total.taxable is not None and abs(total.taxable - line_sum) > tolerance:
            yield RATE_TOTAL.finding(
                f"lines at {total.rate.label} sum to {line_sum}, ThTien is {total.taxable}",
                path=f"{path}/ThTien",
            )
        expected_tax = _tax_on(total.taxable, total.rate) if total.taxable is not None else None
        # Tax rounded line by line may drift half a unit per line from the rate's tax.
        allowed = tolerance * max(1, line_count)
        if (
            total.tax is not None
            and expected_tax is not None
            and abs(expected_tax - total.tax) > allowed
        ):
            yield TAX_AMOUNT.finding(
                f"{total.taxable} at {total.rate.label} gives {expected_tax}, TThue is {total.tax}",
                path=f"{path}/TThue",
            )
    for group in sorted(sums.keys() - seen):
        yield RATE_TOTAL.finding(
            f"lines at {group} have no LTSuat block", path=f"{_TOTALS}/THTTLTSuat"
        )


def _grand_totals(doc: InvoiceDocument, tolerance: Decimal) -> Iterator[Finding]:
    if doc.rate_totals:
        taxable = sum((t.taxable for t in doc.rate_totals if t.taxable is not None), Decimal(0))
        tax = sum((t.tax for t in doc.rate_totals if t.tax is not None), Decimal(0))
        source = "the LTSuat blocks"
    else:
        taxable = _net_of_lines(doc)
        tax = Decimal(0)
        source = "the lines"
    if doc.total_before_tax is not None and abs(doc.total_before_tax - taxable) > tolerance:
        yield GRAND_TOTAL.finding(
            f"{source} give {taxable} before tax, TgTCThue is {doc.total_before_tax}",
            path=f"{_TOTALS}/TgTCThue",
        )
    if doc.total_tax is not None and abs(doc.total_tax - tax) > tolerance:
        yield GRAND_TOTAL.finding(
            f"{source} give {tax} tax, TgTThue is {doc.total_tax}", path=f"{_TOTALS}/TgTThue"
        )
    if doc.total_payable is not None:
        yield from _payable(doc, doc.total_payable, taxable, tax, tolerance)


def _net_of_lines(doc: InvoiceDocument) -> Decimal:
    signed = (
        _TAXABLE_SIGN[line.nature] * line.amount
        for line in doc.lines
        if line.nature in _TAXABLE_SIGN and line.amount is not None
    )
    return sum(signed, Decimal(0))


def _payable(
    doc: InvoiceDocument, payable: Decimal, taxable: Decimal, tax: Decimal, tolerance: Decimal
) -> Iterator[Finding]:
    """TgTTTBSo = TgTCThue + TgTThue + fees, less TTCKTMai when not already taken off."""
    before_tax = doc.total_before_tax if doc.total_before_tax is not None else taxable
    total_tax = doc.total_tax if doc.total_tax is not None else tax
    expected = before_tax + total_tax + doc.total_fees
    candidates = [expected]
    if doc.total_discount:
        candidates.append(expected - doc.total_discount)
    if all(abs(payable - c) > tolerance for c in candidates):
        alternative = f" (or {candidates[1]} less TTCKTMai)" if len(candidates) > 1 else ""
        yield GRAND_TOTAL.finding(
            f"TgTCThue + TgTThue + fees = {expected}{alternative}, TgTTTBSo is {payable}",
            path=f"{_TOTALS}/TgTTTBSo",
        )


def _related(doc: InvoiceDocument) -> Iterator[Finding]:
    related = doc.related
    if related is None:
        return
    missing = [
        name
        for name, value in (
            ("TCHDon", related.nature if related.nature in (1, 2) else None),
            ("KHMSHDCLQuan", related.template),
            ("KHHDCLQuan", related.series),
            ("SHDCLQuan", related.number),
            ("NLHDCLQuan", related.issued_on),
        )
        if value is None
    ]
    if missing:
        yield RELATED_INCOMPLETE.finding(
            f"missing or invalid: {', '.join(missing)}", path=f"{_GENERAL}/TTHDLQuan"
        )


def _in_words(doc: InvoiceDocument) -> Iterator[Finding]:
    if doc.total_in_words is None:
        yield TOTAL_IN_WORDS.finding(path=f"{_TOTALS}/TgTTTBChu")
