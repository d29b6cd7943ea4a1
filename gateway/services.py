"""Building the long-lived services once per process, in the order they depend on each other.

The database, one HTTP session (token keys and agency calls share it), the agencies (the
simulators in-process, or the real ones), the intake and its background work: the retry of
pending identity links, the risk sweeper, and a look at the CRL files for new revocations.
Everything is closed in reverse order when the app stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

import aiohttp
from prometheus_client import CollectorRegistry

from gateway.auth import TokenVerifier
from gateway.config import Settings
from gateway.fleet import event_bus, join_fleet
from gateway.http.authn import Authenticator
from gateway.keys import CrlWatch, KeyMaterial, load_key_material
from gateway.state import ReadinessCheck, Services
from integrations.access.audit import AuditLog
from integrations.access.consents import ConsentStore
from integrations.access.service import AccessService
from integrations.cpu import CpuPool
from integrations.einvoice.batches import MessageIntake
from integrations.einvoice.broadcast import InvoiceBroadcaster
from integrations.einvoice.checks import Checker, CheckSettings
from integrations.einvoice.events import DuplicateAttempt
from integrations.einvoice.link import IdentityLinker, retry_pending_links
from integrations.einvoice.parse import Limits
from integrations.einvoice.pipeline import Intake
from integrations.einvoice.receipts import ReceiptSigner
from integrations.einvoice.rules import RuleSettings
from integrations.einvoice.schema import Schemas, default_xsd_dir
from integrations.einvoice.signature import SignaturePolicy, TrustStore
from integrations.risk import RiskAssessor
from integrations.risk.sweeper import RiskSweeper
from integrations.simulators import run_simulators
from integrations.store.database import open_database
from integrations.store.invoices import InvoiceStore, StoredInvoice
from integrations.store.merchants import MerchantRegistry
from integrations.store.messages import MessageStore
from integrations.store.risk import RiskStore
from integrations.upstreams import (
    AiohttpTransport,
    Upstreams,
    UpstreamSettings,
    shared_session,
)

log = logging.getLogger("gateway.services")

LINK_RETRY_SECONDS = 60.0
SWEEPER_STOP_SECONDS = 5.0
"""How long a stopping gateway lets the risk sweeper finish the invoice in hand before it
cancels it."""
CRL_RELOAD_SECONDS = 30.0
INTAKE_SCOPE = "intake"
"""The cache scope of the intake's own registry lookups: it reads no person's data."""


@asynccontextmanager
async def running_services(
    settings: Settings, registry: CollectorRegistry, authenticator: Authenticator
) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        cpu = CpuPool()
        stack.callback(cpu.close)
        database = await stack.enter_async_context(
            open_database(
                settings.resolved_database_url, analytics_url=settings.analytics_database_url
            )
        )
        session = shared_session(aiohttp.TCPConnector(limit=0))
        stack.push_async_callback(session.close)
        authenticator.bind(TokenVerifier.from_settings(settings, session))
        urls = await stack.enter_async_context(agency_urls(settings))
        upstreams = Upstreams.open(
            upstream_settings(settings, urls),
            registry=registry,
            transport=AiohttpTransport(session),
        )
        keys = load_key_material(settings)
        intake = build_intake(settings, cpu, upstreams, keys)
        sweeper = watch_risks(intake, upstreams)
        broadcaster = InvoiceBroadcaster()
        intake.events.accepted.append(broadcaster.publish)
        bus = event_bus(settings)
        join_fleet(bus, intake=intake, broadcaster=broadcaster, upstreams=upstreams)
        await bus.start()
        stack.push_async_callback(bus.close)
        audit, consents = AuditLog(database), ConsentStore()
        services = Services(
            settings=settings,
            database=database,
            metrics_registry=registry,
            cpu=cpu,
            intake=intake,
            messages=MessageIntake(intake, MessageStore()),
            registry=intake.registry,
            receipt_signer=intake.signer,
            authenticate=authenticator,
            upstreams=upstreams,
            audit=audit,
            consents=consents,
            access=AccessService(consents, audit),
            broadcaster=broadcaster,
            bus=bus,
            readiness_checks={
                "bus": bus.health,
                **{f"upstream:{n}": _breaker_check(upstreams, n) for n in upstreams.services},
            },
        )
        sweeping = asyncio.create_task(sweeper.run())
        background = [
            asyncio.create_task(_retry_links_forever(intake)),
            asyncio.create_task(_reload_crls_forever(keys.crls, sweeper, cpu)),
        ]
        if settings.audit_checkpoint_seconds:
            checkpoints = _checkpoint_forever(
                services.audit, services.receipt_signer, settings.audit_checkpoint_seconds
            )
            background.append(asyncio.create_task(checkpoints))
        try:
            yield services
        finally:
            sweeper.stop()
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(sweeping, SWEEPER_STOP_SECONDS)
            await intake.events.close()


@asynccontextmanager
async def agency_urls(settings: Settings) -> AsyncIterator[Mapping[str, str]]:
    """The agencies' base URLs: the configured ones, or simulators run in this process."""
    if settings.upstream_backend == "agencies":
        yield settings.upstream_urls()
        return
    async with run_simulators() as simulators:
        log.info("agency simulators", extra=dict(simulators.urls))
        yield simulators.urls


