"""What every risk check looks like, so the assessor can run them side by side.

A check names the codes it decides and returns the flags it raises among them, or ``None``
when it cannot judge now (an agency is down): the assessor then leaves those codes as they
were instead of clearing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from integrations.einvoice.rules import RuleSettings
from integrations.risk.flags import Flag, FlagCode
from integrations.store.risk import InvoiceFacts


@dataclass(frozen=True, slots=True)
class RiskSettings:
    """Knobs of the risk checks.

    ``scope`` labels the agency reads made for risk work (the upstream cache keys on it);
    ``near_expiry`` is how close to the issue date a signing certificate may expire before
    the invoice is flagged; ``rules`` supplies the currency units of the totals check.
    """

    scope: str = "risk-assessment"
    near_expiry: timedelta = timedelta(days=30)
    rules: RuleSettings = field(default_factory=RuleSettings)


class Check(Protocol):
    codes: frozenset[FlagCode]

    async def run(self, facts: InvoiceFacts) -> list[Flag] | None: ...
