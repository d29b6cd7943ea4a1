"""Assessing accepted invoices behind the intake, from the database rather than from memory.

Every invoice is stored unassessed; the sweeper claims the oldest unassessed ones a handful at
a time, so flags follow acceptance within moments in normal load and catch up after a peak or
a restart, without a backlog held in memory that a crash would lose or a burst would grow.
Claims are conditional updates, so sweepers in several workers share the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from integrations.risk.assessor import RiskAssessor
from integrations.store.risk import RiskStore

log = logging.getLogger("gateway.risk")

BATCH = 50
IDLE_SECONDS = 30.0


class RiskSweeper:
    def __init__(
        self, assessor: RiskAssessor, store: RiskStore, *, idle: float = IDLE_SECONDS
    ) -> None:
        self.assessor = assessor
        self.store = store
        self.idle = idle
        self._work = asyncio.Event()
        self._stopping = False

    def poke(self) -> None:
        """New invoices are waiting: look now instead of at the next idle tick."""
        self._work.set()

    def stop(self) -> None:
        """Have ``run`` return once the invoice in hand is assessed, giving the rest of its
        batch back to be claimed again.

        Cancelling it instead would cut a statement off mid-flight, which asyncpg answers by
        opening another connection to cancel it on the server while the pool waits, and would
        leave the rest of the batch claimed but never assessed.
        """
        self._stopping = True
        self._work.set()

    async def sweep(self) -> int:
        """Assess every invoice waiting now, or until stopped; returns how many were assessed."""
        done = 0
        while not self._stopping and (
            batch := await self.store.claim_unassessed(limit=BATCH, at=self.assessor.clock())
        ):
            pending = set(batch)
            facts = await self.store.facts_of(batch)
            for invoice_id in batch:
                if self._stopping:
                    await self.store.unclaim(pending)
                    break
                pending.discard(invoice_id)
                try:
                    await self.assessor.assess(
                        invoice_id, pending=pending, facts=facts.get(invoice_id)
                    )
                except Exception:
                    # Claimed but not assessed: refresh_seller or refresh_buyer recomputes it.
                    log.exception("risk assessment failed", extra={"invoice": str(invoice_id)})
                    continue
                done += 1
        return done

    async def run(self) -> None:
        """Sweep whenever poked, and at least every ``idle`` seconds, until stopped.

        A sweep that fails (the database gone a moment) is tried again at the next poke or
        tick: the sweeper outlives an outage instead of ending with it.
        """
        while not self._stopping:
            self._work.clear()
            try:
                await self.sweep()
            except Exception:
                log.exception("risk sweep failed; the next one tries again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle):
                    await self._work.wait()
