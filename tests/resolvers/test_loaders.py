"""Loaders batch one tick's keys into one call, and never share reads across principals."""

from __future__ import annotations

import pytest

from integrations.access import Principal, Role
from integrations.simulators import RunningSimulators
from resolvers.loaders import app_scope, scope_of
from tests.resolvers.conftest import AN, BINH, CITIZEN_AN, OFFICER, Graph, OpenUpstreams

CUONG = "048085004321"

SIBLINGS = """
query($a: String!, $b: String!, $c: String!) {
  a: citizen(idNumber: $a) { fullName insurance { healthCard { cardNumber } social { status } } }
  b: citizen(idNumber: $b) { fullName insurance { healthCard { cardNumber } social { status } } }
  c: citizen(idNumber: $c) { fullName insurance { healthCard { cardNumber } social { status } } }
}
"""


async def test_siblings_share_one_call_per_resource(graph: Graph, sims: RunningSimulators) -> None:
    result = await graph.run(SIBLINGS, OFFICER, {"a": AN, "b": BINH, "c": CUONG})
    assert result.errors is None
    assert [result.data[k]["fullName"] for k in "abc"] == [
        "Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Cường"
    ]  # fmt: skip
    assert sims.calls("population", "POST /v1/people:batch") == 1
    assert sims.calls("insurance", "POST /v1/cards:batch") == 1
    assert sims.calls("insurance", "POST /v1/social:batch") == 1
    assert sims.calls("population") + sims.calls("insurance") == 3


async def test_cached_reads_are_scoped_by_principal_and_purpose(
    graph: Graph, sims: RunningSimulators, open_upstreams: OpenUpstreams
) -> None:
    cached = Graph(graph.schema, await open_upstreams(cache_ttl=60), graph.audit)
    query = "query($id: String!) { citizen(idNumber: $id) { fullName } }"
    other_case = OFFICER.for_request(case_ref="TT-2026-99")
    readers = [OFFICER, OFFICER, other_case, CITIZEN_AN, CITIZEN_AN]
    calls = []
    for reader in readers:
        result = await cached.run(query, reader, {"id": AN})
        assert result.data == {"citizen": {"fullName": "Nguyễn Văn An"}}
        calls.append(sims.calls("population"))
    # Only a repeat by the same principal, for the same purpose and case, is served from cache.
    assert calls == [1, 1, 2, 3, 3]


@pytest.mark.parametrize(
    ("principal", "scope"),
    [
        pytest.param(CITIZEN_AN, f"citizen:{AN}", id="citizen"),
        pytest.param(OFFICER, "officer:off-7:tax audit:TT-2026-17", id="officer"),
        pytest.param(
            Principal(AN, Role.APP, app_id="budget", purpose="budgeting"),
            "app:budget:budgeting",
            id="app",
        ),
        pytest.param(
            Principal("m", Role.MERCHANT, tax_code="0100109106"), "merchant:m", id="merchant"
        ),
    ],
)
def test_scopes_name_the_reader(principal: Principal, scope: str) -> None:
    assert scope_of(principal) == scope


def test_an_apps_scope_is_what_revoking_forgets() -> None:
    app = Principal(AN, Role.APP, app_id="budget", purpose="budgeting")
    assert scope_of(app) == app_scope("budget", "budgeting")
