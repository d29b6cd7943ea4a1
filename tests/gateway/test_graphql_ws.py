"""The WebSocket door on the real server: each operation is admitted as an HTTP request is.

Credentials come from ``connection_init``'s payload (or the upgrade's header); refusals close
the socket with 44xx and a reason naming the code; each ``subscribe`` verifies the token
again, gets a fresh context (guard, ledger, loaders), and meets the rate limit, the trusted
documents and the size cap of the HTTP door.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.demo_tokens import ensure_demo_keys
from gateway.server import uvicorn_options
from integrations.access.audit import AuditLog
from integrations.access.principal import Role
from integrations.ratelimit.windows import Limit
from integrations.store.database import open_database
from resolvers.hardening import document_hash
from tests.support.servers import live_server
from tests.support.tokens import token

AN = "001099012345"
NAME = "query($id: String!) { citizen(idNumber: $id) { fullName } }"
BIRTH = "query($id: String!) { citizen(idNumber: $id) { dateOfBirth } }"
GRANT = "mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id state } }"
REVOKE = "mutation($id: ID!) { revokeConsent(id: $id) { state } }"
WAIT = 15
"""Seconds a test waits for a message before it gives up: a guard against a hang only."""


def citizen(settings: Settings, **claims: Any) -> str:
    return token(settings, Role.CITIZEN, AN, assurance_level=2, **claims)


class Socket:
    """One graphql-transport-ws connection, spoken message by message."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = 0

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await self.ws.send_json(message)
        return await self.receive()

    async def subscribe(self, query: str | None, **variables: Any) -> str:
        self.ids += 1
        payload: dict[str, Any] = {"query": query, "variables": variables}
        await self.ws.send_json({"id": str(self.ids), "type": "subscribe", "payload": payload})
        return str(self.ids)

    async def run(self, query: str, **variables: Any) -> dict[str, Any]:
        """The operation's one result (``next``) or its refusal (``error``)."""
        operation = await self.subscribe(query, **variables)
        message = await self.receive()
        assert message.get("id") == operation, message
        if message["type"] == "next":
            assert await self.receive() == {"id": operation, "type": "complete"}
        return message

    async def receive(self) -> dict[str, Any]:
        message = await self.ws.receive(timeout=WAIT)
        assert message.type is aiohttp.WSMsgType.TEXT, (message, self.ws.close_code)
        received: dict[str, Any] = json.loads(message.data)
        return received

    async def closed(self) -> tuple[int | None, str]:
        """The close code and reason the server sent (1006 when it just dropped)."""
        message = await self.ws.receive(timeout=WAIT)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), message
        return self.ws.close_code, message.extra or ""


@asynccontextmanager
async def gateway(settings: Settings, **options: Any) -> AsyncIterator[str]:
    async with live_server(create_app(settings), **options) as base:
        yield base


@asynccontextmanager
async def connect(base: str, headers: dict[str, str] | None = None) -> AsyncIterator[Socket]:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(
            f"{base}/graphql", protocols=["graphql-transport-ws"], headers=headers
        ) as ws,
    ):
        yield Socket(ws)


def codes(message: dict[str, Any]) -> list[str]:
    payload = message["payload"]
    errors = payload if message["type"] == "error" else payload.get("errors", [])
    return [error["extensions"]["code"] for error in errors]


# Credentials


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda t: {"Authorization": f"Bearer {t}"}, id="Authorization"),
        pytest.param(lambda t: {"authorization": f"Bearer {t}"}, id="authorization"),
        pytest.param(lambda t: {"token": t}, id="token"),
        pytest.param(lambda t: {"headers": {"Authorization": f"Bearer {t}"}}, id="headers"),
    ],
)
async def test_the_token_is_read_from_connection_init(settings: Settings, spelling: Any) -> None:
    async with gateway(settings) as base, connect(base) as socket:
        assert await socket.init(spelling(citizen(settings))) == {"type": "connection_ack"}
        result = await socket.run(NAME, id=AN)
    assert result["payload"] == {"data": {"citizen": {"fullName": "Nguyễn Văn An"}}}


