"""The ASGI application factory: routes, middleware, and the services the lifespan builds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from gateway.config import Settings, load_settings
from gateway.http import errors, health, intake, invoices
from gateway.http.errors import error_response
from gateway.http.observe import HttpMetrics, ObserveRequests
from gateway.keys import load_key_material
from gateway.logs import configure_logging
from gateway.state import Authenticate, Services
from integrations.cpu import CpuPool
from integrations.einvoice.batches import MessageIntake
from integrations.einvoice.checks import Checker, CheckSettings
from integrations.einvoice.link import IdentityLinker
from integrations.einvoice.parse import Limits
from integrations.einvoice.pipeline import Intake
from integrations.einvoice.receipts import ReceiptSigner
from integrations.einvoice.rules import RuleSettings
from integrations.einvoice.schema import Schemas, default_xsd_dir
from integrations.einvoice.signature import SignaturePolicy
from integrations.store.database import Database, open_database
from integrations.store.invoices import InvoiceStore
from integrations.store.merchants import MerchantRegistry
from integrations.store.messages import MessageStore


def create_app(settings: Settings, *, authenticate: Authenticate | None = None) -> Starlette:
    registry = CollectorRegistry()
    routes = [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
        Route("/v1/invoices", intake.submit_invoice, methods=["POST"]),
        Route("/v1/messages", intake.submit_message, methods=["POST"]),
        Route("/v1/invoices/{invoice_id}", invoices.get_invoice, methods=["GET"]),
        Route("/v1/invoices/{invoice_id}/xml", invoices.get_invoice_xml, methods=["GET"]),
        Route("/v1/invoices/{invoice_id}/receipt", invoices.get_receipt, methods=["GET"]),
    ]
    templates = {route.endpoint: route.path for route in routes}

    def route_of(scope: Scope) -> str:
        return templates.get(scope.get("endpoint"), "unmatched")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Services]]:
        cpu = CpuPool()
        try:
            async with open_database(settings.resolved_database_url) as database:
                services = build_services(settings, database, registry, cpu, authenticate or nobody)
                yield {"services": services}
        finally:
            cpu.close()

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


def build_services(
    settings: Settings,
    database: Database,
    registry: CollectorRegistry,
    cpu: CpuPool,
    authenticate: Authenticate,
) -> Services:
    keys = load_key_material(settings)
    skew = timedelta(seconds=settings.clock_skew_seconds)
    checker = Checker(
        schemas=Schemas(default_xsd_dir()),
        trust=keys.trust,
        settings=CheckSettings(
            limits=Limits(max_bytes=settings.max_body_bytes),
            rules=RuleSettings(clock_skew=skew),
            signature=SignaturePolicy(allow_sha1=settings.allow_sha1, clock_skew=skew),
        ),
    )
    merchants = MerchantRegistry()
    signer = ReceiptSigner(keys.signer)
    invoice_intake = Intake(
        checker=checker,
        registry=merchants,
        store=InvoiceStore(),
        linker=IdentityLinker(),
        signer=signer,
        cpu=cpu,
    )
    return Services(
        settings=settings,
        database=database,
        metrics_registry=registry,
        cpu=cpu,
        intake=invoice_intake,
        messages=MessageIntake(invoice_intake, MessageStore()),
        registry=merchants,
        receipt_signer=signer,
        authenticate=authenticate,
    )


async def nobody(request: Request) -> Response:
    """Without a token verifier nobody is authenticated: every protected route answers 401."""
    return error_response(401, "AUTH_REQUIRED", "No token verifier is configured")


def app_from_environment() -> Starlette:
    """Entry point for ``uvicorn --factory`` and worker processes: settings from GATEWAY_*."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
