"""`invoiceAccepted` over graphql-transport-ws on the real server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from gateway.app import create_app
from gateway.config import Settings
from integrations.access.principal import Role
from integrations.store.database import open_database
from integrations.store.merchants import MerchantRegistry
from tests.support.invoices import RESTAURANT, Keys, draft, intake_ready, signed
from tests.support.servers import live_server
from tests.support.subscriptions import subscribed
from tests.support.tokens import token

SUBSCRIPTION = (
    "subscription($s: String!) { invoiceAccepted(sellerTaxCode: $s) { number sellerTaxCode } }"
)


@pytest.fixture
def intake_settings(settings: Settings, intake_keys: Keys) -> Settings:
    return intake_ready(settings, intake_keys)


def merchant(settings: Settings, ttl: timedelta = timedelta(hours=1)) -> str:
    return token(settings, Role.MERCHANT, RESTAURANT, tax_code=RESTAURANT, ttl=ttl)


async def test_a_merchant_hears_of_its_accepted_invoice(
    intake_settings: Settings, intake_keys: Keys
) -> None:
    async with open_database(intake_settings.resolved_database_url):
        await MerchantRegistry().add(RESTAURANT, "Nhà hàng Sen Hồ Tây")
    bearer = {"Authorization": f"Bearer {merchant(intake_settings)}"}
    async with (
        live_server(create_app(intake_settings)) as base,
        subscribed(base, bearer, SUBSCRIPTION, s=RESTAURANT) as ws,
        aiohttp.ClientSession() as http,
    ):
        message, sent = await _submit_until_heard(http, base, bearer, ws, intake_keys)
    assert message["type"] == "next", message
    heard = message["payload"]["data"]["invoiceAccepted"]
    assert heard["sellerTaxCode"] == RESTAURANT
    assert heard["number"] in sent


async def _submit_until_heard(
    http: aiohttp.ClientSession,
    base: str,
    bearer: dict[str, str],
    ws: aiohttp.ClientWebSocketResponse,
    keys: Keys,
) -> tuple[dict[str, Any], list[int]]:
    """Submit invoices until the socket hears one: nothing acknowledges a subscription, so an
    invoice accepted before the server has it in place is, by design, never delivered."""
    headers = {**bearer, "Content-Type": "application/xml"}
    sent: list[int] = []
    for number in range(41, 51):
        body = signed(draft(number), keys.restaurant)
        async with http.post(f"{base}/v1/invoices", data=body, headers=headers) as response:
            assert response.status == 201
        sent.append(number)
        try:
            return await ws.receive_json(timeout=3), sent
        except TimeoutError:
            continue
    raise AssertionError(f"no invoice heard of after {len(sent)} accepted")


async def test_a_subscription_ends_when_its_token_expires(intake_settings: Settings) -> None:
    """A browser's subscription: the token in connection_init, the socket closed at expiry."""
    settings = intake_settings.with_values(jwt_leeway_seconds=0)
    short = merchant(settings, ttl=timedelta(seconds=3))
    async with (
        live_server(create_app(settings)) as base,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base}/graphql", protocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {short}"}}
        )
        assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"s": RESTAURANT}},
            }
        )
        closed = await ws.receive(timeout=15)
    assert closed.type is aiohttp.WSMsgType.CLOSE, closed
    assert (closed.data, closed.extra.split(":")[1].strip()) == (4401, "AUTH_EXPIRED")
