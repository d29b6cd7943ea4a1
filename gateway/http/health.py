"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from gateway.http.responses import json_response
from gateway.state import services_of
from integrations.errors import StoreError


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
    payload = generate_latest(services_of(request).metrics_registry)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
