"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import Scope

from gateway.config import Settings, load_settings
from gateway.http import errors, health
from gateway.http.observe import HttpMetrics, ObserveRequests
from gateway.logs import configure_logging
from gateway.state import Services
from integrations.store.database import open_database


def create_app(settings: Settings) -> Starlette:
    registry = CollectorRegistry()
    routes = [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
    ]
    templates = {route.endpoint: route.path for route in routes}

    def route_of(scope: Scope) -> str:
        return templates.get(scope.get("endpoint"), "unmatched")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Services]]:
        async with open_database(settings.resolved_database_url) as database:
            yield {"services": Services(settings, database, registry)}

    return Starlette(
        routes=routes,
        middleware=[Middleware(ObserveRequests, metrics=HttpMetrics(registry), route_of=route_of)],
        exception_handlers={
            404: errors.not_found,
            405: errors.method_not_allowed,
            Exception: errors.internal_error,
        },
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """Entry point for ``uvicorn --factory`` and worker processes: settings from GATEWAY_*."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
