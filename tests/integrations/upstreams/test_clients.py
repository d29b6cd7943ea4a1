"""Every agency client against its simulator: typed values, one call per batch."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry

from integrations.simulators import RunningSimulators, known
from integrations.upstreams import (
    SERVICES,
    BreakerState,
    ElectricityContract,
    Person,
    Sex,
    TaxpayerKind,
    TaxStatus,
    Upstreams,
    UpstreamSettings,
    WaterContract,
)
from tests.integrations.upstreams.conftest import OpenUpstreams

PEOPLE = list(known.PEOPLE)


async def test_people_are_decoded(sims: RunningSimulators, open_upstreams: OpenUpstreams) -> None:
    upstreams = await open_upstreams()
    ids = [*PEOPLE, known.UNREGISTERED_PERSON, "003099012345", PEOPLE[0]]
    people = await upstreams.population.people(ids, scope="officer:1")
    assert list(people) == list(dict.fromkeys(ids))
    assert people["001099012345"] == Person(
        id_number="001099012345",
        full_name="Nguyễn Văn An",
        sex=Sex.MALE,
        date_of_birth=date(1999, 3, 14),
        province_code="001",
        place_of_birth="Hà Nội",
        address="12 Lý Thường Kiệt, Phường Cửa Nam, Hà Nội",
    )
    assert people[known.UNREGISTERED_PERSON] is None
    assert people["003099012345"] is None
    assert sims.calls("population") == 1


async def test_big_batches_are_chunked(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    upstreams = await open_upstreams(max_batch=500)
    ids = [f"001099{n:06d}" for n in range(1200)]
    people = await upstreams.population.people(ids, scope="officer:1")
    assert len(people) == 1200
    assert sims.calls("population", "POST /v1/people:batch") == 3


async def test_taxpayers_and_legacy_codes(open_upstreams: OpenUpstreams) -> None:
    upstreams = await open_upstreams()
    found = await upstreams.tax.taxpayers(
        ["0401234566", "001190007777", "0313032391-001"], scope="officer:1"
    )
    ceased, household, branch = found.values()
    assert ceased is not None
    assert (ceased.status, ceased.status_date) == (TaxStatus.CEASED, date(2025, 9, 30))
    assert household is not None
    assert household.kind is TaxpayerKind.HOUSEHOLD
    assert branch is not None
    assert branch.parent_tax_code == "0313032391"
    legacy = await upstreams.tax.personal_ids_for_legacy(["8012345677", "0100109106"], scope="s")
    assert legacy == {"8012345677": "001099012345", "0100109106": None}


async def test_insurance(open_upstreams: OpenUpstreams) -> None:
    upstreams = await open_upstreams()
    cards = await upstreams.insurance.cards(PEOPLE, scope="citizen:001099012345")
    card = cards["001099012345"]
    assert card is not None
    assert card.valid_from < card.valid_to
    social = await upstreams.insurance.social(PEOPLE, scope="citizen:001099012345")
    assert all(s is not None and s.contribution_months >= 0 for s in social.values())


@pytest.mark.parametrize(
    ("service", "kind"),
    [("electricity", ElectricityContract), ("water", WaterContract)],
)
async def test_utility_contracts(open_upstreams: OpenUpstreams, service: str, kind: type) -> None:
    upstreams = await open_upstreams()
    client = getattr(upstreams, service)
    contracts = await client.contracts(PEOPLE, scope="officer:1")
    held = [c for found in contracts.values() for c in found]
    assert held
    assert all(isinstance(c, kind) for c in held)
    assert all(isinstance(b.amount, Decimal) and b.amount > 0 for c in held for b in c.bills)


async def test_telecom(open_upstreams: OpenUpstreams) -> None:
    upstreams = await open_upstreams()
    subscriptions = await upstreams.telecom.subscriptions(PEOPLE, scope="officer:1")
    assert all(isinstance(s.since, date) for found in subscriptions.values() for s in found)


async def test_empty_reads_send_nothing(
    sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    upstreams = await open_upstreams()
    assert await upstreams.population.people([], scope="officer:1") == {}
    with pytest.raises(ValueError, match="scope"):
        await upstreams.population.people(PEOPLE, scope="")
    assert sims.calls("population") == 0


async def test_owner_checks_settings_and_closes_once(sims: RunningSimulators) -> None:
    settings = {name: UpstreamSettings(sims.urls[name]) for name in SERVICES}
    with pytest.raises(ValueError, match="missing \\['telecom'\\]"):
        Upstreams.open(
            {k: v for k, v in settings.items() if k != "telecom"}, registry=CollectorRegistry()
        )
    registry = CollectorRegistry()
    async with Upstreams.open(settings, registry=registry) as upstreams:
        assert {h.breaker for h in upstreams.health().values()} == {BreakerState.CLOSED}
        assert all(h.ready for h in upstreams.health().values())
        # A second owner on its own registry must not clash with the first one's metrics.
        await Upstreams.open(settings, registry=CollectorRegistry()).close()
    assert upstreams.closed
    await upstreams.close()
    with pytest.raises(RuntimeError, match="closed"):
        async with upstreams:
            pass
    assert registry.get_sample_value("gateway_upstream_breaker_state", {"service": "tax"}) == 0