async def test_the_token_is_still_read_from_the_upgrade_header(settings: Settings) -> None:
    bearer = {"Authorization": f"Bearer {citizen(settings)}"}
    async with gateway(settings) as base, connect(base, bearer) as socket:
        assert (await socket.init())["type"] == "connection_ack"
        result = await socket.run(NAME, id=AN)
    assert result["payload"]["data"]["citizen"]["fullName"] == "Nguyễn Văn An"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        pytest.param({}, "AUTH_REQUIRED", id="none"),
        pytest.param({"Authorization": "Bearer not.a.jwt"}, "AUTH_INVALID_TOKEN", id="garbage"),
        pytest.param({"Authorization": "Basic YTpi"}, "AUTH_INVALID_TOKEN", id="not-bearer"),
        pytest.param({"token": 42}, "AUTH_INVALID_TOKEN", id="not-text"),
        pytest.param("expired", "AUTH_EXPIRED", id="expired"),
    ],
)
async def test_a_connection_without_a_valid_token_is_closed_4401(
    settings: Settings, payload: Any, code: str
) -> None:
    if payload == "expired":
        past = datetime.now(UTC) - timedelta(hours=2)
        payload = {"token": citizen(settings, now=past)}
    async with gateway(settings) as base, connect(base) as socket:
        await socket.ws.send_json({"type": "connection_init", "payload": payload})
        close_code, reason = await socket.closed()
    assert close_code == 4401
    assert reason.startswith(f"Unauthorized: {code}")


async def test_a_purpose_the_token_contradicts_closes_4400(settings: Settings) -> None:
    app = token(settings, Role.APP, AN, app_id="budget-app", purpose="budgeting")
    async with gateway(settings) as base, connect(base) as socket:
        await socket.ws.send_json(
            {"type": "connection_init", "payload": {"token": app, "X-Purpose": "marketing"}}
        )
        close_code, reason = await socket.closed()
    assert (close_code, reason.split(":")[:2]) == (
        4400,
        ["Bad Request", " REQUEST_CONTEXT_INVALID"],
    )


async def test_an_officer_declares_purpose_and_case_in_connection_init(
    settings: Settings,
) -> None:
    officer = token(settings, Role.OFFICER, "off-7")
    declared = {"token": officer, "X-Purpose": "tax audit", "X-Case-Ref": "TT-2026-17"}
    async with gateway(settings) as base:
        async with connect(base) as socket:
            await socket.init({"token": officer})
            undeclared = await socket.run(NAME, id=AN)
        async with connect(base) as socket:
            await socket.init(declared)
            allowed = await socket.run(NAME, id=AN)
    assert undeclared["payload"]["data"]["citizen"]["fullName"] is None
    assert codes(undeclared) in (["PURPOSE_REQUIRED"], ["CASE_REF_REQUIRED"])
    assert allowed["payload"]["data"]["citizen"]["fullName"] == "Nguyễn Văn An"


# Per operation


async def test_the_connection_is_closed_4401_when_its_token_expires(settings: Settings) -> None:
    settings = settings.with_values(jwt_leeway_seconds=0)
    short = citizen(settings, ttl=timedelta(seconds=3))
    async with gateway(settings) as base, connect(base) as socket:
        assert (await socket.init({"token": short}))["type"] == "connection_ack"
        first = await socket.run(NAME, id=AN)
        close_code, reason = await socket.closed()
    assert first["payload"]["data"]["citizen"]["fullName"] == "Nguyễn Văn An"
    assert (close_code, reason.split(":")[1].strip()) == (4401, "AUTH_EXPIRED")


