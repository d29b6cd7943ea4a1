"""DUPLICATE_ATTEMPT: other content sent under the key of an invoice already held.

The intake answers such an attempt 409 and records it (``RiskStore.record_duplicate_attempt``);
the flag sits on the original invoice, since that is the one an officer would look up. A
retry of the exact same bytes is a replay, not an attempt, and is never recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.risk.flags import Flag, FlagCode
from integrations.store.risk import InvoiceFacts


@dataclass(frozen=True, slots=True)
class DuplicateCheck:
    codes: frozenset[FlagCode] = frozenset({FlagCode.DUPLICATE_ATTEMPT})

    async def run(self, facts: InvoiceFacts) -> list[Flag] | None:
        """The flag, from the attempts counted as the facts were read; ``None`` (nothing to
        change) when there were none. Attempts are never taken back, so a flag raised since
        (the intake raises it as it answers 409) is never the sweeper's to clear."""
        if not facts.attempts or facts.last_attempt is None:
            return None
        detail = f"{facts.attempts} attempt(s), last at {facts.last_attempt.isoformat()}"
        return [Flag(FlagCode.DUPLICATE_ATTEMPT, detail)]
