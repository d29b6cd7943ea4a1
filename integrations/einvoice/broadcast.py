"""Live fan-out of accepted invoices to the subscribers of their seller, in this process.

``publish`` is an intake observer (``intake.events.accepted``): it runs after the invoice's
commit and never waits. Each subscriber has a bounded queue; one that falls so far behind that
its queue is full is dropped (its stream ends with ``SubscriberDropped``) instead of holding up
the intake or growing without bound::

    broadcaster = InvoiceBroadcaster(queue_size=100)
    intake.events.accepted.append(broadcaster.publish)
    async with broadcaster.subscribe("0100109106") as invoices:
        async for invoice in invoices:
            ...

Each instance delivers the acceptances it committed itself at once. ``AcceptanceRelay``
carries them to the subscribers of every other instance over the event bus.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from integrations.bus import Bus
from integrations.errors import GatewayError
from integrations.store.invoices import StoredInvoice

log = logging.getLogger("gateway.broadcast")

DEFAULT_QUEUE_SIZE = 100
INVOICE_ACCEPTED = "invoice.accepted"


class SubscriberDropped(GatewayError):
    """A subscriber fell a whole queue behind and was cut off so the intake never waits."""

    code = "SUBSCRIBER_TOO_SLOW"
    hint = "Subscribe again, and page the invoices query for what arrived in between."


class Subscription:
    """One subscriber's stream of accepted invoices; iterate it, it ends only when dropped."""

    def __init__(self, seller_tax_code: str, queue_size: int) -> None:
        self.seller_tax_code = seller_tax_code
        self._queue: asyncio.Queue[StoredInvoice | None] = asyncio.Queue(queue_size)
        self.dropped = False

    def offer(self, invoice: StoredInvoice) -> bool:
        """Queue ``invoice`` without waiting; False (and the stream ends) when the queue is full."""
        try:
            self._queue.put_nowait(invoice)
        except asyncio.QueueFull:
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        # What is queued will never be read in time: free it, and leave only the end mark.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)
        self.dropped = True

    def __aiter__(self) -> AsyncIterator[StoredInvoice]:
        return self

    async def __anext__(self) -> StoredInvoice:
        invoice = await self._queue.get()
        if invoice is None:
            raise SubscriberDropped(
                f"the subscriber to {self.seller_tax_code} fell behind and was dropped"
            )
        return invoice


class InvoiceBroadcaster:
    """Hands each accepted invoice to the live subscribers of its seller."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, not {queue_size}")
        self.queue_size = queue_size
        self._by_seller: dict[str, set[Subscription]] = {}

    async def publish(self, invoice: StoredInvoice) -> None:
        """Offer ``invoice`` to its seller's subscribers; slow ones are dropped, never awaited."""
        seller = invoice.key.seller_tax_code
        for subscription in list(self._by_seller.get(seller, ())):
            if not subscription.offer(invoice):
                self._remove(subscription)

    @asynccontextmanager
    async def subscribe(self, seller_tax_code: str) -> AsyncIterator[Subscription]:
        """A stream of the invoices accepted for ``seller_tax_code`` from now on."""
        subscription = Subscription(seller_tax_code, self.queue_size)
        self._by_seller.setdefault(seller_tax_code, set()).add(subscription)
        try:
            yield subscription
        finally:
            self._remove(subscription)

    def subscribers(self, seller_tax_code: str) -> int:
        return len(self._by_seller.get(seller_tax_code, ()))

    def _remove(self, subscription: Subscription) -> None:
        subscribers = self._by_seller.get(subscription.seller_tax_code)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._by_seller[subscription.seller_tax_code]


class AcceptanceRelay:
    """Hands the invoices accepted here to the subscribers of the other instances.

    The message names the invoice and its seller, nothing more: an instance that hears it,
    and has subscribers of that seller, reads the invoice from the database and offers it to
    them. So what subscribers receive is always what was committed, and a message that names
    no invoice of that seller (stale, garbled or forged) delivers nothing. Subscribers were
    authorised where they subscribed; each delivery is logged there, as for a local one::

        relay = AcceptanceRelay(broadcaster, bus, read=store.get)
        intake.events.accepted.append(relay.tell)
    """

    def __init__(
        self,
        broadcaster: InvoiceBroadcaster,
        bus: Bus,
        *,
        read: Callable[[uuid.UUID], Awaitable[StoredInvoice | None]],
    ) -> None:
        self.broadcaster = broadcaster
        self.bus = bus
        self.read = read
        bus.subscribe(INVOICE_ACCEPTED, self.heard)

    async def tell(self, invoice: StoredInvoice) -> None:
        """Intake observer: publish the acceptance, after its commit, without waiting."""
        self.bus.publish(
            INVOICE_ACCEPTED, {"invoice": str(invoice.id), "seller": invoice.key.seller_tax_code}
        )

    async def heard(self, data: Mapping[str, str]) -> None:
        """Another instance accepted an invoice: offer it here, as committed."""
        seller = data.get("seller", "")
        if not self.broadcaster.subscribers(seller):
            return
        try:
            invoice_id = uuid.UUID(data.get("invoice", ""))
        except ValueError:
            log.warning("acceptance names no invoice id", extra={"seller": seller})
            return
        invoice = await self.read(invoice_id)
        if invoice is None or invoice.key.seller_tax_code != seller:
            log.warning("acceptance names no invoice of its seller", extra={"seller": seller})
            return
        await self.broadcaster.publish(invoice)
