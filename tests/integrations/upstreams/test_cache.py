from __future__ import annotations

import asyncio
import gc

from integrations.simulators import RunningSimulators
from tests.integrations.upstreams.conftest import OpenUpstreams

BATCH = "POST /v1/people:batch"


async def test_cached_for_the_same_scope_only(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    upstreams = await open_upstreams(cache_ttl=60)
    first = await upstreams.population.people(["001099012345"], scope="citizen:A")
    again = await upstreams.population.people(["001099012345"], scope="citizen:A")
    assert first == again
    assert sims.calls("population", BATCH) == 1
    other = await upstreams.population.people(["001099012345"], scope="citizen:B")
    assert other == first
    assert sims.calls("population", BATCH) == 2


async def test_only_misses_are_fetched(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    upstreams = await open_upstreams(cache_ttl=60)
    await upstreams.population.people(["001099012345"], scope="s")
    both = await upstreams.population.people(["001099012345", "079301000123"], scope="s")
    assert set(both) == {"001099012345", "079301000123"}
    assert sims.controls["population"].stats.snapshot() == {BATCH: 2}
    assert upstreams.services["population"].cache.__len__() == 2


async def test_entries_expire(sims: RunningSimulators, open_upstreams: OpenUpstreams) -> None:
    upstreams = await open_upstreams(cache_ttl=0.03)
    await upstreams.population.people(["001099012345"], scope="s")
    await asyncio.sleep(0.05)
    await upstreams.population.people(["001099012345"], scope="s")
    assert sims.calls("population", BATCH) == 2


async def test_oldest_entries_make_room_and_scopes_can_be_forgotten(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    upstreams = await open_upstreams(cache_ttl=60, cache_max_entries=2)
    cache = upstreams.services["population"].cache
    await upstreams.population.people(["001099012345", "079301000123"], scope="a")
    await upstreams.population.people(["048085004321"], scope="b")
    assert len(cache) == 2
    await upstreams.population.people(["079301000123"], scope="a")  # still cached
    assert sims.calls("population", BATCH) == 2
    upstreams.forget("a")
    assert len(cache) == 1
    await upstreams.population.people(["079301000123"], scope="a")
    assert sims.calls("population", BATCH) == 3


async def test_a_full_cache_leaves_the_collector_nothing_to_walk(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    """Held as objects, every cached record was walked by each full collection, which slowed
    every request as the cache filled; held as bytes, none is."""
    upstreams = await open_upstreams(cache_ttl=60)
    warm, ids = ([f"001099{n:06d}" for n in range(k, k + 200)] for k in (1, 201))
    await upstreams.electricity.contracts(warm, scope="s")
    gc.collect()
    before = len(gc.get_objects())
    first = await upstreams.electricity.contracts(ids, scope="s")
    assert sum(len(held or ()) for held in first.values()) > 100
    del first
    gc.collect()
    assert len(gc.get_objects()) - before < 20
    again = await upstreams.electricity.contracts(ids, scope="s")
    assert sims.calls("electricity", "POST /v1/contracts:batch") == 2
    assert again == await upstreams.electricity.contracts(ids, scope="s")
