"""Who may read what, what the access log records, and the citizen's consents and log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from integrations.access import AuditLog, Principal, Role
from integrations.simulators import RunningSimulators
from integrations.store.database import Database
from tests.resolvers.conftest import AN, BINH, CITIZEN_AN, OFFICER, Graph, codes

PROFILE = """
query($id: String!) {
  citizen(idNumber: $id) {
    idNumber fullName taxpayer { name } insurance { social { status } }
  }
}
"""
PHONES = "query($id: String!) { citizen(idNumber: $id) { utilities { telecom { msisdn } } } }"
GRANT = """
mutation($input: GrantConsentInput!) {
  grantConsent(input: $input) { id appId domains purpose state }
}
"""
REVOKE = "mutation($id: ID!) { revokeConsent(id: $id) { id state revokedAt } }"
LOG = """
query($first: Int!) {
  myDataAccessLog(first: $first) {
    edges { node { reader role purpose domains fields outcome consentId } }
    pageInfo { hasNextPage }
  }
}
"""
APP = Principal(AN, Role.APP, app_id="budget-app", purpose="budgeting")


def grant_input(**overrides: object) -> dict[str, object]:
    expires = datetime.now(UTC) + timedelta(days=30)
    values = {
        "appId": "budget-app",
        "domains": ["PROFILE", "TAX"],
        "purpose": "budgeting",
        "expiresAt": expires.isoformat(),
    }
    return {"input": {**values, **overrides}}


async def events(graph: Graph, subject: str) -> list[tuple[str, str, tuple[str, ...]]]:
    page = await graph.audit.for_subject(subject, 100)
    return [(e.principal, e.outcome, e.domains) for e in page.events]


async def test_a_citizen_reads_only_themselves(graph: Graph, sims: RunningSimulators) -> None:
    own = await graph.run(PROFILE, CITIZEN_AN, {"id": AN})
    assert own.errors is None
    other = await graph.run(PROFILE, CITIZEN_AN, {"id": BINH})
    assert other.data == {
        "citizen": {"idNumber": BINH, "fullName": None, "taxpayer": None, "insurance": None}
    }
    assert set(codes(other)) == {("FORBIDDEN", None)}
    assert sims.calls("population") == 1
    assert await events(graph, BINH) == [
        (f"citizen:{AN}", "denied", ("insurance", "profile", "tax"))
    ]


async def test_sensitive_domains_need_assurance_level_two(graph: Graph) -> None:
    weak = replace(CITIZEN_AN, assurance_level=1)
    result = await graph.run(PROFILE, weak, {"id": AN})
    assert result.data["citizen"]["fullName"] == "Nguyễn Văn An"
    assert result.data["citizen"]["insurance"] is None
    assert codes(result) == [("ASSURANCE_TOO_LOW", None)]


@pytest.mark.parametrize(
    ("officer", "code"),
    [
        pytest.param(replace(OFFICER, purpose=""), "PURPOSE_REQUIRED", id="no-purpose"),
        pytest.param(replace(OFFICER, case_ref=""), "CASE_REF_REQUIRED", id="no-case"),
    ],
)
async def test_officers_state_purpose_and_case(graph: Graph, officer: Principal, code: str) -> None:
    result = await graph.run(PROFILE, officer, {"id": AN})
    assert {c for c, _ in codes(result)} == {code}
    assert result.data["citizen"]["fullName"] is None


async def test_merchants_read_no_person(graph: Graph) -> None:
    merchant = Principal("m", Role.MERCHANT, tax_code="0100109106")
    result = await graph.run(PROFILE, merchant, {"id": AN})
    assert set(codes(result)) == {("FORBIDDEN", None)}


async def test_one_audit_event_per_person_read(graph: Graph) -> None:
    await graph.run(PROFILE, OFFICER, {"id": AN})
    page = await graph.audit.for_subject(AN)
    [event] = page.events
    assert (event.principal, event.outcome) == ("officer:off-7", "allowed")
    assert event.domains == ("insurance", "profile", "tax")
    assert event.fields == ("fullName", "insurance", "taxpayer")
    assert (event.purpose, event.case_ref) == ("tax audit", "TT-2026-17")


async def test_reading_a_business_is_not_a_person_read(graph: Graph) -> None:
    result = await graph.run('{ taxpayer(taxCode: "0319303270") { name } }', CITIZEN_AN)
    assert result.errors is None
    assert (await graph.audit.verify()).checked == 0


async def test_no_answer_leaves_when_the_access_log_cannot_be_written(
    graph: Graph, sims: RunningSimulators
) -> None:
    broken = replace(graph, audit=AuditLog(Database("postgres://127.0.0.1:1/nowhere")))
    result = await broken.run(PROFILE, OFFICER, {"id": AN})
    assert result.data is None
    assert codes(result) == [("AUDIT_UNAVAILABLE", None)]


async def test_phone_numbers_are_masked_for_officers_without_the_scope(graph: Graph) -> None:
    def numbers(result: object) -> list[str]:
        return [s["msisdn"] for s in result.data["citizen"]["utilities"]["telecom"]]  # type: ignore[attr-defined]

    own = numbers(await graph.run(PHONES, CITIZEN_AN, {"id": AN}))
    masked = numbers(await graph.run(PHONES, OFFICER, {"id": AN}))
    scoped = replace(OFFICER, scopes=frozenset({"read:phone"}))
    unmasked = numbers(await graph.run(PHONES, scoped, {"id": AN}))
    assert own == unmasked
    assert all(n.isdigit() for n in own)
    assert [m[:3] + m[-2:] for m in masked] == [n[:3] + n[-2:] for n in own]
    assert all("*" in m for m in masked)


async def test_an_app_reads_what_the_citizen_consented_to_until_revoked(graph: Graph) -> None:
    granted = await graph.run(GRANT, CITIZEN_AN, grant_input())
    assert granted.errors is None
    consent = granted.data["grantConsent"]
    assert consent["domains"] == ["PROFILE", "TAX"]
    assert consent["state"] == "ACTIVE"

    read = await graph.run(PROFILE, APP, {"id": AN})
    assert read.data["citizen"]["fullName"] == "Nguyễn Văn An"
    assert read.data["citizen"]["taxpayer"] == {"name": "Nguyễn Văn An"}
    assert codes(read) == [("CONSENT_REQUIRED", None)]
    other_purpose = await graph.run(PROFILE, replace(APP, purpose="marketing"), {"id": AN})
    assert {c for c, _ in codes(other_purpose)} == {"CONSENT_REQUIRED"}

    revoked = await graph.run(REVOKE, CITIZEN_AN, {"id": consent["id"]})
    assert revoked.data["revokeConsent"]["state"] == "REVOKED"
    after = await graph.run(PROFILE, APP, {"id": AN})
    assert after.data["citizen"]["fullName"] is None
    assert {c for c, _ in codes(after)} == {"CONSENT_REQUIRED"}

    log = await graph.audit.for_subject(AN)
    allowed = [e for e in log.events if e.outcome == "allowed"]
    assert [e.consent_id for e in allowed] == [consent["id"]]


@pytest.mark.parametrize(
    ("principal", "overrides", "code"),
    [
        pytest.param(OFFICER, {}, "FORBIDDEN", id="officer"),
        pytest.param(CITIZEN_AN, {"appId": " "}, "CONSENT_INVALID", id="no-app"),
        pytest.param(
            CITIZEN_AN, {"expiresAt": "2020-01-01T00:00:00+00:00"}, "CONSENT_INVALID", id="past"
        ),
        pytest.param(
            replace(CITIZEN_AN, assurance_level=1),
            {"domains": ["INSURANCE"]},
            "ASSURANCE_TOO_LOW",
            id="weak-sensitive",
        ),
    ],
)
async def test_consent_grants_are_checked(
    graph: Graph, principal: Principal, overrides: dict[str, object], code: str
) -> None:
    result = await graph.run(GRANT, principal, grant_input(**overrides))
    assert result.data is None
    assert codes(result) == [(code, None)]


async def test_only_the_owner_revokes(graph: Graph) -> None:
    granted = await graph.run(GRANT, CITIZEN_AN, grant_input())
    consent_id = granted.data["grantConsent"]["id"]
    binh = Principal(BINH, Role.CITIZEN, assurance_level=2)
    result = await graph.run(REVOKE, binh, {"id": consent_id})
    assert codes(result) == [("CONSENT_NOT_FOUND", None)]


async def test_the_citizen_sees_who_read_their_data(graph: Graph) -> None:
    await graph.run(PROFILE, OFFICER, {"id": AN})
    await graph.run(PROFILE, replace(OFFICER, subject="off-8"), {"id": AN})
    result = await graph.run(LOG, CITIZEN_AN, {"first": 1})
    assert result.errors is None
    log = result.data["myDataAccessLog"]
    assert log["pageInfo"]["hasNextPage"] is True
    assert log["edges"][0]["node"] == {
        "reader": "officer:off-8",
        "role": "officer",
        "purpose": "tax audit",
        "domains": ["insurance", "profile", "tax"],
        "fields": ["fullName", "insurance", "taxpayer"],
        "outcome": "allowed",
        "consentId": None,
    }
    officer = await graph.run(LOG, OFFICER, {"first": 1})
    assert codes(officer) == [("FORBIDDEN", None)]
