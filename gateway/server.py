"""How uvicorn serves the gateway: the options ``gateway serve`` and ``gateway demo`` share."""

from __future__ import annotations

from typing import Any

from gateway.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Where to listen, no access log of uvicorn's own (the gateway logs each request), and
    WebSocket messages capped as GraphQL bodies are, so larger frames are never read."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "ws_max_size": settings.graphql_max_body_bytes,
    }
