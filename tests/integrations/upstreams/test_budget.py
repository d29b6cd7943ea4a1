from __future__ import annotations

import pytest

from integrations.errors import UpstreamUnavailable
from integrations.simulators import Faults, RunningSimulators
from integrations.upstreams import RetryBudget
from tests.integrations.upstreams.conftest import OpenUpstreams


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_budget_allows_the_minimum_plus_a_share_of_calls() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, min_retries=2, window=10, clock=clock)
    for _ in range(10):
        budget.record_call()
    spent = sum(budget.try_spend() for _ in range(10))
    assert spent == 2 + 2
    clock.now = 10.5
    assert budget.try_spend()  # the window moved on: the minimum is available again


@pytest.mark.parametrize("attempts", [2, 5])
async def test_budget_stops_a_retry_storm(
    sims: RunningSimulators, open_upstreams: OpenUpstreams, attempts: int
) -> None:
    sims.set_faults("population", Faults(error_rate=1.0))
    ratio, minimum, requests = 0.2, 3, 40
    upstreams = await open_upstreams(
        attempts=attempts,
        retry_budget_ratio=ratio,
        retry_budget_min=minimum,
        breaker_failures=10_000,
    )
    for _ in range(requests):
        with pytest.raises(UpstreamUnavailable):
            await upstreams.population.people(["001099012345"], scope="s")
    calls = sims.calls("population", "POST /v1/people:batch")
    assert requests < calls <= requests * (1 + ratio) + minimum
