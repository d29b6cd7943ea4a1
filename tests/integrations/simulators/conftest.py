"""The six simulators on loopback ports, started once; each test gets them healthy and at zero."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from integrations.simulators import RunningSimulators, SimulatorOptions, run_simulators

API_KEY = "test-key"


@pytest_asyncio.fixture(scope="session")
async def running() -> AsyncIterator[RunningSimulators]:
    async with run_simulators(options=SimulatorOptions(api_key=API_KEY)) as sims:
        yield sims


@pytest.fixture
def sims(running: RunningSimulators) -> RunningSimulators:
    return running.reset()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"X-Api-Key": API_KEY}) as session:
        yield session
