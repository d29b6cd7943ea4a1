"""Redis down: the intake still accepts and answers, and the instance's own subscribers hear."""

from __future__ import annotations

import asyncio

from gateway.app import create_app
from gateway.config import Settings
from integrations.access.principal import Role
from integrations.store.database import open_database
from integrations.store.merchants import MerchantRegistry
from tests.support.invoices import RESTAURANT, Keys, draft, intake_ready, signed
from tests.support.servers import in_process_instance
from tests.support.tokens import token
from tests.support.waiting import until

NO_REDIS = "redis://127.0.0.1:1/0"


async def test_the_intake_accepts_without_redis(settings: Settings, intake_keys: Keys) -> None:
    down = intake_ready(settings, intake_keys).with_values(redis_url=NO_REDIS)
    async with open_database(down.resolved_database_url):
        await MerchantRegistry().add(RESTAURANT, "Nhà hàng Sen Hồ Tây")
    merchant = token(down, Role.MERCHANT, RESTAURANT, tax_code=RESTAURANT)
    headers = {"Authorization": f"Bearer {merchant}", "Content-Type": "application/xml"}
    async with in_process_instance(create_app(down)) as (client, state):
        services = state["services"]
        async with services.broadcaster.subscribe(RESTAURANT) as stream:
            body = signed(draft(7), intake_keys.restaurant)
            accepted = await client.post("/v1/invoices", content=body, headers=headers)
            async with asyncio.timeout(30):
                heard = await anext(stream)
        await until(lambda: services.bus.lost == 1)
        ready = await client.get("/readyz")
    assert accepted.status_code == 201, accepted.text
    assert heard.key.number == 7
    assert ready.status_code == 200
    assert ready.json()["checks"]["bus"] == "redis not subscribed; 0 heard, 1 lost, 0 dropped"
