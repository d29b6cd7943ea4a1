"""Data loaders: one per agency resource, made fresh for each request.

Every key a request asks for within one tick of the event loop goes to the agency in one
batched client call, so a query costs at most one call per resource per level however many
nodes it touches. Loaders read under the principal's scope: the upstream cache and in-flight
sharing never cross from one principal (or one declared purpose) to another.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from strawberry.dataloader import DataLoader

from integrations.access.principal import Principal
from integrations.errors import UpstreamError
from integrations.upstreams import (
    ElectricityContract,
    HealthCard,
    Person,
    SocialInsurance,
    Taxpayer,
    TelecomSubscription,
    Upstreams,
    WaterContract,
)
from resolvers.errors import to_graphql_error

V = TypeVar("V")
Read = Callable[[Sequence[str]], Awaitable[Mapping[str, V | None]]]


def scope_of(principal: Principal) -> str:
    """The upstream scope of a principal's reads, e.g. ``officer:42:audit:TT-2026-17``.

    Officers read per purpose and case, apps per purpose: each is a separate read at the agency
    and a separate cache, so data read for one case is never served for another.
    """
    if principal.is_officer:
        return f"{principal.actor}:{principal.purpose}:{principal.case_ref}"
    if principal.is_app and principal.app_id:
        return app_scope(principal.app_id, principal.purpose)
    return principal.actor


def app_scope(app_id: str, purpose: str) -> str:
    """The scope of an app's reads for one purpose; revoking a consent forgets it."""
    return f"app:{app_id}:{purpose}"


def batched(read: Read[V]) -> DataLoader[str, V | None]:
    """A loader whose batch is one ``read`` call; an agency failure fails the whole batch.

    The failure becomes a GraphQL error carrying ``extensions.code`` and ``service``, raised
    on every field that waited for the batch, so each one nulls only its own subtree.
    """

    async def load(keys: list[str]) -> list[V | None]:
        try:
            found = await read(keys)
        except UpstreamError as exc:
            raise to_graphql_error(exc) from exc
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


@dataclass(frozen=True, slots=True)
class Loaders:
    """The loaders of one request, keyed by personal ID number or tax code."""

    people: DataLoader[str, Person | None]
    taxpayers: DataLoader[str, Taxpayer | None]
    legacy_ids: DataLoader[str, str | None]
    health_cards: DataLoader[str, HealthCard | None]
    social: DataLoader[str, SocialInsurance | None]
    electricity: DataLoader[str, tuple[ElectricityContract, ...] | None]
    water: DataLoader[str, tuple[WaterContract, ...] | None]
    telecom: DataLoader[str, tuple[TelecomSubscription, ...] | None]

    @classmethod
    def for_request(cls, upstreams: Upstreams, scope: str) -> Loaders:
        def bind(read: Callable[..., Awaitable[Mapping[str, V | None]]]) -> Read[V]:
            return lambda keys: read(keys, scope=scope)

        return cls(
            people=batched(bind(upstreams.population.people)),
            taxpayers=batched(bind(upstreams.tax.taxpayers)),
            legacy_ids=batched(bind(upstreams.tax.personal_ids_for_legacy)),
            health_cards=batched(bind(upstreams.insurance.cards)),
            social=batched(bind(upstreams.insurance.social)),
            electricity=batched(bind(upstreams.electricity.contracts)),
            water=batched(bind(upstreams.water.contracts)),
            telecom=batched(bind(upstreams.telecom.subscriptions)),
        )
