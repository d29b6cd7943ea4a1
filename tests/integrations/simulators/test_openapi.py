from __future__ import annotations

import aiohttp
import pytest

from integrations.simulators import AGENCIES, CONTROLS, RunningSimulators


def _routes(agency: str) -> set[tuple[str, str]]:
    app = AGENCIES[agency](None)
    assert app[CONTROLS].agency == agency
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


@pytest.mark.parametrize("agency", sorted(AGENCIES))
async def test_document_lists_exactly_the_served_routes(
    sims: RunningSimulators, http: aiohttp.ClientSession, agency: str
) -> None:
    async with http.get(sims.urls[agency] + "/openapi.json") as response:
        document = await response.json()
    assert document["openapi"] == "3.1.0"
    documented = {(m, path) for path, ops in document["paths"].items() for m in ops}
    assert documented == _routes(agency)
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for answer in operation["responses"].values():
                for media in answer.get("content", {}).values():
                    ref = media["schema"].get("$ref", "")
                    assert ref.removeprefix("#/components/schemas/") in (
                        document["components"]["schemas"] if ref else {""}
                    ), path


async def test_runner_serves_all_six(sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    assert set(sims.urls) == set(AGENCIES) == {
        "population", "tax", "insurance", "electricity", "water", "telecom",
    }  # fmt: skip
    for agency, url in sims.urls.items():
        async with http.get(url + "/healthz") as response:
            assert await response.json() == {"status": "ok", "agency": agency}
    async with http.get(sims.urls["tax"] + "/_admin/stats") as response:
        assert (await response.json())["calls"] == {"GET /healthz": 1}
    async with http.delete(sims.urls["tax"] + "/_admin/stats") as response:
        assert response.status == 200
    assert sims.calls("tax") == 0
