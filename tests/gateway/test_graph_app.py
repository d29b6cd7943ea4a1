"""The citizen graph served by the real app: tokens, simulators, audit, consent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.demo_tokens import ensure_demo_keys, mint_token
from integrations.access.principal import Role
from tests.support.servers import in_process_client

AN = "001099012345"
BINH = "079301000123"
GRAPHQL = {"Content-Type": "application/json", "Accept": "application/graphql-response+json"}
PROFILE = "query($id: String!) { citizen(idNumber: $id) { fullName taxpayer { status } } }"


def bearer(settings: Settings, role: Role, subject: str, **claims: object) -> dict[str, str]:
    token = mint_token(
        ensure_demo_keys(settings.data_dir),
        role,
        subject,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        **claims,
    )
    return {**GRAPHQL, "Authorization": f"Bearer {token}"}


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(create_app(settings)) as client:
        yield client


async def query(
    http: httpx.AsyncClient, headers: dict[str, str], text: str, **variables: object
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": text, "variables": variables}, headers=headers
    )


async def test_anonymous_callers_are_refused(http: httpx.AsyncClient) -> None:
    response = await query(http, GRAPHQL, "{ me { fullName } }")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "AUTH_REQUIRED"


async def test_citizen_reads_themselves_from_the_agencies_and_the_read_is_logged(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    citizen = bearer(settings, Role.CITIZEN, AN, assurance_level=2)
    own = await query(http, citizen, PROFILE, id=AN)
    assert own.status_code == 200, own.text
    assert own.json()["data"]["citizen"]["fullName"] == "Nguyễn Văn An"
    other = (await query(http, citizen, PROFILE, id=BINH)).json()
    assert other["data"]["citizen"]["fullName"] is None
    assert {e["extensions"]["code"] for e in other["errors"]} == {"FORBIDDEN"}
    log = await query(http, citizen, "{ myDataAccessLog { edges { node { reader outcome } } } }")
    events = [edge["node"] for edge in log.json()["data"]["myDataAccessLog"]["edges"]]
    assert {"reader": f"citizen:{AN}", "outcome": "allowed"} in events


async def test_an_app_reads_only_within_a_consent_until_it_is_revoked(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    app = bearer(settings, Role.APP, AN, app_id="budget-app", purpose="budgeting")
    app["X-Purpose"] = "budgeting"
    before = (await query(http, app, PROFILE, id=AN)).json()
    assert before["data"]["citizen"]["fullName"] is None
    citizen = bearer(settings, Role.CITIZEN, AN, assurance_level=2)
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    granted = await query(
        http,
        citizen,
        "mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id state } }",
        input={
            "appId": "budget-app",
            "domains": ["PROFILE", "TAX"],
            "purpose": "budgeting",
            "expiresAt": expires,
        },
    )
    consent = granted.json()["data"]["grantConsent"]
    assert consent["state"] == "ACTIVE"
    during = (await query(http, app, PROFILE, id=AN)).json()
    assert during["data"]["citizen"]["fullName"] == "Nguyễn Văn An"
    await query(
        http, citizen, "mutation($id: ID!) { revokeConsent(id: $id) { state } }", id=consent["id"]
    )
    after = (await query(http, app, PROFILE, id=AN)).json()
    assert after["data"]["citizen"]["fullName"] is None


async def test_mutation_over_get_is_not_allowed(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    headers = {**bearer(settings, Role.CITIZEN, AN), "GraphQL-Require-Preflight": "1"}
    response = await http.get(
        "/graphql", params={"query": 'mutation { revokeConsent(id: "x") { id } }'}, headers=headers
    )
    assert response.status_code == 405


async def test_every_graphql_error_carries_the_request_id(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    citizen = bearer(settings, Role.CITIZEN, AN, assurance_level=2)
    refused = await query(http, GRAPHQL, "{ me { fullName } }")
    field_error = await query(http, citizen, PROFILE, id=BINH)
    invalid = await query(http, citizen, "{ nothing }")

    for response in (refused, field_error, invalid):
        (first, *_) = response.json()["errors"]
        assert first["extensions"]["requestId"] == response.headers["x-request-id"]
