"""Simulated agencies on loopback, and an assessor reading them through the real clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from integrations.einvoice.signature import TrustStore
from integrations.risk import RiskAssessor
from integrations.simulators import Faults, RunningSimulators, SimulatorOptions, run_simulators
from integrations.store.risk import RiskStore
from integrations.upstreams import SERVICES, Upstreams, UpstreamSettings
from tests.support.invoices import Keys

API_KEY = "risk-test-key"


@pytest_asyncio.fixture(scope="session")
async def agencies() -> AsyncIterator[RunningSimulators]:
    async with run_simulators(options=SimulatorOptions(api_key=API_KEY)) as sims:
        yield sims


@pytest.fixture
def healthy(agencies: RunningSimulators) -> RunningSimulators:
    for agency in agencies.urls:
        agencies.set_faults(agency, Faults())
    return agencies


@pytest_asyncio.fixture
async def upstreams(healthy: RunningSimulators) -> AsyncIterator[Upstreams]:
    settings = {
        name: UpstreamSettings(
            healthy.urls[name], api_key=API_KEY, attempts=1, total_timeout=0.5, cache_ttl=0
        )
        for name in SERVICES
    }
    async with Upstreams.open(settings, registry=CollectorRegistry()) as opened:
        yield opened


@pytest.fixture
def assessor(upstreams: Upstreams, intake_keys: Keys, db: None) -> RiskAssessor:
    return RiskAssessor(
        store=RiskStore(),
        population=upstreams.population,
        tax=upstreams.tax,
        revocations=TrustStore.from_files([intake_keys.anchor_file], [intake_keys.crl_file]),
    )
