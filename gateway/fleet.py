"""Joining an instance to its fleet: the event bus, and which change tells the others what.

- An accepted invoice reaches the ``invoiceAccepted`` subscribers of every instance
  (``AcceptanceRelay``): the accepting one offers it at once, the others read it back.
- A merchant registered or changed (status, pinning, a certificate, a provider grant) makes
  every instance drop its cached view of that merchant (``merchant.changed``).
- A consent revoked makes every instance drop the agency records the app read under it
  (``scope.forgotten``). The consent itself is never cached: each decision reads it from the
  database, so a revocation holds on every instance from the next request on.

After a gap in the bus (Redis reconnected), each instance drops every merchant it cached.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from gateway.config import Settings
from integrations.bus import Bus, MemoryBus, RedisBus
from integrations.einvoice.broadcast import AcceptanceRelay, InvoiceBroadcaster
from integrations.einvoice.pipeline import Intake
from integrations.store.merchants import MerchantRegistry
from integrations.upstreams import Upstreams

log = logging.getLogger("gateway.fleet")

MERCHANT_CHANGED = "merchant.changed"
SCOPE_FORGOTTEN = "scope.forgotten"


def event_bus(settings: Settings) -> Bus:
    """Redis pub/sub when Redis is configured; otherwise this process is the whole fleet."""
    if settings.redis_url:
        return RedisBus(settings.redis_url, channel=settings.bus_channel)
    if settings.workers > 1:
        log.warning(
            "several workers without GATEWAY_REDIS_URL: live invoices and cache changes stay "
            "in the worker where they happen"
        )
    return MemoryBus()


def join_fleet(
    bus: Bus, *, intake: Intake, broadcaster: InvoiceBroadcaster, upstreams: Upstreams
) -> None:
    """Publish this instance's changes on ``bus`` and act on the others'."""
    relay = AcceptanceRelay(broadcaster, bus, read=intake.store.get)
    intake.events.accepted.append(relay.tell)
    registry = intake.registry

    async def forget_merchant(data: Mapping[str, str]) -> None:
        registry.forget(data.get("taxCode", ""))

    async def drop_scope(data: Mapping[str, str]) -> None:
        upstreams.drop(data.get("scope", ""))

    tell_merchant_changes(bus, registry)
    bus.subscribe(MERCHANT_CHANGED, forget_merchant)
    bus.after_gap(registry.forget)
    upstreams.forgotten.append(lambda scope: bus.publish(SCOPE_FORGOTTEN, {"scope": scope}))
    bus.subscribe(SCOPE_FORGOTTEN, drop_scope)


def tell_merchant_changes(bus: Bus, registry: MerchantRegistry) -> None:
    registry.changed.append(lambda tax_code: bus.publish(MERCHANT_CHANGED, {"taxCode": tax_code}))


@asynccontextmanager
async def fleet_registry(settings: Settings) -> AsyncIterator[MerchantRegistry]:
    """A registry for a process outside the fleet (``gateway merchants``): with Redis, each
    change it commits is published, and sent before this ends, so running instances drop
    their cached view as they do for the admin routes."""
    registry = MerchantRegistry()
    if not settings.redis_url:
        yield registry
        return
    bus = RedisBus(settings.redis_url, channel=settings.bus_channel)
    tell_merchant_changes(bus, registry)
    await bus.start()
    try:
        yield registry
    finally:
        await bus.close()
