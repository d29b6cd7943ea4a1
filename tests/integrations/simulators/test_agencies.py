"""Insurance, utilities and telecom: shapes, money as decimal strings, stable answers."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from integrations.simulators import RunningSimulators
from integrations.simulators.billing import recent_periods, tiered_amount
from integrations.simulators.electricity import TARIFF

IDS = ["001099012345", "079301000123", "092303000456"]


async def _items(
    sims: RunningSimulators, http: aiohttp.ClientSession, agency: str, resource: str
) -> dict[str, dict[str, object]]:
    url = sims.urls[agency] + f"/v1/{resource}:batch"
    async with http.post(url, json={"ids": IDS}) as response:
        items: dict[str, dict[str, object]] = (await response.json())["items"]
    async with http.post(url, json={"ids": IDS}) as response:
        assert (await response.json())["items"] == items
    return items


async def test_health_cards(sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    items = await _items(sims, http, "insurance", "cards")
    card = items["001099012345"]
    assert card["full_name"] == "Nguyễn Văn An"
    assert str(card["card_number"]).endswith("099012345")
    assert str(card["valid_from"]) < str(card["valid_to"])


async def test_social_insurance(sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    items = await _items(sims, http, "insurance", "social")
    for item in items.values():
        assert isinstance(item["contribution_months"], int)


@pytest.mark.parametrize("agency", ["electricity", "water"])
async def test_utility_bills_are_decimal_strings(
    sims: RunningSimulators, http: aiohttp.ClientSession, agency: str
) -> None:
    items = await _items(sims, http, agency, "contracts")
    contracts = [c for item in items.values() for c in item["contracts"]]  # type: ignore[attr-defined]
    assert contracts
    for contract in contracts:
        assert [b["period"] for b in contract["bills"]] == recent_periods(3)
        for bill in contract["bills"]:
            assert Decimal(bill["amount"]) == Decimal(bill["amount"]).to_integral_value()


def test_tiered_tariff() -> None:
    # 50 x 1984 + 50 x 2050 + 20 x 2380 = 249,300; plus 8 % VAT = 269,244.
    assert tiered_amount(120, TARIFF.tiers, TARIFF.vat) == Decimal("269244")
    assert tiered_amount(0, TARIFF.tiers, TARIFF.vat) == Decimal(0)


async def test_telecom(sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    items = await _items(sims, http, "telecom", "subscriptions")
    for item in items.values():
        for sub in item["subscriptions"]:  # type: ignore[attr-defined]
            assert len(sub["msisdn"]) == 10
            assert sub["msisdn"].startswith("09")
