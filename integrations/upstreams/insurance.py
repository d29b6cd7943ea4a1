"""Social security: health insurance cards and social insurance records by personal ID."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from integrations.upstreams.service import UpstreamHealth, UpstreamService
from integrations.upstreams.shapes import Fields


@dataclass(frozen=True, slots=True)
class HealthCard:
    card_number: str
    holder_id: str
    full_name: str
    valid_from: date
    valid_to: date
    hospital_code: str
    hospital_name: str


class SocialStatus(StrEnum):
    CONTRIBUTING = "CONTRIBUTING"
    PAUSED = "PAUSED"
    RETIRED = "RETIRED"
    NOT_CONTRIBUTING = "NOT_CONTRIBUTING"


@dataclass(frozen=True, slots=True)
class SocialInsurance:
    social_number: str
    holder_id: str
    status: SocialStatus
    contribution_months: int


def decode_card(fields: Fields) -> HealthCard:
    hospital = fields.nested("hospital")
    return HealthCard(
        card_number=fields.text("card_number"),
        holder_id=fields.text("holder_id"),
        full_name=fields.text("full_name"),
        valid_from=fields.day("valid_from"),
        valid_to=fields.day("valid_to"),
        hospital_code=hospital.text("code"),
        hospital_name=hospital.text("name"),
    )


def decode_social(fields: Fields) -> SocialInsurance:
    return SocialInsurance(
        social_number=fields.text("social_number"),
        holder_id=fields.text("holder_id"),
        status=fields.choice("status", SocialStatus),
        contribution_months=fields.integer("contribution_months"),
    )


class InsuranceClient(Protocol):
    async def cards(self, ids: Sequence[str], *, scope: str) -> dict[str, HealthCard | None]:
        """Health insurance cards by the holder's personal ID number."""
        ...

    async def social(self, ids: Sequence[str], *, scope: str) -> dict[str, SocialInsurance | None]:
        """Social insurance records by personal ID number."""
        ...

    def health(self) -> UpstreamHealth: ...


class HttpInsuranceClient:
    """``InsuranceClient`` over the agency's HTTP batch API."""

    def __init__(self, service: UpstreamService) -> None:
        self._service = service
        self._cards = service.reader("cards", decode_card)
        self._social = service.reader("social", decode_social)

    async def cards(self, ids: Sequence[str], *, scope: str) -> dict[str, HealthCard | None]:
        return await self._cards.read(ids, scope=scope)

    async def social(self, ids: Sequence[str], *, scope: str) -> dict[str, SocialInsurance | None]:
        return await self._social.read(ids, scope=scope)

    def health(self) -> UpstreamHealth:
        return self._service.health()
