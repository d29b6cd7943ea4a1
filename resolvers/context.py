"""The per-request context: who asks, the guard and loaders made for them, the services.

The app builds one ``Context`` per request with ``build_context``; long-lived services
(upstream clients, stores, the access log, the intake) are passed in, never reached globally.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from integrations.access import AccessSession, AuditLog, ConsentStore, Principal
from integrations.einvoice.broadcast import InvoiceBroadcaster
from integrations.einvoice.pipeline import Intake
from integrations.store.analytics import InvoiceAnalytics
from integrations.store.invoices import InvoiceStore
from integrations.store.risk import FlagView, RiskStore
from integrations.upstreams import Upstreams
from resolvers.loaders import Loaders, scope_of

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a resolver may use; ``access``, ``loaders`` and ``flags`` live for this
    request only. ``broadcaster`` is None where no live invoices are offered."""

    principal: Principal
    access: AccessSession
    loaders: Loaders
    upstreams: Upstreams
    store: InvoiceStore
    audit: AuditLog
    consents: ConsentStore
    intake: Intake | None
    clock: Clock
    analytics: InvoiceAnalytics
    flags: DataLoader[uuid.UUID, tuple[FlagView, ...]]
    broadcaster: InvoiceBroadcaster | None


Info = strawberry.Info[Context, Any]


def build_context(
    *,
    principal: Principal,
    upstreams: Upstreams,
    store: InvoiceStore,
    audit: AuditLog,
    intake: Intake | None = None,
    consents: ConsentStore | None = None,
    clock: Clock = utc_now,
    analytics: InvoiceAnalytics | None = None,
    risks: RiskStore | None = None,
    broadcaster: InvoiceBroadcaster | None = None,
) -> Context:
    """A fresh context for one request by ``principal`` (already carrying purpose and case)."""
    consents = consents or ConsentStore()
    return Context(
        principal=principal,
        access=AccessSession(principal, consents, audit, clock),
        loaders=Loaders.for_request(upstreams, scope_of(principal)),
        upstreams=upstreams,
        store=store,
        audit=audit,
        consents=consents,
        intake=intake,
        clock=clock,
        analytics=analytics or InvoiceAnalytics(),
        flags=flag_loader(risks or RiskStore()),
        broadcaster=broadcaster,
    )


def flag_loader(risks: RiskStore) -> DataLoader[uuid.UUID, tuple[FlagView, ...]]:
    """Active risk flags of every invoice a request shows, in one query per tick."""

    async def load(invoice_ids: list[uuid.UUID]) -> list[tuple[FlagView, ...]]:
        found = await risks.flags_of(invoice_ids)
        return [tuple(found.get(invoice_id, ())) for invoice_id in invoice_ids]

    return DataLoader(load_fn=load)
