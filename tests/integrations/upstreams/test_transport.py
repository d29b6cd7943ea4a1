from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from integrations.upstreams.transport import AiohttpTransport, Timeouts, shared_session

SECOND = Timeouts(connect=1.0, total=1.0)


@pytest.fixture
async def cookie_setter() -> AsyncIterator[tuple[str, list[str | None]]]:
    """An agency on loopback that sets a cookie on every answer, and the Cookie headers it got."""
    received: list[str | None] = []

    async def answer(request: web.Request) -> web.Response:
        received.append(request.headers.get("Cookie"))
        response = web.json_response({})
        response.set_cookie("session", f"citizen-{len(received)}")
        return response

    app = web.Application()
    app.router.add_post("/", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://localhost:{port}/", received
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    "transport_of",
    [
        pytest.param(lambda: AiohttpTransport.open(max_connections=2), id="open"),
        pytest.param(
            lambda: AiohttpTransport(shared_session(aiohttp.TCPConnector(limit=0))),
            id="the-gateways-session",
        ),
    ],
)
async def test_a_cookie_an_agency_sets_is_never_sent_with_another_request(
    cookie_setter: tuple[str, list[str | None]], transport_of: Callable[[], AiohttpTransport]
) -> None:
    """One session serves every citizen's reads, so a cookie kept from one answer would travel
    with the next citizen's request: the transport keeps none."""
    url, received = cookie_setter
    transport = transport_of()
    try:
        for _ in range(3):
            answer = await transport.post("agency", url, body=b"{}", headers={}, timeouts=SECOND)
            assert "session=citizen-" in answer.headers["Set-Cookie"]
    finally:
        await transport.close()
    assert received == [None, None, None]