async def test_each_operation_verifies_the_token_again(settings: Settings) -> None:
    """A key the identity provider withdrew stops the next operation, not only new sockets."""
    bearer = {"Authorization": f"Bearer {citizen(settings)}"}
    jwks = ensure_demo_keys(settings.data_dir).jwks_path
    async with gateway(settings) as base, connect(base, bearer) as socket:
        await socket.init()
        first = await socket.run(NAME, id=AN)
        jwks.write_text(json.dumps({"keys": []}))
        await socket.subscribe(NAME, id=AN)
        close_code, reason = await socket.closed()
    assert first["type"] == "next"
    assert (close_code, reason.split(":")[1].strip()) == (4401, "AUTH_UNKNOWN_KEY")


async def test_unreadable_keys_close_the_socket_1013(settings: Settings) -> None:
    """No token can be judged: try again later, as HTTP answers 503."""
    jwks = ensure_demo_keys(settings.data_dir).jwks_path
    async with gateway(settings) as base, connect(base) as socket:
        await socket.init({"token": citizen(settings)})
        jwks.write_text("not json")
        await socket.subscribe(NAME, id=AN)
        close_code, reason = await socket.closed()
    assert (close_code, reason.split(":")[:2]) == (
        1013,
        ["Service Unavailable", " AUTH_KEYS_UNAVAILABLE"],
    )


def grant_input() -> dict[str, Any]:
    return {
        "appId": "budget-app",
        "domains": ["PROFILE"],
        "purpose": "budgeting",
        "expiresAt": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    }


async def test_a_revoked_consent_refuses_the_next_operation(settings: Settings) -> None:
    app = token(settings, Role.APP, AN, app_id="budget-app", purpose="budgeting")
    bearer = {"Authorization": f"Bearer {app}"}
    async with gateway(settings) as base, connect(base) as owner, connect(base, bearer) as reader:
        await owner.init({"token": citizen(settings)})
        granted = await owner.run(GRANT, input=grant_input())
        consent = granted["payload"]["data"]["grantConsent"]
        await reader.init()
        during = await reader.run(NAME, id=AN)
        revoked = await owner.run(REVOKE, id=consent["id"])
        after = await reader.run(NAME, id=AN)
    assert consent["state"] == "ACTIVE"
    assert revoked["payload"]["data"]["revokeConsent"]["state"] == "REVOKED"
    assert during["payload"]["data"]["citizen"]["fullName"] == "Nguyễn Văn An"
    assert after["payload"]["data"]["citizen"]["fullName"] is None
    assert codes(after) == ["CONSENT_REQUIRED"]


async def test_each_operation_logs_only_its_own_reads(settings: Settings) -> None:
    bearer = {"Authorization": f"Bearer {citizen(settings)}"}
    async with gateway(settings) as base, connect(base, bearer) as socket:
        await socket.init()
        await socket.run(NAME, id=AN)
        await socket.run(BIRTH, id=AN)
    async with open_database(settings.resolved_database_url) as database:
        page = await AuditLog(database).for_subject(AN, 100)
    assert [event.fields for event in reversed(page.events)] == [("fullName",), ("dateOfBirth",)]


# The controls of the HTTP door


async def test_the_rate_limit_counts_each_operation(settings: Settings) -> None:
    settings = settings.with_values(rate_limit_principal=Limit(2, 3600))
    async with gateway(settings) as base, connect(base) as socket:
        await socket.init({"token": citizen(settings)})
        allowed = [await socket.run(NAME, id=AN) for _ in range(2)]
        refused = await socket.run(NAME, id=AN)
        await socket.ws.send_json({"type": "ping"})
        still_open = await socket.receive()
    assert [message["type"] for message in allowed] == ["next", "next"]
    assert refused["type"] == "error"
    assert codes(refused) == ["RATE_LIMITED"]
    assert refused["payload"][0]["extensions"]["retryAfter"] >= 1
    assert still_open == {"type": "pong"}


