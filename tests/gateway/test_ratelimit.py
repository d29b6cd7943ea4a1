from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.auth import JwksFile, TokenVerifier
from gateway.demo_tokens import ensure_demo_keys, mint_token
from gateway.http.authn import Authenticator
from gateway.http.ratelimit import RateLimit
from integrations.access.principal import Role
from integrations.ratelimit.windows import Limit, MemoryWindows, RedisWindows, Windows
from tests.integrations.ratelimit.redis_server import REDIS_URL, redis_client

ISSUER, AUDIENCE = "demo-issuer", "gateway"
GENEROUS = Limit(100, 60)


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def make_app(
    windows: Windows,
    *,
    per_address: Limit = GENEROUS,
    per_principal: Limit = GENEROUS,
    verifier: TokenVerifier | None = None,
) -> Starlette:
    options = {"identify": Authenticator(verifier).identify} if verifier else {}
    limiter = Middleware(
        RateLimit,
        windows=windows,
        per_address=per_address,
        per_principal=per_principal,
        **options,
    )
    routes = [Route("/", hello), Route("/healthz", hello)]
    return Starlette(routes=routes, middleware=[limiter])


@asynccontextmanager
async def client_of(
    app: Starlette, address: str = "198.51.100.7"
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


async def test_an_address_over_budget_gets_429_with_retry_after() -> None:
    app = make_app(MemoryWindows(), per_address=Limit(2, 30))
    async with client_of(app) as client:
        statuses = [(await client.get("/")).status_code for _ in range(2)]
        refused = await client.get("/")
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert refused.json()["errors"][0]["code"] == "RATE_LIMITED"
    async with client_of(app, "198.51.100.8") as elsewhere:
        assert (await elsewhere.get("/")).status_code == 200


async def test_health_checks_are_not_limited() -> None:
    app = make_app(MemoryWindows(), per_address=Limit(1, 30))
    async with client_of(app) as client:
        assert [(await client.get("/healthz")).status_code for _ in range(3)] == [200] * 3


@pytest.fixture
def verifier(tmp_path: Path) -> tuple[TokenVerifier, str, str]:
    keys = ensure_demo_keys(tmp_path)
    verifier = TokenVerifier(
        JwksFile(keys.jwks_path), issuer=ISSUER, audience=AUDIENCE, algorithms=["ES256"]
    )

    def token(app_id: str) -> str:
        return mint_token(keys, Role.APP, "u", issuer=ISSUER, audience=AUDIENCE, app_id=app_id)

    return verifier, token("budget"), token("insurer")


async def test_each_caller_has_its_own_budget(verifier: tuple[TokenVerifier, str, str]) -> None:
    check, budget, insurer = verifier
    app = make_app(MemoryWindows(), per_principal=Limit(2, 30), verifier=check)
    async with client_of(app) as client:
        as_budget = {"Authorization": f"Bearer {budget}"}
        statuses = [(await client.get("/", headers=as_budget)).status_code for _ in range(3)]
        other = await client.get("/", headers={"Authorization": f"Bearer {insurer}"})
        anonymous = await client.get("/")
        forged = await client.get("/", headers={"Authorization": "Bearer forged"})
    assert statuses == [200, 200, 429]
    assert other.status_code == 200
    assert anonymous.status_code == 200
    assert forged.status_code == 200


@pytest.mark.redis
async def test_two_app_instances_share_one_budget_through_redis() -> None:
    async with redis_client() as (client, prefix):
        second = Redis.from_url(REDIS_URL)
        try:
            limit = Limit(3, 60)
            first_app = make_app(RedisWindows(client, prefix=prefix), per_address=limit)
            second_app = make_app(RedisWindows(second, prefix=prefix), per_address=limit)
            async with client_of(first_app) as one, client_of(second_app) as two:
                statuses = [(await (one, two)[n % 2].get("/")).status_code for n in range(5)]
        finally:
            await second.aclose()
    assert statuses == [200, 200, 200, 429, 429]


async def test_requests_pass_when_redis_is_down() -> None:
    down = Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    try:
        app = make_app(RedisWindows(down), per_address=Limit(1, 60))
        async with client_of(app) as client:
            assert [(await client.get("/")).status_code for _ in range(2)] == [200, 200]
    finally:
        await down.aclose()
