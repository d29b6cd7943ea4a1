"""The long-lived services a running app holds, built once in the lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from starlette.requests import Request

from gateway.config import Settings
from integrations.store.database import Database

ReadinessCheck = Callable[[], tuple[bool, object]]


@dataclass
class Services:
    settings: Settings
    database: Database
    metrics_registry: CollectorRegistry
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)


def services_of(request: Request) -> Services:
    services: Services = request.state.services
    return services
