"""TOTALS_INCONSISTENT: stored totals that are not exactly what the stored lines give.

The intake refuses totals that miss the lines by more than its tolerance (rules 5006-5010),
so an accepted invoice can still differ only by rounding: one unit on the amount before tax,
or more tax than the rounding of each line explains. Both are how small amounts of tax are
shaved at volume, and invoices loaded in bulk never went through the rules at all. So the
amount before tax must equal the signed sum of the lines exactly, and the tax may differ from
the lines' amount times rate by at most half a currency unit per taxed line. Only VAT invoices
(templates 1 and 8) state an amount before tax; sales and cash-register invoices carry no
``TgTCThue`` (the store holds 0 for it), so only their tax, none, is compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from integrations.einvoice.rules import RuleSettings
from integrations.einvoice.schema import VAT_TEMPLATES
from integrations.risk.flags import Flag, FlagCode
from integrations.store.risk import InvoiceFacts, LineFacts

PRICED_NATURES = frozenset({1, 3, 5})
DISCOUNT = 3


def check_totals(facts: InvoiceFacts, rules: RuleSettings) -> list[Flag]:
    priced = [x for x in facts.lines if x.nature in PRICED_NATURES and x.amount is not None]
    if not priced:
        return []
    before = sum((_signed(x) for x in priced), Decimal(0))
    taxed = [x for x in priced if x.tax_percent]
    tax = sum((_signed(x) * (x.tax_percent or 0) / 100 for x in taxed), Decimal(0))
    slack = rules.tolerance(facts.currency) / 2 * len(taxed)
    problems = []
    if facts.template in VAT_TEMPLATES and before != facts.total_before_tax:
        problems.append(f"amount before tax {facts.total_before_tax}, lines give {before}")
    if abs(tax - facts.total_tax) > slack:
        problems.append(f"tax {facts.total_tax}, lines give {tax} (rounding allows {slack})")
    return [Flag(FlagCode.TOTALS_INCONSISTENT, "; ".join(problems))] if problems else []


def _signed(line: LineFacts) -> Decimal:
    amount = line.amount or Decimal(0)
    return -amount if line.nature == DISCOUNT else amount


@dataclass(frozen=True, slots=True)
class TotalsCheck:
    rules: RuleSettings = field(default_factory=RuleSettings)
    codes: frozenset[FlagCode] = frozenset({FlagCode.TOTALS_INCONSISTENT})

    async def run(self, facts: InvoiceFacts) -> list[Flag]:
        return check_totals(facts, self.rules)
