"""The long-lived services a running app holds, built once in the lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from starlette.requests import Request

from gateway.config import Settings
from gateway.http.authn import Authenticator
from integrations.access.audit import AuditLog
from integrations.access.consents import ConsentStore
from integrations.access.service import AccessService
from integrations.bus import Bus, MemoryBus
from integrations.cpu import CpuPool
from integrations.einvoice.batches import MessageIntake
from integrations.einvoice.broadcast import InvoiceBroadcaster
from integrations.einvoice.pipeline import Intake
from integrations.einvoice.receipts import ReceiptSigner
from integrations.store.database import Database
from integrations.store.merchants import MerchantRegistry
from integrations.upstreams import Upstreams

ReadinessCheck = Callable[[], tuple[bool, object]]


@dataclass
class Services:
    settings: Settings
    database: Database
    metrics_registry: CollectorRegistry
    cpu: CpuPool
    intake: Intake
    messages: MessageIntake
    registry: MerchantRegistry
    receipt_signer: ReceiptSigner
    authenticate: Authenticator
    upstreams: Upstreams
    audit: AuditLog
    consents: ConsentStore
    access: AccessService
    broadcaster: InvoiceBroadcaster = field(default_factory=InvoiceBroadcaster)
    bus: Bus = field(default_factory=MemoryBus)
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)


def services_of(request: Request) -> Services:
    services: Services = request.state.services
    return services
