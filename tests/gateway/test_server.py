"""How ``gateway serve`` runs uvicorn: nothing in its settings closes a connection under a
client that is still using it."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.config import load_settings
from gateway.server import uvicorn_options

AIOHTTP_KEEPALIVE = 15.0
LOAD_BALANCER_IDLE = 60.0


def served_config(tmp_path: Path) -> uvicorn.Config:
    settings = load_settings(environ={}, data_dir=str(tmp_path))
    return uvicorn.Config(app=lambda *_: None, **uvicorn_options(settings))


async def test_keep_alive_outlasts_every_client_idle_reuse(tmp_path: Path) -> None:
    """A server that closes idle connections sooner than a client stops reusing them races
    the client's next request on them: that request is reset."""
    config = served_config(tmp_path)
    async with aiohttp.ClientSession() as session:
        connector = session.connector
        assert connector is not None
        client_idle = connector._keepalive_timeout
    assert client_idle == AIOHTTP_KEEPALIVE
    assert config.timeout_keep_alive > max(client_idle, LOAD_BALANCER_IDLE)


def test_workers_are_never_recycled_and_connections_queue(tmp_path: Path) -> None:
    config = served_config(tmp_path)
    assert config.limit_max_requests is None
    assert config.backlog >= 1024


def test_http_is_parsed_by_httptools(tmp_path: Path) -> None:
    """Never uvicorn's fallback, h11, which parses in Python."""
    config = served_config(tmp_path)
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
