"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import Response

from gateway.http.responses import json_response
from gateway.state import services_of
from integrations.errors import StoreError

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's own variable: set when the process starts, it writes every value to a
file of that folder, for whichever worker answers the scrape to sum."""


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    services = services_of(request)
    checks: dict[str, object] = {}
    ready = True
    try:
        await services.database.ping()
        checks["database"] = "ok"
    except StoreError as exc:
        checks["database"] = exc.message
        ready = False
    for name, check in services.readiness_checks.items():
        healthy, detail = check()
        checks[name] = detail
        ready = ready and healthy
    status = "ready" if ready else "unavailable"
    return json_response({"status": status, "checks": checks}, status=200 if ready else 503)


async def metrics(request: Request) -> Response:
    """Every worker's metrics under ``gateway serve --workers N``, which has them written to
    ``PROMETHEUS_MULTIPROC_DIR``; this process's alone otherwise."""
    registry = services_of(request).metrics_registry
    if MULTIPROC_DIR in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def worker_stopped() -> None:
    """Drop this worker's live gauges from the sum (its counters stay: they never go back)."""
    if MULTIPROC_DIR in os.environ:
        mark_process_dead(os.getpid())
