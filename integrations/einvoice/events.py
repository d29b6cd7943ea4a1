"""What happens after the answer: work that follows an accepted invoice or a refused duplicate.

Risk flags, live subscriptions and the like must not delay or endanger the merchant's receipt,
so they run behind a queue once the invoice's transaction has committed, one at a time: the
intake answers at its own pace and the follow-up work catches up (accept fast, process behind
a queue). A failing observer is logged and never undoes an acceptance. When the queue is full
the follow-up work of that invoice is dropped with a warning rather than holding the intake.
``drain`` waits until the queue is empty (at shutdown, and in tests that look at results).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from integrations.store.invoices import StoredInvoice

log = logging.getLogger("gateway.intake.events")

QUEUE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class DuplicateAttempt:
    """Other bytes under the key of an invoice already held (answered 409)."""

    original: StoredInvoice
    sha256: str
    submitter: str


AcceptedObserver = Callable[[StoredInvoice], Awaitable[object]]
DuplicateObserver = Callable[[DuplicateAttempt], Awaitable[object]]
Work = Callable[[], Awaitable[object]]


class IntakeEvents:
    def __init__(self, *, queue_size: int = QUEUE_SIZE) -> None:
        self.accepted: list[AcceptedObserver] = []
        self.duplicates: list[DuplicateObserver] = []
        self._queue: asyncio.Queue[Work] = asyncio.Queue(queue_size)
        self._worker: asyncio.Task[None] | None = None
        self.dropped = 0

    def invoice_accepted(self, invoice: StoredInvoice) -> None:
        for observer in self.accepted:
            self._enqueue(lambda observer=observer: observer(invoice))

    def duplicate_refused(self, attempt: DuplicateAttempt) -> None:
        for observer in self.duplicates:
            self._enqueue(lambda observer=observer: observer(attempt))

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def drain(self) -> None:
        await self._queue.join()

    async def close(self, *, grace: float = 5.0) -> None:
        """Finish the work queued, waiting at most ``grace`` seconds, then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.drain()
        if self.backlog:
            log.warning("follow-up work left undone at shutdown", extra={"left": self.backlog})
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    def _enqueue(self, work: Work) -> None:
        try:
            self._queue.put_nowait(work)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("follow-up queue full: work dropped", extra={"dropped": self.dropped})
            return
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            work = await self._queue.get()
            try:
                await work()
            except Exception:
                log.exception("intake observer failed")
            finally:
                self._queue.task_done()
