"""How uvicorn serves the gateway: the options ``gateway serve`` and ``gateway demo`` share."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gateway.config import Settings
from gateway.http.health import MULTIPROC_DIR

KEEP_ALIVE_SECONDS = 75
"""How long an idle kept-alive connection stays open. It must outlast every client's own idle
reuse: a client that sends a request on a connection the server is closing at that instant
gets ``Connection reset by peer``. uvicorn's default is 5 s, below aiohttp's 15 s; browsers
and load balancers keep idle connections up to 60 s; 75 s outlasts them all."""

BACKLOG = 2048
"""Connections the kernel queues before a worker accepts them: many clients opening at once
must wait in it, not be refused (the kernel caps it at ``net.core.somaxconn``)."""


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Where to listen, no access log of uvicorn's own (the gateway logs each request),
    WebSocket messages capped as GraphQL bodies are, so larger frames are never read, and HTTP
    parsed by httptools, named so that a missing module fails at start: uvicorn's fallback,
    h11, parses in Python, and one worker answered ``/healthz`` 5,000 times a second with it
    against 8,500 with httptools.

    Nothing that closes a connection under a client is set: keep-alive outlasts clients'
    (``KEEP_ALIVE_SECONDS``), and workers are never recycled after a number of requests
    (``limit_max_requests``), which would drop every connection a worker holds."""
    return {
        "host": settings.host,
        "port": settings.port,
        "http": "httptools",
        "log_config": None,
        "access_log": False,
        "ws_max_size": settings.graphql_max_body_bytes,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "backlog": BACKLOG,
        "limit_max_requests": None,
    }


@contextmanager
def worker_metrics(settings: Settings) -> Iterator[None]:
    """With several workers, a fresh folder for their metrics, so that ``/metrics`` answered
    by any of them sums all; removed at exit. Never an old one: the counts of an earlier
    run's workers would be added to this run's."""
    if settings.workers < 2:
        yield
        return
    if settings.metrics_dir is not None:
        settings.metrics_dir.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="gateway-metrics-", dir=settings.metrics_dir)
    os.environ[MULTIPROC_DIR] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROC_DIR]
        shutil.rmtree(folder, ignore_errors=True)
