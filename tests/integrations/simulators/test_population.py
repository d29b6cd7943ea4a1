from __future__ import annotations

import aiohttp
import pytest

from integrations.simulators import RunningSimulators, known, synthetic


async def test_known_person_by_id(sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    async with http.get(sims.urls["population"] + "/v1/people/079301000123") as response:
        assert response.status == 200
        person = await response.json()
    assert person == {
        "id_number": "079301000123",
        "full_name": "Trần Thị Bình",
        "sex": "female",
        "date_of_birth": "2001-07-02",
        "province_code": "079",
        "place_of_birth": "TP Hồ Chí Minh",
        "address": "45 Nguyễn Huệ, Phường Sài Gòn, TP Hồ Chí Minh",
    }


@pytest.mark.parametrize(
    ("id_number", "status", "code"),
    [
        pytest.param("003099012345", 400, "INVALID_ID", id="bad-province"),
        pytest.param("00109901234", 400, "INVALID_ID", id="eleven-digits"),
        pytest.param(known.UNREGISTERED_PERSON, 404, "NOT_REGISTERED", id="unregistered"),
    ],
)
async def test_invalid_and_unknown_ids(
    sims: RunningSimulators, http: aiohttp.ClientSession, id_number: str, status: int, code: str
) -> None:
    async with http.get(sims.urls["population"] + f"/v1/people/{id_number}") as response:
        assert response.status == status
        assert (await response.json())["error"]["code"] == code


async def test_batch_answers_every_id(sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    ids = [
        *known.PEOPLE,
        known.UNREGISTERED_PERSON,
        "003099012345",
        *(f"048190{n:06d}" for n in range(200)),
    ]
    url = sims.urls["population"] + "/v1/people:batch"
    async with http.post(url, json={"ids": ids}) as response:
        body = await response.json()
    assert set(body["items"]) == set(ids)
    assert body["invalid"] == ["003099012345"]
    assert body["items"][known.UNREGISTERED_PERSON] is None
    assert body["items"]["001099012345"]["full_name"] == "Nguyễn Văn An"
    synthetic_found = [i for i in ids[-200:] if body["items"][i] is not None]
    # About 5 % of unknown IDs are deterministically not registered.
    assert 170 < len(synthetic_found) < 200
    for id_number in synthetic_found:
        assert body["items"][id_number]["full_name"] == synthetic.person(id_number).full_name
    assert sims.calls("population") == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"ids": ["001099012345"] * 501}, 413, id="too-many"),
        pytest.param({"ids": [1, 2]}, 400, id="not-strings"),
        pytest.param({"id": "x"}, 400, id="no-ids"),
    ],
)
async def test_batch_refuses_bad_bodies(
    sims: RunningSimulators, http: aiohttp.ClientSession, body: object, status: int
) -> None:
    async with http.post(sims.urls["population"] + "/v1/people:batch", json=body) as response:
        assert response.status == status
