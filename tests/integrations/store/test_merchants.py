from __future__ import annotations

import pytest

from integrations.store.merchants import MerchantNotFound, MerchantRegistry, RegistryError
from integrations.store.models import MerchantStatus

pytestmark = pytest.mark.usefixtures("db")


async def test_add_normalises_the_tax_code_and_refuses_a_second_time() -> None:
    registry = MerchantRegistry()
    view = await registry.add("0313032391001", "Siêu thị Co.op chi nhánh 1", kind="supermarket")
    assert view.tax_code == "0313032391-001"
    assert view.is_active
    with pytest.raises(RegistryError, match="already registered"):
        await registry.add("0313032391-001", "again")


async def test_bad_tax_code_is_refused_with_the_reason() -> None:
    with pytest.raises(RegistryError, match="check digit"):
        await MerchantRegistry().add("0100109107", "Nhà hàng")


async def test_status_and_provider_grants() -> None:
    registry = MerchantRegistry()
    await registry.add("0100109106", "Nhà hàng Phở Hà Nội", kind="restaurant")
    await registry.grant("0100109106", "0309612872", can_sign=True, can_submit=False)
    view = await registry.set_status("0100109106", MerchantStatus.SUSPENDED)
    assert not view.is_active
    assert view.may_sign("0309612872")
    assert not view.may_submit("0309612872")
    assert view.may_submit("0100109106")
    assert not view.may_sign("0106324653")


async def test_unknown_merchant() -> None:
    with pytest.raises(MerchantNotFound):
        await MerchantRegistry().get("0319303270")
    assert await MerchantRegistry().find("0319303270") is None


async def test_cached_reads_see_changes_made_here_at_once_and_others_after_max_age() -> None:
    now = [100.0]
    registry = MerchantRegistry(clock=lambda: now[0])
    elsewhere = MerchantRegistry()
    await registry.add("0100109106", "Nhà hàng Phở Hà Nội")
    assert (await registry.find("0100109106", max_age=5)).is_active
    await registry.set_status("0100109106", MerchantStatus.SUSPENDED)
    assert not (await registry.find("0100109106", max_age=5)).is_active
    await elsewhere.set_status("0100109106", MerchantStatus.ACTIVE)
    assert not (await registry.find("0100109106", max_age=5)).is_active
    now[0] += 6
    assert (await registry.find("0100109106", max_age=5)).is_active
