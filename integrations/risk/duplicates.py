"""DUPLICATE_ATTEMPT: other content sent under the key of an invoice already held.

The intake answers such an attempt 409 and records it (``RiskStore.record_duplicate_attempt``);
the flag sits on the original invoice, since that is the one an officer would look up. A
retry of the exact same bytes is a replay, not an attempt, and is never recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.risk.flags import Flag, FlagCode
from integrations.store.risk import InvoiceFacts, RiskStore


@dataclass(frozen=True, slots=True)
class DuplicateCheck:
    store: RiskStore
    codes: frozenset[FlagCode] = frozenset({FlagCode.DUPLICATE_ATTEMPT})

    async def run(self, facts: InvoiceFacts) -> list[Flag]:
        attempts = await self.store.duplicate_attempts(facts.id)
        if not attempts:
            return []
        last = max(at for _, at in attempts)
        detail = f"{len(attempts)} attempt(s), last at {last.isoformat()}"
        return [Flag(FlagCode.DUPLICATE_ATTEMPT, detail)]
