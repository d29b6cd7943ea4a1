"""A ``graphql-transport-ws`` client socket for the tests, subscribed to one operation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp


@asynccontextmanager
async def subscribed(
    base: str, headers: Mapping[str, str], query: str, **variables: object
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A socket to ``base``'s ``/graphql``, acknowledged, with ``query`` sent as operation 1."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(
            f"{base}/graphql", protocols=["graphql-transport-ws"], headers=dict(headers)
        ) as ws,
    ):
        await ws.send_json({"type": "connection_init"})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        payload = {"query": query, "variables": variables}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        yield ws
