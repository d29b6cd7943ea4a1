from __future__ import annotations

import aiohttp

from integrations.simulators import RunningSimulators


async def _batch(
    sims: RunningSimulators, http: aiohttp.ClientSession, resource: str, ids: list[str]
) -> dict[str, dict[str, object] | None]:
    async with http.post(sims.urls["tax"] + f"/v1/{resource}:batch", json={"ids": ids}) as r:
        assert r.status == 200
        items: dict[str, dict[str, object] | None] = (await r.json())["items"]
        return items


async def test_merchants(sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    codes = ["0100109106", "0313032391-001", "001190007777", "0401234566"]
    items = await _batch(sims, http, "taxpayers", codes)
    restaurant, branch, household, ceased = (items[c] for c in codes)
    assert restaurant is not None
    assert restaurant["kind"] == "business"
    assert branch is not None
    assert branch["parent_tax_code"] == "0313032391"
    assert household is not None
    assert household["kind"] == "household"
    assert household["personal_id"] == "001190007777"
    assert household["legacy_code"] == "8034567899"
    assert ceased is not None
    assert (ceased["status"], ceased["status_date"]) == ("CEASED", "2025-09-30")


async def test_individuals_and_legacy_codes(
    sims: RunningSimulators, http: aiohttp.ClientSession
) -> None:
    people = await _batch(sims, http, "taxpayers", ["001099012345", "031075001234"])
    an, hai = people["001099012345"], people["031075001234"]
    assert an is not None
    assert (an["name"], an["legacy_code"]) == ("Nguyễn Văn An", "8012345677")
    assert hai is not None
    assert (hai["status"], hai["status_date"]) == ("SUSPENDED", "2025-10-01")
    legacy = await _batch(sims, http, "legacy-codes", ["8012345677", "0100109106", "123"])
    assert legacy == {
        "8012345677": {"legacy_code": "8012345677", "personal_id": "001099012345"},
        "0100109106": None,
        "123": None,
    }


async def test_synthetic_business_and_branch(
    sims: RunningSimulators, http: aiohttp.ClientSession
) -> None:
    items = await _batch(sims, http, "taxpayers", ["0309612872", "0309612872-002", "0100109107"])
    business, branch = items["0309612872"], items["0309612872-002"]
    assert business is not None
    assert branch is not None
    assert branch["name"] == f"{business['name']} - Chi nhánh 002"
    assert items["0100109107"] is None
