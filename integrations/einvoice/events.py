"""What happens after the answer: work that follows an accepted invoice or a refused duplicate.

Risk flags, live subscriptions and the like must not delay or endanger the merchant's receipt,
so observers run as background tasks once the invoice's transaction has committed; a failing
observer is logged and never undoes an acceptance. ``drain`` waits for the work in flight (at
shutdown, and in tests that look at its results).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from integrations.store.invoices import StoredInvoice

log = logging.getLogger("gateway.intake.events")


@dataclass(frozen=True, slots=True)
class DuplicateAttempt:
    """Other bytes under the key of an invoice already held (answered 409)."""

    original: StoredInvoice
    sha256: str
    submitter: str


AcceptedObserver = Callable[[StoredInvoice], Awaitable[object]]
DuplicateObserver = Callable[[DuplicateAttempt], Awaitable[object]]


class IntakeEvents:
    def __init__(self) -> None:
        self.accepted: list[AcceptedObserver] = []
        self.duplicates: list[DuplicateObserver] = []
        self._running: set[asyncio.Task[object]] = set()

    def invoice_accepted(self, invoice: StoredInvoice) -> None:
        for observer in self.accepted:
            self._spawn(observer(invoice))

    def duplicate_refused(self, attempt: DuplicateAttempt) -> None:
        for observer in self.duplicates:
            self._spawn(observer(attempt))

    async def drain(self) -> None:
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _spawn(self, work: Awaitable[object]) -> None:
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("intake observer failed", exc_info=task.exception())
