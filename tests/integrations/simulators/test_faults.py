from __future__ import annotations

import aiohttp
import orjson
import pytest

from integrations.simulators import Faults, RunningSimulators

BATCH = {"ids": ["001099012345"]}


@pytest.mark.parametrize(
    "knobs",
    [
        pytest.param({"error_rate": 1.5}, id="rate-above-one"),
        pytest.param({"latency_ms": -1}, id="negative-latency"),
        pytest.param({"slow": True}, id="unknown-knob"),
        pytest.param([], id="not-an-object"),
    ],
)
def test_bad_knobs_are_refused(knobs: object) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        Faults.from_json(knobs)


def test_knobs_round_trip() -> None:
    faults = Faults(latency_ms=5, rate_limit=0.5, seed=3)
    assert Faults.from_json(faults.as_json()) == faults


async def test_faults_are_set_and_read_over_http(
    sims: RunningSimulators, http: aiohttp.ClientSession
) -> None:
    url = sims.urls["water"] + "/_admin/faults"
    async with http.post(url, json={"error_rate": 1.0}) as response:
        assert response.status == 200
    async with http.get(url) as response:
        assert (await response.json())["error_rate"] == 1.0
    async with http.post(sims.urls["water"] + "/v1/contracts:batch", json=BATCH) as response:
        assert response.status == 500
    async with http.post(url, json={"nope": 1}) as response:
        assert response.status == 400


async def test_down_answers_503_and_counts_the_call(
    sims: RunningSimulators, http: aiohttp.ClientSession
) -> None:
    sims.set_faults("population", Faults(down=True))
    async with http.post(sims.urls["population"] + "/v1/people:batch", json=BATCH) as response:
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "DOWN"
    assert sims.calls("population", "POST /v1/people:batch") == 1


async def test_rate_limit_answers_429_with_retry_after(
    sims: RunningSimulators, http: aiohttp.ClientSession
) -> None:
    sims.set_faults("tax", Faults(rate_limit=2))
    async with http.post(sims.urls["tax"] + "/v1/taxpayers:batch", json=BATCH) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "2"


async def test_malformed_answers_are_broken_json_or_wrong_types(
    sims: RunningSimulators, http: aiohttp.ClientSession
) -> None:
    sims.set_faults("population", Faults(malformed_rate=1.0, seed=1))
    seen = set()
    for _ in range(12):
        async with http.post(sims.urls["population"] + "/v1/people:batch", json=BATCH) as resp:
            body = await resp.read()
        try:
            item = orjson.loads(body)["items"]["001099012345"]
        except orjson.JSONDecodeError:
            seen.add("truncated")
        else:
            assert isinstance(item["full_name"], int)
            seen.add("wrong-types")
    assert seen == {"truncated", "wrong-types"}


async def test_same_seed_misbehaves_the_same_way(
    sims: RunningSimulators, http: aiohttp.ClientSession
) -> None:
    async def statuses() -> list[int]:
        sims.set_faults("telecom", Faults(error_rate=0.5, seed=7))
        result = []
        for _ in range(16):
            url = sims.urls["telecom"] + "/v1/subscriptions:batch"
            async with http.post(url, json=BATCH) as response:
                result.append(response.status)
        return result

    first = await statuses()
    assert first == await statuses()
    assert set(first) == {200, 500}


async def test_admin_and_health_ignore_the_api_key(sims: RunningSimulators) -> None:
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(sims.urls["tax"] + "/healthz") as response:
            assert response.status == 200
        async with anonymous.post(sims.urls["tax"] + "/v1/taxpayers:batch", json=BATCH) as r:
            assert r.status == 401
