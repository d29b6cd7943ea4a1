"""The telecom subscriber registry: mobile subscriptions by the subscriber's personal ID."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from integrations.upstreams.service import UpstreamHealth, UpstreamService
from integrations.upstreams.shapes import Fields


@dataclass(frozen=True, slots=True)
class TelecomSubscription:
    msisdn: str
    operator: str
    plan: str
    status: str
    since: date


def decode_subscription(fields: Fields) -> TelecomSubscription:
    return TelecomSubscription(
        msisdn=fields.text("msisdn"),
        operator=fields.text("operator"),
        plan=fields.text("plan"),
        status=fields.text("status"),
        since=fields.day("since"),
    )


def decode_subscriptions(fields: Fields) -> tuple[TelecomSubscription, ...]:
    return fields.each("subscriptions", decode_subscription)


class TelecomClient(Protocol):
    async def subscriptions(
        self, ids: Sequence[str], *, scope: str
    ) -> dict[str, tuple[TelecomSubscription, ...] | None]:
        """Subscriptions registered to each personal ID number."""
        ...

    def health(self) -> UpstreamHealth: ...


class HttpTelecomClient:
    """``TelecomClient`` over the agency's HTTP batch API."""

    def __init__(self, service: UpstreamService) -> None:
        self._service = service
        self._subscriptions = service.reader("subscriptions", decode_subscriptions)

    async def subscriptions(
        self, ids: Sequence[str], *, scope: str
    ) -> dict[str, tuple[TelecomSubscription, ...] | None]:
        return await self._subscriptions.read(ids, scope=scope)

    def health(self) -> UpstreamHealth:
        return self._service.health()
