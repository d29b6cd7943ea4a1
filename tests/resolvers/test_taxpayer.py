"""Taxpayers by tax code, personal ID or retired personal tax code; people's are guarded."""

from __future__ import annotations

import pytest

from integrations.access import Principal, Role
from integrations.simulators import RunningSimulators, known
from tests.resolvers.conftest import AN, BINH, CITIZEN_AN, OFFICER, Graph, codes

QUERY = """
query($code: String!) {
  taxpayer(taxCode: $code) {
    taxCode kind name status statusDate taxOffice legacyCode parentTaxCode
  }
}
"""
BINH_CITIZEN = Principal(BINH, Role.CITIZEN, assurance_level=2)


@pytest.mark.parametrize(
    ("code", "kind", "status"),
    [
        pytest.param("0401234566", "BUSINESS", "CEASED", id="ceased-business"),
        pytest.param("0313032391-001", "BRANCH", "ACTIVE", id="branch"),
        pytest.param("001190007777", "HOUSEHOLD", "ACTIVE", id="household-business"),
    ],
)
async def test_businesses_are_public_record(
    graph: Graph, code: str, kind: str, status: str
) -> None:
    result = await graph.run(QUERY, BINH_CITIZEN, {"code": code})
    assert result.errors is None
    taxpayer = result.data["taxpayer"]
    assert (taxpayer["taxCode"], taxpayer["kind"], taxpayer["status"]) == (code, kind, status)
    assert taxpayer["name"] == known.MERCHANTS[code].name


async def test_a_retired_personal_tax_code_leads_to_the_person(
    graph: Graph, sims: RunningSimulators
) -> None:
    result = await graph.run(QUERY, CITIZEN_AN, {"code": "8012345677"})
    assert result.errors is None
    assert result.data["taxpayer"]["taxCode"] == AN
    assert result.data["taxpayer"]["legacyCode"] == "8012345677"
    assert sims.calls("tax", "POST /v1/legacy-codes:batch") == 1
    assert sims.calls("tax", "POST /v1/taxpayers:batch") == 2


@pytest.mark.parametrize("code", [AN, "8012345677"], ids=["personal-id", "legacy-code"])
async def test_a_persons_registration_is_theirs_and_officers(graph: Graph, code: str) -> None:
    officer = await graph.run(QUERY, OFFICER, {"code": code})
    assert officer.data["taxpayer"]["name"] == "Nguyễn Văn An"
    stranger = await graph.run(QUERY, BINH_CITIZEN, {"code": code})
    assert stranger.data == {"taxpayer": None}
    assert codes(stranger) == [("FORBIDDEN", None)]


async def test_a_malformed_code_is_refused_before_any_call(
    graph: Graph, sims: RunningSimulators
) -> None:
    result = await graph.run(QUERY, OFFICER, {"code": "0100109107"})
    assert result.data == {"taxpayer": None}
    assert codes(result)[0][0].startswith("4")
    assert sims.calls("tax") == 0


async def test_unknown_codes_are_null(graph: Graph) -> None:
    result = await graph.run(QUERY, OFFICER, {"code": known.UNREGISTERED_PERSON})
    assert result.errors is None
    assert result.data == {"taxpayer": None}
