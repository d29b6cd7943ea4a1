from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from integrations.einvoice.rules import RuleSettings
from integrations.risk.flags import FlagCode
from integrations.risk.totals import check_totals
from integrations.store.risk import InvoiceFacts, LineFacts

RULES = RuleSettings()


def facts(
    before: str, tax: str, *lines: LineFacts, currency: str = "VND", template: str = "1"
) -> InvoiceFacts:
    return InvoiceFacts(
        id=uuid.uuid4(),
        seller_tax_code="0100109106",
        template=template,
        series="C26TAA",
        number=1,
        issued_on=date(2026, 9, 1),
        currency=currency,
        buyer_tax_code=None,
        buyer_personal_id=None,
        total_before_tax=Decimal(before),
        total_tax=Decimal(tax),
        lines=lines,
    )


def line(amount: str, percent: str | None = "8", nature: int = 1) -> LineFacts:
    return LineFacts(nature, Decimal(amount), Decimal(percent) if percent else None)


@pytest.mark.parametrize(
    "invoice",
    [
        pytest.param(facts("130000", "10400", line("130000")), id="exact"),
        pytest.param(
            facts("125000", "10000", line("130000"), line("5000", nature=3)), id="discount-line"
        ),
        # Three lines of 8% on 1,005 dong: 80.4 each, rounded per line to 80, total 240.
        pytest.param(facts("3015", "240", *[line("1005")] * 3), id="per-line-rounding"),
        pytest.param(facts("100000", "0", line("100000", None), line("7", nature=4)), id="untaxed"),
        pytest.param(facts("0", "0"), id="no-lines"),
        # A sales invoice states no amount before tax: the store holds 0 for the absent TgTCThue.
        pytest.param(
            facts("0", "0", line("130000", None), line("5000", None, nature=3), template="2"),
            id="sales-invoice",
        ),
    ],
)
def test_consistent_totals_raise_nothing(invoice: InvoiceFacts) -> None:
    assert check_totals(invoice, RULES) == []


@pytest.mark.parametrize(
    ("invoice", "words"),
    [
        pytest.param(facts("130001", "10400", line("130000")), "amount before tax", id="one-dong"),
        pytest.param(facts("3015", "239", *[line("1005")] * 3), "tax 239", id="tax-shaved"),
        pytest.param(facts("10.00", "0.79", line("10.00"), currency="USD"), "tax", id="cents"),
        pytest.param(facts("0", "100", line("130000", None), template="2"), "tax 100", id="sales"),
    ],
)
def test_totals_off_by_more_than_rounding_are_flagged(invoice: InvoiceFacts, words: str) -> None:
    [flag] = check_totals(invoice, RULES)
    assert flag.code is FlagCode.TOTALS_INCONSISTENT
    assert words in flag.detail
