from __future__ import annotations

import asyncio

from integrations.simulators import Faults, RunningSimulators
from tests.integrations.upstreams.conftest import OpenUpstreams

IDS = ["001099012345", "079301000123"]


async def test_identical_concurrent_calls_share_one_request(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(latency_ms=30))
    upstreams = await open_upstreams()
    answers = await asyncio.gather(
        *(upstreams.population.people(IDS if n % 2 else IDS[::-1], scope="s") for n in range(20))
    )
    assert all(a == answers[0] for a in answers)
    assert sims.calls("population", "POST /v1/people:batch") == 1


async def test_other_scopes_do_not_share(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(latency_ms=20))
    upstreams = await open_upstreams()
    await asyncio.gather(
        upstreams.population.people(IDS, scope="citizen:a"),
        upstreams.population.people(IDS, scope="citizen:b"),
    )
    assert sims.calls("population", "POST /v1/people:batch") == 2


async def test_a_caller_giving_up_does_not_cancel_the_others(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(latency_ms=40))
    upstreams = await open_upstreams()
    impatient = asyncio.ensure_future(upstreams.population.people(IDS, scope="s"))
    patient = asyncio.ensure_future(upstreams.population.people(IDS, scope="s"))
    await asyncio.sleep(0.01)
    impatient.cancel()
    assert (await patient)["001099012345"] is not None
    assert impatient.cancelled()
    assert sims.calls("population") == 1
