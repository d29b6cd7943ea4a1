"""Two instances on one PostgreSQL database and one Redis: one in this process, the other a
``gateway serve`` of its own. What happens on one holds on the other."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import httpx
import pytest
import redis
from redis.exceptions import RedisError

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.demo_tokens import ensure_demo_keys
from gateway.state import Services
from integrations.access.principal import Role
from integrations.einvoice import pipeline
from tests.conftest import EMPTIER, service_missing
from tests.integrations.ratelimit.redis_server import REDIS_URL
from tests.support.invoices import HOTEL, PROVIDER, RESTAURANT, Keys, draft, signed
from tests.support.servers import gateway_serve, in_process_instance
from tests.support.subscriptions import subscribed
from tests.support.tokens import token
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

AN = "001099012345"
PROFILE = "query($id: String!) { citizen(idNumber: $id) { fullName } }"
SUBSCRIPTION = "subscription($s: String!) { invoiceAccepted(sellerTaxCode: $s) { number } }"
GRANT = "mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }"
REVOKE = "mutation($id: ID!) { revokeConsent(id: $id) { state } }"


@dataclass(frozen=True)
class Fleet:
    env: dict[str, str]
    there: str
    """The base URL of the other instance, a ``gateway serve`` process."""

    @property
    def settings(self) -> Settings:
        return load_settings(environ=self.env)

    def bearer(self, role: Role, subject: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(self.settings, role, subject, **claims)}"}

    def merchant(self, tax_code: str) -> dict[str, str]:
        return self.bearer(Role.MERCHANT, tax_code, tax_code=tax_code)


@pytest.fixture(scope="module")
def fleet(
    tmp_path_factory: pytest.TempPathFactory, postgres_database: str, intake_keys: Keys
) -> Iterator[Fleet]:
    _require_redis()
    EMPTIER.empty(postgres_database)
    data_dir = tmp_path_factory.mktemp("fleet")
    ensure_demo_keys(data_dir)
    env = {
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_DATABASE_URL": postgres_database,
        "GATEWAY_REDIS_URL": REDIS_URL,
        "GATEWAY_BUS_CHANNEL": f"test:{uuid.uuid4().hex}:events",
        # Redis holds every test run's budgets for the loopback address: none may refuse here.
        "GATEWAY_RATE_LIMIT_ADDRESS": "1000000/1",
        "GATEWAY_RATE_LIMIT_PRINCIPAL": "1000000/1",
        "GATEWAY_TRUST_ANCHORS": str(intake_keys.anchor_file),
        "GATEWAY_CRL_FILES": str(intake_keys.crl_file),
        "GATEWAY_SIGNING_KEY": str(intake_keys.gateway_key),
        "GATEWAY_SIGNING_CERT": str(intake_keys.gateway_cert),
    }
    with gateway_serve(env) as there:
        yield Fleet(env, there)


@pytest.fixture
async def here(fleet: Fleet) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """This process's instance, and its services to look inside."""
    async with in_process_instance(create_app(fleet.settings)) as (client, state):
        yield client, state["services"]


async def test_an_invoice_accepted_here_reaches_a_subscriber_there(
    fleet: Fleet, here: tuple[httpx.AsyncClient, Services], intake_keys: Keys
) -> None:
    client, _ = here
    await _register(client, fleet, RESTAURANT)
    merchant = fleet.merchant(RESTAURANT)
    xml = {**merchant, "Content-Type": "application/xml"}
    async with (
        subscribed(fleet.there, merchant, SUBSCRIPTION, s=RESTAURANT) as ws,
        aiohttp.ClientSession() as http,
    ):
        # Accepted there until the subscriber hears of it: from then on it is listening.
        number = 1
        while True:
            body = signed(draft(number), intake_keys.restaurant)
            async with http.post(f"{fleet.there}/v1/invoices", data=body, headers=xml) as sent:
                assert sent.status == 201, await sent.text()
            if await _next(ws, seconds=2) is not None:
                break
            number += 1
        accepted_here = await client.post(
            "/v1/invoices", content=signed(draft(100), intake_keys.restaurant), headers=xml
        )
        assert accepted_here.status_code == 201, accepted_here.text
        heard = await _next(ws, seconds=30)
    assert heard == {"invoiceAccepted": {"number": 100}}