def upstream_settings(settings: Settings, urls: Mapping[str, str]) -> dict[str, UpstreamSettings]:
    return {
        agency: UpstreamSettings(
            url,
            api_key=settings.upstream_api_key or None,
            total_timeout=settings.upstream_timeout_seconds,
            deadline=settings.upstream_timeout_seconds,
        )
        for agency, url in urls.items()
    }


def build_checker(settings: Settings, trust: TrustStore) -> Checker:
    """The intake's CPU stages, configured from settings; also used offline by the CLI."""
    skew = timedelta(seconds=settings.clock_skew_seconds)
    return Checker(
        schemas=Schemas(default_xsd_dir()),
        trust=trust,
        settings=CheckSettings(
            limits=Limits(max_bytes=settings.max_body_bytes),
            rules=RuleSettings(clock_skew=skew),
            signature=SignaturePolicy(allow_sha1=settings.allow_sha1, clock_skew=skew),
        ),
    )


def build_intake(
    settings: Settings, cpu: CpuPool, upstreams: Upstreams, keys: KeyMaterial | None = None
) -> Intake:
    keys = keys or load_key_material(settings)
    checker = build_checker(settings, keys.trust)

    async def legacy_lookup(codes: Sequence[str]) -> dict[str, str | None]:
        return await upstreams.tax.personal_ids_for_legacy(codes, scope=INTAKE_SCOPE)

    return Intake(
        checker=checker,
        registry=MerchantRegistry(),
        store=InvoiceStore(),
        linker=IdentityLinker(legacy_lookup),
        signer=ReceiptSigner(keys.signer, keys.retired),
        cpu=cpu,
    )


def watch_risks(intake: Intake, upstreams: Upstreams) -> RiskSweeper:
    """Flag risks of accepted invoices behind the intake, and record refused duplicates.

    Acceptances only poke the sweeper, which reads the invoices waiting from the database.
    """
    store = RiskStore()
    assessor = RiskAssessor(
        store=store,
        population=upstreams.population,
        tax=upstreams.tax,
        revocations=intake.checker.trust,
    )

    async def duplicate(attempt: DuplicateAttempt) -> object:
        return await assessor.record_duplicate_attempt(
            attempt.original.id, sha256=attempt.sha256, submitter=attempt.submitter
        )

    sweeper = RiskSweeper(assessor, store)

    async def poke(invoice: StoredInvoice) -> None:
        sweeper.poke()

    intake.events.accepted.append(poke)
    intake.events.duplicates.append(duplicate)
    return sweeper


def _breaker_check(upstreams: Upstreams, name: str) -> ReadinessCheck:
    """Report an agency's circuit without failing readiness: one agency down nulls only its
    own fields, so taking the whole gateway out of the load balancer would be worse."""

    def check() -> tuple[bool, object]:
        return True, f"circuit {upstreams.services[name].health().breaker.value}"

    return check


async def reload_revocations(crls: CrlWatch, sweeper: RiskSweeper, cpu: CpuPool) -> int:
    """Read the CRL files again if one changed, and have the sweeper assess again the invoices
    the certificates revoked anew may have signed; returns how many were marked.

    A licensed CA's list can run to megabytes, so it is parsed and verified off the loop."""
    revoked = await cpu.run(crls.reload)
    if not revoked:
        return 0
    marked = await sweeper.store.reassess_signed_with(revoked)
    sweeper.poke()
    log.info("revocation lists reloaded", extra={"revoked": len(revoked), "marked": marked})
    return marked


async def _reload_crls_forever(crls: CrlWatch, sweeper: RiskSweeper, cpu: CpuPool) -> None:
    while True:
        await asyncio.sleep(CRL_RELOAD_SECONDS)
        try:
            await reload_revocations(crls, sweeper, cpu)
        except Exception:
            log.exception("reloading the revocation lists failed")


async def _retry_links_forever(intake: Intake) -> None:
    while True:
        await asyncio.sleep(LINK_RETRY_SECONDS)
        try:
            settled = await retry_pending_links(intake.store, intake.linker)
        except Exception:
            log.exception("retrying pending identity links failed")
            continue
        if settled:
            log.info("identity links resolved", extra={"resolved": settled})


async def _checkpoint_forever(audit: AuditLog, signer: ReceiptSigner, seconds: int) -> None:
    """Sign the access log's head every ``seconds``. Every worker runs this; one that finds a
    checkpoint younger than half the interval leaves it be. The log line carries the JWS: a
    copy kept outside the database."""
    while True:
        await asyncio.sleep(seconds)
        try:
            checkpoint = await audit.checkpoint(signer, reuse_within=timedelta(seconds=seconds / 2))
        except Exception:
            log.exception("signing a checkpoint of the access log failed")
            continue
        log.info(
            "access log checkpoint",
            extra={
                "checkpoint": checkpoint.id,
                "head_id": checkpoint.head_id,
                "count": checkpoint.count,
                "jws": checkpoint.signature,
            },
        )
