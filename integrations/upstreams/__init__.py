"""Clients for the agencies' HTTP services, behind one resilience pipeline per agency.

Callers use ``Upstreams`` and the per-agency protocols; every read is batched and scoped::

    async with Upstreams.open(settings_by_service, registry=registry) as upstreams:
        people = await upstreams.population.people(ids, scope="officer:42:case-7")

Failures surface as ``integrations.errors.UpstreamError`` subclasses carrying ``service``.
"""

from integrations.upstreams.bills import Bill, UtilityContract
from integrations.upstreams.breaker import BreakerState, CircuitBreaker, CircuitOpen
from integrations.upstreams.budget import RetryBudget
from integrations.upstreams.cache import ScopedCache
from integrations.upstreams.calls import BatchCall, Fetch, Items, Layer
from integrations.upstreams.clients import SERVICES, Upstreams, shared_transport
from integrations.upstreams.electricity import (
    ElectricityClient,
    ElectricityContract,
    HttpElectricityClient,
)
from integrations.upstreams.failures import map_failures
from integrations.upstreams.insurance import (
    HealthCard,
    HttpInsuranceClient,
    InsuranceClient,
    SocialInsurance,
    SocialStatus,
)
from integrations.upstreams.metrics import UpstreamMetrics
from integrations.upstreams.population import HttpPopulationClient, Person, PopulationClient, Sex
from integrations.upstreams.retry import Retry
from integrations.upstreams.service import Clock, UpstreamHealth, UpstreamService
from integrations.upstreams.settings import UpstreamSettings
from integrations.upstreams.singleflight import SingleFlight
from integrations.upstreams.tax import (
    HttpTaxRegistryClient,
    Taxpayer,
    TaxpayerKind,
    TaxRegistryClient,
    TaxStatus,
)
from integrations.upstreams.telecom import HttpTelecomClient, TelecomClient, TelecomSubscription
from integrations.upstreams.timeouts import Deadline
from integrations.upstreams.transport import (
    AiohttpTransport,
    Timeouts,
    Transport,
    TransportResponse,
    shared_session,
)
from integrations.upstreams.water import HttpWaterClient, WaterClient, WaterContract

__all__ = [
    "SERVICES",
    "AiohttpTransport",
    "BatchCall",
    "Bill",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "Clock",
    "Deadline",
    "ElectricityClient",
    "ElectricityContract",
    "Fetch",
    "HealthCard",
    "HttpElectricityClient",
    "HttpInsuranceClient",
    "HttpPopulationClient",
    "HttpTaxRegistryClient",
    "HttpTelecomClient",
    "HttpWaterClient",
    "InsuranceClient",
    "Items",
    "Layer",
    "Person",
    "PopulationClient",
    "Retry",
    "RetryBudget",
    "ScopedCache",
    "Sex",
    "SingleFlight",
    "SocialInsurance",
    "SocialStatus",
    "TaxRegistryClient",
    "TaxStatus",
    "Taxpayer",
    "TaxpayerKind",
    "TelecomClient",
    "TelecomSubscription",
    "Timeouts",
    "Transport",
    "TransportResponse",
    "UpstreamHealth",
    "UpstreamMetrics",
    "UpstreamService",
    "UpstreamSettings",
    "Upstreams",
    "UtilityContract",
    "WaterClient",
    "WaterContract",
    "map_failures",
    "shared_session",
    "shared_transport",
]