async def test_a_consent_revoked_here_is_refused_there_at_the_next_request(
    fleet: Fleet, here: tuple[httpx.AsyncClient, Services]
) -> None:
    client, _ = here
    citizen = fleet.bearer(Role.CITIZEN, AN, assurance_level=2)
    app = {
        **fleet.bearer(Role.APP, AN, app_id="budget-app", purpose="budgeting"),
        "X-Purpose": "budgeting",
    }
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    grant = {"appId": "budget-app", "domains": ["PROFILE"], "purpose": "budgeting"}
    granted = await _graphql(
        client.post, "/graphql", citizen, GRANT, input={**grant, "expiresAt": expires}
    )
    async with httpx.AsyncClient(base_url=fleet.there) as there:
        during = await _graphql(there.post, "/graphql", app, PROFILE, id=AN)
        await _graphql(client.post, "/graphql", citizen, REVOKE, id=granted["grantConsent"]["id"])
        after = await _graphql(there.post, "/graphql", app, PROFILE, id=AN, errors=True)
    assert during["citizen"]["fullName"] == "Nguyễn Văn An"
    assert after["data"]["citizen"]["fullName"] is None
    assert {e["extensions"]["code"] for e in after["errors"]} == {"CONSENT_REQUIRED"}


async def _by_admin_route(fleet: Fleet, tax_code: str, status: str) -> None:
    admin = fleet.bearer(Role.ADMIN, "operator-1")
    async with httpx.AsyncClient(base_url=fleet.there) as there:
        url = f"/v1/admin/merchants/{tax_code}/status"
        response = await there.put(url, json={"status": status}, headers=admin)
    assert response.status_code == 200, response.text


async def _by_command(fleet: Fleet, tax_code: str, status: str) -> None:
    command = [sys.executable, "-m", "gateway", "merchants", "status", tax_code, status]
    outside = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    done = await asyncio.to_thread(
        subprocess.run, command, env={**outside, **fleet.env}, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr


Change = Callable[[Fleet, str, str], Awaitable[None]]


@pytest.mark.parametrize(
    ("change", "seller", "signer"),
    [
        pytest.param(_by_admin_route, HOTEL, "hotel", id="admin-route-there"),
        pytest.param(_by_command, PROVIDER, "provider", id="gateway-merchants-status"),
    ],
)
async def test_a_merchant_suspended_elsewhere_is_refused_here_and_reinstated(
    fleet: Fleet,
    here: tuple[httpx.AsyncClient, Services],
    intake_keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    change: Change,
    seller: str,
    signer: str,
) -> None:
    # Cached here for an hour: only the bus can tell this instance of the change.
    monkeypatch.setattr(pipeline, "MERCHANT_CACHE_SECONDS", 3600.0)
    client, services = here
    await _register(client, fleet, seller)
    xml = {**fleet.merchant(seller), "Content-Type": "application/xml"}

    async def submit(number: int) -> httpx.Response:
        body = signed(draft(number, seller=seller), getattr(intake_keys, signer))
        return await client.post("/v1/invoices", content=body, headers=xml)

    async def set_status(status: str) -> None:
        """Change the status elsewhere, and wait until this instance has heard of it."""
        heard = services.bus.delivered
        await change(fleet, seller, status)
        await until(lambda: services.bus.delivered > heard)

    assert (await submit(1)).status_code == 201
    await set_status("suspended")
    suspended = await submit(2)
    await set_status("active")
    reinstated = await submit(3)
    assert suspended.status_code == 422
    assert [e["code"] for e in suspended.json()["errors"]] == ["4005"]
    assert reinstated.status_code == 201, reinstated.text


async def _register(client: httpx.AsyncClient, fleet: Fleet, tax_code: str) -> None:
    admin = fleet.bearer(Role.ADMIN, "operator-1")
    body = {"taxCode": tax_code, "name": "Nhà hàng Sen Hồ Tây"}
    response = await client.post("/v1/admin/merchants", json=body, headers=admin)
    assert response.status_code == 201, response.text


async def _graphql(
    post: Callable[..., Any],
    url: str,
    headers: dict[str, str],
    query: str,
    *,
    errors: bool = False,
    **variables: object,
) -> dict[str, Any]:
    response = await post(url, json={"query": query, "variables": variables}, headers=headers)
    body: dict[str, Any] = response.json()
    if errors:
        return body
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def _next(ws: aiohttp.ClientWebSocketResponse, *, seconds: float) -> object | None:
    """The next result's data, or None if none comes within ``seconds``."""
    try:
        # Not receive_json's timeout: the server's pings, every 20 s, would restart it.
        async with asyncio.timeout(seconds):
            message = await ws.receive_json()
    except TimeoutError:
        return None
    assert message["type"] == "next", message
    return message["payload"]["data"]


def _require_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        service_missing("Redis", str(exc) or type(exc).__name__)
    finally:
        client.close()
