"""Each simulator fault becomes the right UpstreamError, after the right number of calls."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import aiohttp
import pytest

from integrations.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from integrations.simulators import Faults, RunningSimulators
from integrations.upstreams import Clock
from integrations.upstreams.failures import map_failures, raise_for_status, retry_after
from tests.integrations.upstreams.conftest import OpenUpstreams, RecordingSleep

IDS = ["001099012345"]
BATCH = "POST /v1/people:batch"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_refused_connection_is_unavailable(open_upstreams: OpenUpstreams) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    upstreams = await open_upstreams(urls={"population": url}, attempts=1)
    with pytest.raises(UpstreamUnavailable) as caught:
        await upstreams.population.people(IDS, scope="s")
    assert caught.value.service == "population"
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)


async def test_agency_down_is_unavailable_after_retries(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(down=True))
    upstreams = await open_upstreams(attempts=3)
    with pytest.raises(UpstreamUnavailable, match="503"):
        await upstreams.population.people(IDS, scope="s")
    assert sims.calls("population", BATCH) == 3


async def test_slow_agency_times_out_within_bounds(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("tax", Faults(latency_ms=300))
    upstreams = await open_upstreams(total_timeout=0.03, attempts=2)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as caught:
        await upstreams.tax.taxpayers(["0100109106"], scope="s")
    # A safety bound, not a performance assertion: two 30 ms attempts, far below 1 s.
    assert time.monotonic() - started < 2 * 0.03 + 1
    assert caught.value.service == "tax"
    assert sims.calls("tax", "POST /v1/taxpayers:batch") == 2


async def test_hanging_agency_is_cut_by_the_deadline(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("water", Faults(hang_rate=1.0))
    upstreams = await open_upstreams(total_timeout=5, deadline=0.05)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="deadline"):
        await upstreams.water.contracts(IDS, scope="s")
    assert time.monotonic() - started < 0.05 + 1


async def test_429_is_retried_after_retry_after_then_fails(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(rate_limit=0.02))
    sleep = RecordingSleep()
    upstreams = await open_upstreams(attempts=3, clock=Clock(sleep=sleep))
    with pytest.raises(UpstreamRateLimited) as caught:
        await upstreams.population.people(IDS, scope="s")
    assert caught.value.retry_after == pytest.approx(0.02)
    assert sleep.delays == [pytest.approx(0.02)] * 2
    assert sims.calls("population", BATCH) == 3


async def test_429_that_lifts_is_answered(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(rate_limit=0.01))
    sleep = RecordingSleep(then=lambda: sims.set_faults("population", Faults()))
    upstreams = await open_upstreams(attempts=3, clock=Clock(sleep=sleep))
    people = await upstreams.population.people(IDS, scope="s")
    assert people["001099012345"] is not None
    assert sleep.delays == [pytest.approx(0.01)]
    assert sims.calls("population", BATCH) == 2


async def test_retry_after_beyond_the_cap_fails_at_once(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(rate_limit=30))
    upstreams = await open_upstreams(attempts=3, retry_after_cap=1)
    with pytest.raises(UpstreamRateLimited):
        await upstreams.population.people(IDS, scope="s")
    assert sims.calls("population", BATCH) == 1


@pytest.mark.parametrize("seed", [pytest.param(0, id="seed-0"), pytest.param(1, id="seed-1")])
async def test_malformed_answers_are_bad_responses(
    sims: RunningSimulators, open_upstreams: OpenUpstreams, seed: int
) -> None:
    sims.set_faults("population", Faults(malformed_rate=1.0, seed=seed))
    upstreams = await open_upstreams(attempts=3)
    for _ in range(4):
        with pytest.raises(UpstreamBadResponse):
            await upstreams.population.people(IDS, scope="s")
    # Never retried: the same request would get the same kind of answer.
    assert sims.calls("population", BATCH) == 4


async def test_wrong_api_key_is_not_retried(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    upstreams = await open_upstreams(api_key="wrong", attempts=3)
    with pytest.raises(UpstreamBadResponse, match="401"):
        await upstreams.telecom.subscriptions(IDS, scope="s")
    assert sims.calls("telecom") == 1


async def test_transient_errors_are_retried(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(error_rate=0.5, seed=3))
    upstreams = await open_upstreams(attempts=5, retry_budget_min=100)
    for _ in range(10):
        assert (await upstreams.population.people(IDS, scope="s"))["001099012345"] is not None
    assert sims.calls("population", BATCH) > 10


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        pytest.param(TimeoutError(), UpstreamTimeout, id="asyncio-timeout"),
        pytest.param(aiohttp.ServerTimeoutError(), UpstreamTimeout, id="server-timeout"),
        pytest.param(aiohttp.ServerDisconnectedError(), UpstreamUnavailable, id="disconnected"),
        pytest.param(ConnectionResetError(), UpstreamUnavailable, id="reset"),
        pytest.param(aiohttp.ClientPayloadError("cut"), UpstreamBadResponse, id="payload"),
        pytest.param(aiohttp.InvalidURL("x"), UpstreamBadResponse, id="other-client-error"),
    ],
)
def test_foreign_exceptions_are_mapped_and_chained(
    raised: Exception, expected: type[UpstreamError]
) -> None:
    with pytest.raises(expected) as caught, map_failures("tax"):
        raise raised
    assert caught.value.service == "tax"
    assert caught.value.__cause__ is raised


@pytest.mark.parametrize(
    ("status", "expected"),
    [(429, UpstreamRateLimited), (500, UpstreamUnavailable), (503, UpstreamUnavailable),
     (400, UpstreamBadResponse), (404, UpstreamBadResponse)],
)  # fmt: skip
def test_statuses_are_mapped(status: int, expected: type[UpstreamError]) -> None:
    with pytest.raises(expected):
        raise_for_status("tax", status, {"Retry-After": "3"})
    raise_for_status("tax", 200, {})


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after("2") == 2.0
    assert retry_after("0.25") == 0.25
    assert retry_after("Thu, 01 Jan 2026 00:00:07 GMT", now=now) == 7.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


async def test_a_retry_after_longer_than_the_budget_left_ends_at_once_as_rate_limited(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    sims.set_faults("population", Faults(rate_limit=0.5))
    sleep = RecordingSleep()
    upstreams = await open_upstreams(
        attempts=3, retry_after_cap=5, deadline=0.3, clock=Clock(sleep=sleep)
    )
    with pytest.raises(UpstreamRateLimited):
        await upstreams.population.people(IDS, scope="s")
    assert sleep.delays == []
    assert sims.calls("population", BATCH) == 1
