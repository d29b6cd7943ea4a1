"""The ASGI application factory: routes, middleware, and the services the lifespan builds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from gateway.config import Settings, load_settings
from gateway.heap import freeze_startup_heap
from gateway.http import admin, errors, export, health, intake, invoices, keys, openapi
from gateway.http.authn import Authenticator
from gateway.http.graph import graphql_route
from gateway.http.observe import HttpMetrics, ObserveRequests
from gateway.http.ratelimit import RateLimit
from gateway.logs import configure_logging
from gateway.services import running_services
from gateway.state import Services
from gateway.web import PageSessions, page_routes
from integrations.errors import GatewayError
from integrations.ratelimit.windows import MemoryWindows, RedisWindows, Windows


def create_app(settings: Settings) -> Starlette:
    registry = CollectorRegistry()
    authenticator = Authenticator()
    windows = rate_windows(settings)
    graphql = graphql_route(settings, authenticator, windows)
    routes: list[BaseRoute] = [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
        Route(openapi.PATH, openapi.document, methods=["GET"]),
        Route("/v1/invoices", intake.submit_invoice, methods=["POST"]),
        Route("/v1/messages", intake.submit_message, methods=["POST"]),
        Route("/v1/invoices/{invoice_id}", invoices.get_invoice, methods=["GET"]),
        Route("/v1/invoices/{invoice_id}/xml", invoices.get_invoice_xml, methods=["GET"]),
        Route("/v1/invoices/{invoice_id}/receipt", invoices.get_receipt, methods=["GET"]),
        *admin.routes,
        *export.routes,
        *keys.routes,
        *page_routes(settings, graphql, authenticator),
        graphql,
    ]
    templates = {route.endpoint: route.path for route in routes if isinstance(route, Route)}

    def route_of(scope: Scope) -> str:
        return templates.get(scope.get("endpoint"), "unmatched")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Services]]:
        async with running_services(settings, registry, authenticator) as services:
            freeze_startup_heap()
            try:
                yield {"services": services}
            finally:
                health.worker_stopped()

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(ObserveRequests, metrics=HttpMetrics(registry), route_of=route_of),
            # Before the rate limit, so that a page's caller is counted by its session's token.
            Middleware(PageSessions, settings=settings),
            Middleware(
                RateLimit,
                windows=windows,
                per_principal=settings.rate_limit_principal,
                per_address=settings.rate_limit_address,
                identify=authenticator.identify,
            ),
        ],
        exception_handlers={
            errors.Refusal: errors.refused,
            GatewayError: errors.refused,
            404: errors.not_found,
            405: errors.method_not_allowed,
            Exception: errors.internal_error,
        },
        lifespan=lifespan,
    )


def rate_windows(settings: Settings) -> Windows:
    """Counters in Redis when configured, so that every worker shares one budget."""
    if settings.redis_url:
        return RedisWindows(redis.Redis.from_url(settings.redis_url), prefix="gateway:rate:")
    return MemoryWindows()


def app_from_environment() -> Starlette:
    """Entry point for ``uvicorn --factory`` and worker processes: settings from GATEWAY_*."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
