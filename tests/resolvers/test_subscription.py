"""invoiceAccepted: live invoices for whoever may list the seller's sales, each delivery logged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import strawberry

from integrations.access import Principal, Role
from integrations.einvoice.broadcast import DEFAULT_QUEUE_SIZE, InvoiceBroadcaster, Subscription
from integrations.store.invoices import InvoiceStore, StoredInvoice
from resolvers import build_context
from tests.resolvers.conftest import (
    AN,
    BINH,
    CITIZEN_AN,
    HOTEL,
    OFFICER,
    RESTAURANT,
    RESTAURANT_MERCHANT,
    Graph,
    invoice_record,
)

ACCEPTED = """
subscription($seller: String!) {
  invoiceAccepted(sellerTaxCode: $seller) { number sellerTaxCode buyerPersonalId totalPayable }
}
"""

Results = AsyncGenerator[Any, None]


async def subscribe(
    graph: Graph, broadcaster: InvoiceBroadcaster, principal: Principal, seller: str
) -> Results:
    context = build_context(
        principal=principal,
        upstreams=graph.upstreams,
        store=graph.store,
        audit=graph.audit,
        broadcaster=broadcaster,
    )
    schema: strawberry.Schema = graph.schema
    results = await schema.subscribe(
        ACCEPTED, variable_values={"seller": seller}, context_value=context
    )
    assert not isinstance(results, strawberry.types.ExecutionResult), results.errors
    return results


async def accepted(number: int, seller: str = RESTAURANT, buyer: str = AN) -> StoredInvoice:
    return await InvoiceStore().insert(invoice_record(number, seller=seller, buyer_id=buyer))


class WatchedBroadcaster(InvoiceBroadcaster):
    """The real broadcaster, telling the test when a subscriber has joined."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        super().__init__(queue_size=queue_size)
        self.joined = asyncio.Event()

    @asynccontextmanager
    async def subscribe(self, seller_tax_code: str) -> AsyncIterator[Subscription]:
        async with super().subscribe(seller_tax_code) as subscription:
            self.joined.set()
            yield subscription


async def subscribed(broadcaster: WatchedBroadcaster, results: Results) -> asyncio.Task[Any]:
    """The first result, pending until something is published once the subscriber is in."""
    first = asyncio.ensure_future(anext(results))
    joined = asyncio.ensure_future(broadcaster.joined.wait())
    await asyncio.wait({first, joined}, return_when=asyncio.FIRST_COMPLETED)
    joined.cancel()
    return first


@pytest.mark.parametrize("principal", [OFFICER, RESTAURANT_MERCHANT], ids=["officer", "merchant"])
async def test_subscribers_get_their_sellers_acceptances_and_each_is_logged(
    graph: Graph, principal: Principal
) -> None:
    broadcaster = WatchedBroadcaster()
    results = await subscribe(graph, broadcaster, principal, RESTAURANT)
    first = await subscribed(broadcaster, results)

    await broadcaster.publish(await accepted(1, buyer=AN))
    await broadcaster.publish(await accepted(1, seller=HOTEL))
    await broadcaster.publish(await accepted(2, buyer=BINH))
    delivered = [await first, await anext(results)]
    await results.aclose()

    assert [r.errors for r in delivered] == [None, None]
    invoices = [r.data["invoiceAccepted"] for r in delivered]
    assert [(i["number"], i["sellerTaxCode"], i["buyerPersonalId"]) for i in invoices] == [
        (1, RESTAURANT, AN),
        (2, RESTAURANT, BINH),
    ]
    assert invoices[0]["totalPayable"] == "108000"
    assert broadcaster.subscribers(RESTAURANT) == 0
    log = graph.audit
    assert (await log.verify()).checked == 3
    [subscribed_event] = (await log.for_subject(RESTAURANT)).events
    [an_event] = (await log.for_subject(AN)).events
    [binh_event] = (await log.for_subject(BINH)).events
    assert {e.fields for e in (subscribed_event, an_event, binh_event)} == {("invoiceAccepted",)}
    assert {e.principal for e in (an_event, binh_event)} == {principal.actor}


@pytest.mark.parametrize(
    ("principal", "seller", "code"),
    [
        pytest.param(RESTAURANT_MERCHANT, HOTEL, "FORBIDDEN", id="other-merchant"),
        pytest.param(CITIZEN_AN, RESTAURANT, "FORBIDDEN", id="citizen"),
        pytest.param(
            Principal("off-7", Role.OFFICER, purpose="tax audit"),
            RESTAURANT,
            "CASE_REF_REQUIRED",
            id="officer-without-case",
        ),
    ],
)
async def test_others_are_refused_and_see_nothing(
    graph: Graph, principal: Principal, seller: str, code: str
) -> None:
    broadcaster = InvoiceBroadcaster()
    results = await subscribe(graph, broadcaster, principal, seller)

    refused = await anext(results)

    assert [e.extensions["code"] for e in refused.errors] == [code]
    assert refused.data is None
    assert broadcaster.subscribers(seller) == 0
    with pytest.raises(StopAsyncIteration):
        await anext(results)
    [event] = (await graph.audit.for_subject(seller)).events
    assert event.outcome == "denied"


async def test_a_subscriber_that_falls_behind_is_dropped(graph: Graph) -> None:
    broadcaster = WatchedBroadcaster(queue_size=2)
    results = await subscribe(graph, broadcaster, OFFICER, RESTAURANT)
    first = await subscribed(broadcaster, results)
    await broadcaster.publish(await accepted(1))
    assert (await first).errors is None

    for number in (2, 3, 4):
        await broadcaster.publish(await accepted(number))

    assert broadcaster.subscribers(RESTAURANT) == 0
    dropped = await anext(results)
    assert [e.extensions["code"] for e in dropped.errors] == ["SUBSCRIBER_TOO_SLOW"]


async def test_without_a_broadcaster_live_invoices_are_unavailable(graph: Graph) -> None:
    context = build_context(
        principal=OFFICER, upstreams=graph.upstreams, store=graph.store, audit=graph.audit
    )
    results = await graph.schema.subscribe(
        ACCEPTED, variable_values={"seller": RESTAURANT}, context_value=context
    )
    refused = await anext(results)
    assert [e.extensions["code"] for e in refused.errors] == ["SERVICE_UNAVAILABLE"]
