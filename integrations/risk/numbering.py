"""NUMBERING_GAP and NUMBER_REUSED: the numbering of a series, judged from what is held.

Numbers run 1, 2, 3... within (seller, template, series), and a new year is a new series.
A gap is a number whose predecessor is not held; invoices may arrive out of order, so the
flag is cleared when the missing ones come (the assessor re-checks the successor of every
invoice it assesses). Reuse is the same series and number under another template, or a number
dated against its neighbours (the next lower number dated after it, or the next higher one
before it), which is how a number is issued twice in practice. Only neighbours are compared,
so the flag is raised where the order breaks, not on every later invoice of the series.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.risk.flags import Flag, FlagCode
from integrations.store.risk import InvoiceFacts, SeriesNumbers


@dataclass(frozen=True, slots=True)
class NumberingCheck:
    """Judges the invoice's place in its series as read with its facts (``facts.numbers``)."""

    codes: frozenset[FlagCode] = frozenset({FlagCode.NUMBERING_GAP, FlagCode.NUMBER_REUSED})

    async def run(self, facts: InvoiceFacts) -> list[Flag]:
        numbers = facts.numbers
        return [*_gap(facts, numbers.highest_below), *_reuse(facts, numbers)]


def _gap(facts: InvoiceFacts, below: int | None) -> list[Flag]:
    if facts.number <= 1 or below == facts.number - 1:
        return []
    first_missing = (below or 0) + 1
    missing = (
        str(first_missing)
        if first_missing == facts.number - 1
        else f"{first_missing}-{facts.number - 1}"
    )
    return [Flag(FlagCode.NUMBERING_GAP, f"{facts.series} numbers {missing} not held")]


def _reuse(facts: InvoiceFacts, numbers: SeriesNumbers) -> list[Flag]:
    reasons = []
    templates = numbers.other_templates
    if templates:
        reasons.append(f"number {facts.number} also used under template {', '.join(templates)}")
    other = numbers.dated_out_of_order
    if other is not None:
        reasons.append(f"number {other} of the series is dated out of order with this one")
    return [Flag(FlagCode.NUMBER_REUSED, "; ".join(reasons))] if reasons else []
