"""Every committed registry change is told (so other instances can forget it), and forgetting
drops a view another process would otherwise keep for its time to live."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from integrations.store.merchants import MerchantRegistry
from integrations.store.models import MerchantStatus
from tests.support.invoices import PROVIDER, RESTAURANT, Keys

pytestmark = pytest.mark.usefixtures("db")


async def test_each_committed_change_is_told_once(intake_keys: Keys) -> None:
    registry = MerchantRegistry()
    told: list[str] = []
    registry.changed.append(told.append)
    pem = intake_keys.restaurant.certificate.public_bytes(Encoding.PEM)
    await registry.add(RESTAURANT, "Nhà hàng Sen Hồ Tây")
    await registry.set_status(RESTAURANT, MerchantStatus.SUSPENDED)
    await registry.set_status(RESTAURANT, MerchantStatus.SUSPENDED)
    await registry.pin(RESTAURANT, certificates_only=True)
    await registry.add_certificate(RESTAURANT, pem)
    await registry.grant(RESTAURANT, PROVIDER, can_sign=True, can_submit=True)
    assert told == [RESTAURANT] * 5


async def test_a_view_cached_elsewhere_holds_until_forgotten() -> None:
    reader, writer = MerchantRegistry(clock=lambda: 0.0), MerchantRegistry()
    await writer.add(RESTAURANT, "Nhà hàng Sen Hồ Tây")
    before = await reader.find(RESTAURANT, max_age=3600)
    await writer.set_status(RESTAURANT, MerchantStatus.SUSPENDED)
    stale = await reader.find(RESTAURANT, max_age=3600)
    reader.forget(RESTAURANT)
    after = await reader.find(RESTAURANT, max_age=3600)
    statuses = [view.status if view else None for view in (before, stale, after)]
    active, suspended = MerchantStatus.ACTIVE, MerchantStatus.SUSPENDED
    assert statuses == [active, active, suspended]