async def test_the_rate_limit_is_shared_with_http(settings: Settings) -> None:
    settings = settings.with_values(rate_limit_principal=Limit(2, 3600))
    bearer = citizen(settings)
    headers = {"Authorization": f"Bearer {bearer}"}
    body = {"query": NAME, "variables": {"id": AN}}
    async with gateway(settings) as base, aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.post(f"{base}/graphql", json=body, headers=headers) as response:
                assert response.status == 200
        async with connect(base) as socket:
            await socket.init({"token": bearer})
            refused = await socket.run(NAME, id=AN)
    assert codes(refused) == ["RATE_LIMITED"]


TRUSTED = "query Name($id: String!) { citizen(idNumber: $id) { fullName } }"


async def test_a_trusted_documents_role_runs_only_trusted_documents(
    settings: Settings, tmp_path: Path
) -> None:
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({f"sha256:{document_hash(TRUSTED)}": TRUSTED}))
    settings = settings.with_values(
        graphql_trusted_documents=manifest, graphql_trusted_documents_required_for=("citizen",)
    )
    async with gateway(settings) as base, connect(base) as socket:
        await socket.init({"token": citizen(settings)})
        free_form = await socket.run(NAME, id=AN)
        await socket.ws.send_json(
            {
                "id": "trusted",
                "type": "subscribe",
                "payload": {
                    "documentId": f"sha256:{document_hash(TRUSTED)}",
                    "variables": {"id": AN},
                },
            }
        )
        trusted = await socket.receive()
    assert free_form["type"] == "error"
    assert codes(free_form) == ["TRUSTED_DOCUMENT_REQUIRED"]
    assert trusted["payload"]["data"]["citizen"]["fullName"] == "Nguyễn Văn An"


HUGE = "query { " + "me { fullName } " * 350_000 + "}"


async def test_a_message_over_the_body_cap_is_closed_4413_unread(settings: Settings) -> None:
    assert len(HUGE) > 5_000_000
    async with gateway(settings) as base, connect(base) as socket:
        await socket.init({"token": citizen(settings)})
        await socket.subscribe(HUGE)
        close_code, reason = await socket.closed()
    assert close_code == 4413
    assert "PAYLOAD_TOO_LARGE" in reason
    assert "fullName" not in reason


def subscribe_message(size: int) -> str:
    """A ``subscribe`` message of exactly ``size`` bytes, padded with a comment."""

    def text(padding: int) -> str:
        query = "#" + "x" * padding + "\n{ me { fullName } }"
        return json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}})

    return text(size - len(text(0)))


@pytest.mark.parametrize(
    ("served", "refused_with"),
    [
        pytest.param(False, 4413, id="by-the-gateway"),
        pytest.param(True, 1009, id="by-uvicorn-as-gateway-serve-runs-it"),
    ],
)
async def test_the_cap_is_counted_in_bytes_to_the_byte(
    settings: Settings, served: bool, refused_with: int
) -> None:
    """Where ``gateway serve`` sets uvicorn's WebSocket limit, the server refuses first."""
    settings = settings.with_values(graphql_max_body_bytes=4096)
    options = {"ws_max_size": uvicorn_options(settings)["ws_max_size"]} if served else {}
    async with gateway(settings, **options) as base:
        async with connect(base) as socket:
            await socket.init({"token": citizen(settings)})
            await socket.ws.send_str(subscribe_message(4096))
            at_the_cap = await socket.receive()
        async with connect(base) as socket:
            await socket.init({"token": citizen(settings)})
            await socket.ws.send_str(subscribe_message(4097))
            close_code, _ = await socket.closed()
    assert at_the_cap["payload"]["data"]["me"]["fullName"] == "Nguyễn Văn An"
    assert close_code == refused_with


async def test_a_subscription_with_a_bad_payload_is_closed_4400(settings: Settings) -> None:
    async with gateway(settings) as base, connect(base) as socket:
        await socket.init({"token": citizen(settings)})
        await socket.ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": 7}})
        close_code, reason = await socket.closed()
    assert close_code == 4400
    assert "query" in reason
