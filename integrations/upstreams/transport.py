"""The seam between the clients and the network: a small protocol and its aiohttp implementation.

Only this module touches sockets. Everything above it sees ``TransportResponse`` values or
``UpstreamError``s, so a test or an alternative HTTP stack can stand in through ``Transport``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from integrations.upstreams.failures import map_failures


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-attempt limits in seconds."""

    connect: float
    total: float


@dataclass(frozen=True, slots=True)
class TransportResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Sends one request; raises only ``UpstreamError`` subclasses for transport failures."""

    async def post(
        self,
        service: str,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        timeouts: Timeouts,
    ) -> TransportResponse: ...

    async def close(self) -> None: ...


class AiohttpTransport:
    """A ``Transport`` over one shared ``aiohttp.ClientSession``, created inside the event loop."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}

    @classmethod
    def open(cls, *, max_connections: int) -> AiohttpTransport:
        return cls(shared_session(aiohttp.TCPConnector(limit=max_connections, ttl_dns_cache=300)))

    async def post(
        self,
        service: str,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        timeouts: Timeouts,
    ) -> TransportResponse:
        with map_failures(service):
            async with self._session.post(
                url,
                data=body,
                headers=headers,
                timeout=self._timeout(timeouts),
                allow_redirects=False,
            ) as response:
                payload = await response.read()
                return TransportResponse(response.status, response.headers, payload)

    def _timeout(self, timeouts: Timeouts) -> aiohttp.ClientTimeout:
        """aiohttp's form of ``timeouts``, made once per agency's settings, not per request."""
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=timeouts.total, sock_connect=timeouts.connect)
            self._timeouts[timeouts] = timeout
        return timeout

    async def close(self) -> None:
        await self._session.close()


def shared_session(connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
    """A session for every citizen's requests at once, so it keeps no cookie: one an agency
    set in answer to one request would otherwise travel with the next, whoever it is for."""
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False
    )
