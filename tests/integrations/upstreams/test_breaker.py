from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry

from integrations.errors import UpstreamUnavailable
from integrations.simulators import Faults, RunningSimulators
from integrations.upstreams import SERVICES, BreakerState, CircuitOpen, Upstreams
from integrations.upstreams.service import Clock
from tests.integrations.upstreams.conftest import FAST, OpenUpstreams
from tests.support.upstreams import ManualTime

IDS = ["001099012345"]


async def test_breaker_opens_fails_fast_half_opens_and_closes(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(error_rate=1.0))
    time = ManualTime()
    upstreams = await open_upstreams(
        clock=Clock(monotonic=time), attempts=1, breaker_failures=3, breaker_open_seconds=60
    )
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            await upstreams.population.people(IDS, scope="s")
    assert upstreams.health()["population"].breaker is BreakerState.OPEN
    assert not upstreams.health()["population"].ready

    for _ in range(5):
        with pytest.raises(CircuitOpen):
            await upstreams.population.people(IDS, scope="s")
    assert sims.calls("population") == 3

    time.advance(59)
    assert upstreams.health()["population"].breaker is BreakerState.OPEN
    time.advance(1)
    assert upstreams.health()["population"].breaker is BreakerState.HALF_OPEN
    sims.set_faults("population", Faults())
    assert (await upstreams.population.people(IDS, scope="s"))["001099012345"] is not None
    assert upstreams.health()["population"].breaker is BreakerState.CLOSED
    assert sims.calls("population") == 4


async def test_failed_probe_opens_again(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("tax", Faults(down=True))
    time = ManualTime()
    upstreams = await open_upstreams(
        clock=Clock(monotonic=time), attempts=1, breaker_failures=1, breaker_open_seconds=60
    )
    with pytest.raises(UpstreamUnavailable):
        await upstreams.tax.taxpayers(["0100109106"], scope="s")
    time.advance(60)
    with pytest.raises(UpstreamUnavailable) as probe:
        await upstreams.tax.taxpayers(["0100109106"], scope="s")
    assert not isinstance(probe.value, CircuitOpen)
    assert upstreams.health()["tax"].breaker is BreakerState.OPEN
    assert sims.calls("tax") == 2


async def test_open_circuit_stops_retries_and_is_counted(sims: RunningSimulators) -> None:
    sims.set_faults("water", Faults(error_rate=1.0))
    registry = CollectorRegistry()
    base = replace(FAST, attempts=4, breaker_failures=2, breaker_open_seconds=60)
    settings = {name: replace(base, base_url=sims.urls[name]) for name in SERVICES}
    async with Upstreams.open(settings, registry=registry) as upstreams:
        with pytest.raises(CircuitOpen):
            await upstreams.water.contracts(IDS, scope="s")
    # The second failure opens the circuit, so the third attempt never leaves the gateway.
    assert sims.calls("water") == 2
    sample = registry.get_sample_value
    assert sample("gateway_upstream_breaker_state", {"service": "water"}) == 2
    assert sample("gateway_upstream_retries_total", {"service": "water"}) == 2
    calls = {"service": "water", "outcome": "UPSTREAM_UNAVAILABLE"}
    assert sample("gateway_upstream_calls_total", calls) == 2
    errors = {"service": "water", "code": "UPSTREAM_UNAVAILABLE"}
    assert sample("gateway_upstream_errors_total", errors) == 1
