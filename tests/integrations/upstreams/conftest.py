"""Real simulators on loopback and a factory of upstream clients pointed at them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import pytest_asyncio

from integrations.simulators import RunningSimulators, SimulatorOptions, run_simulators
from integrations.upstreams import Clock, Upstreams, UpstreamSettings
from tests.support.upstreams import open_on

API_KEY = "upstream-test-key"
# Short back-offs so that every failure path finishes in tens of milliseconds. Timeouts stay
# long: a loaded machine can stall a healthy answer, and a retry would break the call counts;
# the tests about hanging agencies set their own.
FAST = UpstreamSettings(
    "http://unset",
    api_key=API_KEY,
    connect_timeout=5.0,
    total_timeout=5.0,
    deadline=10.0,
    backoff_base=0.001,
    backoff_cap=0.005,
    retry_after_cap=0.2,
    breaker_open_seconds=0.05,
    cache_ttl=0,
)


@dataclass
class RecordingSleep:
    """Sleeps for real and remembers each requested delay; ``then`` runs before sleeping."""

    delays: list[float] = field(default_factory=list)
    then: Callable[[], None] | None = None

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.then is not None:
            self.then()
        await asyncio.sleep(seconds)


OpenUpstreams = Callable[..., Awaitable[Upstreams]]


@pytest_asyncio.fixture(scope="session")
async def running() -> AsyncIterator[RunningSimulators]:
    async with run_simulators(options=SimulatorOptions(api_key=API_KEY)) as sims:
        yield sims


@pytest.fixture
def sims(running: RunningSimulators) -> RunningSimulators:
    return running.reset()


@pytest_asyncio.fixture
async def open_upstreams(sims: RunningSimulators) -> AsyncIterator[OpenUpstreams]:
    """Opens ``Upstreams`` on the simulators; keyword overrides apply to every service."""
    opened: list[Upstreams] = []

    async def open_(
        *, clock: Clock | None = None, urls: dict[str, str] | None = None, **overrides: Any
    ) -> Upstreams:
        upstreams = open_on({**sims.urls, **(urls or {})}, replace(FAST, **overrides), clock=clock)
        opened.append(upstreams)
        return upstreams

    yield open_
    for upstreams in opened:
        await upstreams.close()
