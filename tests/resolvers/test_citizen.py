"""The citizen node over every agency: full answers, and partial ones when an agency fails."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from integrations.access import Principal, Role
from integrations.simulators import Faults, RunningSimulators, known
from integrations.store.invoices import InvoiceStore
from integrations.upstreams import BreakerState
from integrations.upstreams.service import Clock
from tests.resolvers.conftest import (
    AN,
    BINH,
    CITIZEN_AN,
    OFFICER,
    Graph,
    OpenUpstreams,
    at,
    codes,
    invoice_record,
)
from tests.support.upstreams import ManualTime
from tests.support.waiting import until

FULL = """
query Full($id: String!) {
  citizen(idNumber: $id) {
    idNumber fullName dateOfBirth sex address
    taxpayer { taxCode name status taxOffice legacyCode }
    invoices(first: 5) {
      edges { cursor node { id totalPayable issuedOn seller { name } } }
      pageInfo { hasNextPage endCursor }
    }
    insurance {
      healthCard { cardNumber validFrom validTo hospitalName isValid }
      social { status contributionMonths }
    }
    utilities {
      electricity { contractNumber unit bills { period units amount } }
      water { contractNumber unit bills { amount } }
      telecom { msisdn operator }
    }
  }
}
"""

NAME = "query($id: String!) { citizen(idNumber: $id) { fullName } }"

# What each agency answers in FULL, as response paths under "citizen".
SUBTREES: dict[str, list[tuple[str | int, ...]]] = {
    "population": [("fullName",), ("dateOfBirth",), ("sex",), ("address",)],
    "tax": [("taxpayer",), ("invoices", "edges", 0, "node", "seller")],
    "insurance": [("insurance", "healthCard"), ("insurance", "social")],
    "electricity": [("utilities", "electricity")],
    "water": [("utilities", "water")],
    "telecom": [("utilities", "telecom")],
}

FAULTS = [
    pytest.param(Faults(down=True), "UPSTREAM_UNAVAILABLE", id="down"),
    pytest.param(Faults(hang_rate=1.0), "UPSTREAM_TIMEOUT", id="slow"),
    pytest.param(Faults(rate_limit=5.0), "UPSTREAM_RATE_LIMITED", id="429"),
    pytest.param(Faults(malformed_rate=1.0), "UPSTREAM_BAD_RESPONSE", id="garbage"),
]


@pytest.fixture
async def bought(graph: Graph) -> None:
    await InvoiceStore().insert(invoice_record(1))


@pytest.mark.usefixtures("bought")
async def test_one_query_reads_every_source_once(graph: Graph, sims: RunningSimulators) -> None:
    result = await graph.run(FULL, CITIZEN_AN, {"id": AN})
    assert result.errors is None
    citizen = result.data["citizen"]
    assert citizen["fullName"] == "Nguyễn Văn An"
    assert citizen["dateOfBirth"] == "1999-03-14"
    assert citizen["sex"] == "MALE"
    assert citizen["taxpayer"]["legacyCode"] == "8012345677"
    edge = citizen["invoices"]["edges"][0]
    assert Decimal(edge["node"]["totalPayable"]) == Decimal("108000")
    assert edge["node"]["seller"]["name"] == known.MERCHANTS["0100109106"].name
    card = citizen["insurance"]["healthCard"]
    assert card["validFrom"] < card["validTo"]
    assert citizen["insurance"]["social"]["contributionMonths"] >= 0
    bill = citizen["utilities"]["electricity"][0]["bills"][0]
    assert Decimal(bill["amount"]) > 0
    assert citizen["utilities"]["electricity"][0]["unit"] == "kWh"
    assert citizen["utilities"]["telecom"][0]["msisdn"].isdigit()
    # Taxpayer (the person) and seller (the restaurant) are two levels apart: two calls.
    assert {agency: sims.calls(agency) for agency in sims.urls} == {
        "population": 1,
        "tax": 2,
        "insurance": 2,
        "electricity": 1,
        "water": 1,
        "telecom": 1,
    }
    assert sims.calls("insurance", "POST /v1/cards:batch") == 1


@pytest.mark.usefixtures("bought")
@pytest.mark.parametrize("agency", list(SUBTREES))
@pytest.mark.parametrize(("faults", "code"), FAULTS)
async def test_a_failing_agency_nulls_only_its_subtree(
    hasty_graph: Graph, sims: RunningSimulators, agency: str, faults: Faults, code: str
) -> None:
    sims.set_faults(agency, faults)
    # A hanging agency is given up on by the deadline; without it this would wait an hour.
    async with asyncio.timeout(30):
        result = await hasty_graph.run(FULL, CITIZEN_AN, {"id": AN})
    assert set(codes(result)) == {(code, agency)}
    failed = {tuple(error.path[1:]) for error in result.errors}
    assert failed == set(SUBTREES[agency])
    citizen = result.data["citizen"]
    for other, paths in SUBTREES.items():
        for path in paths:
            value = at(citizen, *path)
            assert (value is None) == (other == agency), (other, path)


async def test_a_slow_agency_is_given_up_after_its_attempts(
    hasty_graph: Graph, sims: RunningSimulators
) -> None:
    sims.set_faults("population", Faults(hang_rate=1.0))
    async with asyncio.timeout(30):
        result = await hasty_graph.run(NAME, CITIZEN_AN, {"id": AN})
    assert codes(result) == [("UPSTREAM_TIMEOUT", "population")]
    # Each attempt waited at most total_timeout, and there were at most `attempts` of them.
    settings = hasty_graph.upstreams.services["population"].settings
    assert sims.calls("population") <= settings.attempts


SELECTING_EVERY_AGENCY = {
    "fields": """query($id: String!) { citizen(idNumber: $id) {
      fullName taxpayer { name } insurance { healthCard { cardNumber } social { status } }
      utilities { electricity { unit } water { unit } telecom { operator } } } }""",
    "fragments": """query($id: String!) { citizen(idNumber: $id) { fullName ...Tax
      insurance { ... on Insurance { healthCard { cardNumber } } ...Social }
      utilities { ... { electricity { unit } water { unit } } telecom { operator } } } }
      fragment Tax on Citizen { taxpayer { name } }
      fragment Social on Insurance { social { status } }""",
}


@pytest.mark.parametrize("shape", SELECTING_EVERY_AGENCY)
async def test_the_other_agencies_are_read_beside_the_population_record(
    hasty_graph: Graph, sims: RunningSimulators, shape: str
) -> None:
    """The root field starts the reads its fields will need while it reads the population
    record: one agency round trip per query, not two. Here the population registry hangs, and
    every other agency is asked while its first attempt is still waiting, whether the query
    names the fields directly or through fragments."""
    query = SELECTING_EVERY_AGENCY[shape]
    sims.set_faults("population", Faults(hang_rate=1.0))
    others = [agency for agency in sims.urls if agency != "population"]
    running = asyncio.create_task(hasty_graph.run(query, CITIZEN_AN, {"id": AN}))
    await until(lambda: all(sims.calls(agency) for agency in others))
    assert sims.calls("population") == 1
    async with asyncio.timeout(30):
        result = await running
    assert codes(result) == [("UPSTREAM_TIMEOUT", "population")]
    citizen = result.data["citizen"]
    assert citizen["taxpayer"]["name"] == "Nguyễn Văn An"
    assert citizen["insurance"]["social"]["status"]
    assert citizen["utilities"]["telecom"][0]["operator"]
    assert {agency: sims.calls(agency) for agency in others} == {
        "tax": 1,
        "insurance": 2,
        "electricity": 1,
        "water": 1,
        "telecom": 1,
    }


async def test_the_breaker_opens_then_recovers(
    graph: Graph, sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    time = ManualTime()
    upstreams = await open_upstreams(clock=Clock(monotonic=time), breaker_open_seconds=60)
    graph = replace(graph, upstreams=upstreams)
    query = "query($id: String!) { citizen(idNumber: $id) { fullName taxpayer { name } } }"
    breaker = upstreams.services["population"].breaker
    sims.set_faults("population", Faults(down=True))
    while breaker.state is BreakerState.CLOSED:
        result = await graph.run(query, OFFICER, {"id": AN})
        assert codes(result) == [("UPSTREAM_UNAVAILABLE", "population")]
    sent = sims.calls("population")

    refused = await graph.run(query, OFFICER, {"id": AN})
    assert codes(refused) == [("UPSTREAM_UNAVAILABLE", "population")]
    assert "circuit is open" in refused.errors[0].message
    assert sims.calls("population") == sent
    assert refused.data["citizen"]["taxpayer"]["name"] == "Nguyễn Văn An"

    sims.set_faults("population", Faults())
    time.advance(60)
    healed = await graph.run(query, OFFICER, {"id": AN})
    assert healed.errors is None
    assert healed.data["citizen"]["fullName"] == "Nguyễn Văn An"
    assert breaker.state is BreakerState.CLOSED


async def test_an_unknown_person_is_not_found_where_the_profile_may_be_read(
    graph: Graph,
) -> None:
    query = "query($id: String!) { citizen(idNumber: $id) { idNumber fullName taxpayer { name } } }"
    unknown = await graph.run(query, OFFICER, {"id": known.UNREGISTERED_PERSON})
    stranger = await graph.run(
        query, Principal(BINH, Role.CITIZEN, assurance_level=2), {"id": known.UNREGISTERED_PERSON}
    )

    assert unknown.data == {"citizen": None}
    assert codes(unknown) == [("NOT_FOUND", None)]
    assert stranger.data["citizen"]["fullName"] is None
    assert {code for code, _ in codes(stranger)} == {"FORBIDDEN"}, "existence is not revealed"


async def test_a_malformed_id_number_is_a_coded_error(
    graph: Graph, sims: RunningSimulators
) -> None:
    result = await graph.run('{ citizen(idNumber: "12345") { fullName } }', OFFICER)
    assert result.data == {"citizen": None}
    assert codes(result)[0][0].startswith("4")
    assert sims.calls("population") == 0


async def test_me_is_the_citizen_behind_the_token(graph: Graph) -> None:
    result = await graph.run("{ me { idNumber fullName } }", CITIZEN_AN)
    assert result.data == {"me": {"idNumber": AN, "fullName": "Nguyễn Văn An"}}
    officer = await graph.run("{ me { idNumber } }", OFFICER)
    assert officer.data == {"me": None}
