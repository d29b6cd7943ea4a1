"""The reference client, ``graphql-ws`` from npm, against the real server.

The client sends the token as browser apps do, in ``connection_init``'s payload
(``connectionParams``). It lives in tests/support/graphql_ws_client; CI installs it with
``npm ci``. Without node or the installed modules these tests skip, or fail where services are
required.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.config import Settings
from integrations.access.principal import Role
from tests.conftest import service_missing
from tests.support.servers import live_server
from tests.support.tokens import token

CLIENT = Path(__file__).parents[1] / "support" / "graphql_ws_client"
AN = "001099012345"
ME = {"query": "{ me { fullName } }"}


@pytest.fixture(scope="module")
def node_client() -> list[str]:
    node = shutil.which("node")
    if node is None:
        service_missing("node", "it is not on PATH")
    if not (CLIENT / "node_modules" / "graphql-ws").is_dir():
        service_missing("graphql-ws", f"its modules are not installed: run npm ci in {CLIENT}")
    return [str(node), str(CLIENT / "client.mjs")]


async def run(command: list[str], url: str, request: dict[str, Any], *token: str) -> list[Any]:
    """The client's events, one per line it printed."""
    process = await asyncio.create_subprocess_exec(
        *command,
        url,
        json.dumps(request),
        *token,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    # A guard against a hang, not a timing assertion.
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_the_reference_client_runs_an_operation_with_its_connection_params(
    settings: Settings, node_client: list[str]
) -> None:
    async with live_server(create_app(settings)) as base:
        url = base.replace("http", "ws", 1) + "/graphql"
        events = await run(node_client, url, ME, token(settings, Role.CITIZEN, AN))
    assert {"next": {"data": {"me": {"fullName": "Nguyễn Văn An"}}}} in events
    assert {"complete": True} in events


async def test_the_reference_client_without_a_token_is_closed_4401(
    settings: Settings, node_client: list[str]
) -> None:
    async with live_server(create_app(settings)) as base:
        url = base.replace("http", "ws", 1) + "/graphql"
        events = await run(node_client, url, ME)
    (closed,) = [event["closed"] for event in events if "closed" in event]
    assert closed["code"] == 4401
    assert closed["reason"].startswith("Unauthorized: AUTH_REQUIRED")
    assert not [event for event in events if "next" in event]
