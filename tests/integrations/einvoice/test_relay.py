"""Acceptances carried to other instances as hints: the receiver reads what was committed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from integrations.bus import MemoryBus
from integrations.einvoice.broadcast import INVOICE_ACCEPTED, AcceptanceRelay, InvoiceBroadcaster
from integrations.store.invoices import InvoiceStore, StoredInvoice
from tests.resolvers.conftest import HOTEL, RESTAURANT, invoice_record
from tests.support.waiting import until

pytestmark = pytest.mark.usefixtures("db")


class Instances:
    """Two instances' broadcasters and buses; reads made by the second are counted."""

    def __init__(self) -> None:
        self.here_bus, self.there_bus = MemoryBus.group(2)
        self.here, self.there = InvoiceBroadcaster(), InvoiceBroadcaster()
        self.store = InvoiceStore()
        self.reads: list[uuid.UUID] = []
        self.sender = AcceptanceRelay(self.here, self.here_bus, read=self.store.get)
        AcceptanceRelay(self.there, self.there_bus, read=self.read)

    async def read(self, invoice_id: uuid.UUID) -> StoredInvoice | None:
        self.reads.append(invoice_id)
        return await self.store.get(invoice_id)


@pytest.fixture
async def instances() -> AsyncIterator[Instances]:
    pair = Instances()
    await pair.here_bus.start()
    await pair.there_bus.start()
    yield pair
    await pair.here_bus.close()
    await pair.there_bus.close()


async def test_an_acceptance_reaches_the_subscribers_of_the_other_instance(
    instances: Instances,
) -> None:
    stored = await instances.store.insert(invoice_record(1))
    async with instances.there.subscribe(RESTAURANT) as stream:
        await instances.sender.tell(stored)
        async with asyncio.timeout(30):
            delivered = await anext(stream)
    assert delivered == stored
    assert instances.reads == [stored.id]


async def test_without_subscribers_of_the_seller_nothing_is_read(instances: Instances) -> None:
    stored = await instances.store.insert(invoice_record(2))
    async with instances.there.subscribe(HOTEL):
        await instances.sender.tell(stored)
        await until(lambda: instances.there_bus.delivered == 1)
    assert instances.reads == []


@pytest.mark.parametrize(
    "named",
    [
        pytest.param("the restaurant's", id="other-seller"),
        pytest.param("not-a-uuid", id="garbled-id"),
        pytest.param(str(uuid.uuid4()), id="no-such-invoice"),
    ],
)
async def test_a_hint_naming_no_invoice_of_its_seller_delivers_nothing(
    instances: Instances, named: str
) -> None:
    restaurants = await instances.store.insert(invoice_record(3))
    hotels = await instances.store.insert(invoice_record(4, seller=HOTEL))
    invoice = str(restaurants.id) if named == "the restaurant's" else named
    async with instances.there.subscribe(HOTEL) as stream:
        instances.here_bus.publish(INVOICE_ACCEPTED, {"invoice": invoice, "seller": HOTEL})
        await instances.sender.tell(hotels)
        async with asyncio.timeout(30):
            delivered = await anext(stream)
    assert delivered == hotels
