"""Health and social insurance, from the social security agency, by the holder's ID number."""

from __future__ import annotations

from datetime import date

import strawberry

from integrations.upstreams import HealthCard as HealthCardRecord
from integrations.upstreams import SocialInsurance as SocialInsuranceRecord
from integrations.upstreams import SocialStatus
from resolvers.context import Info

strawberry.enum(SocialStatus, name="SocialInsuranceStatus")


@strawberry.type(description="A health insurance card and the hospital it is registered with.")
class HealthCard:
    card_number: str
    valid_from: date
    valid_to: date
    hospital_code: str
    hospital_name: str

    @classmethod
    def of(cls, card: HealthCardRecord) -> HealthCard:
        return cls(
            card_number=card.card_number,
            valid_from=card.valid_from,
            valid_to=card.valid_to,
            hospital_code=card.hospital_code,
            hospital_name=card.hospital_name,
        )

    @strawberry.field(description="Whether the card covers today.")
    def is_valid(self, info: Info) -> bool:
        return self.valid_from <= info.context.clock().date() <= self.valid_to


@strawberry.type(description="Social insurance: whether the person contributes, and for how long.")
class SocialInsurance:
    social_number: str
    status: SocialStatus
    contribution_months: int

    @classmethod
    def of(cls, record: SocialInsuranceRecord) -> SocialInsurance:
        return cls(
            social_number=record.social_number,
            status=record.status,
            contribution_months=record.contribution_months,
        )


@strawberry.type(description="What the social security agency holds about one person.")
class Insurance:
    holder_id: strawberry.Private[str]

    @strawberry.field
    async def health_card(self, info: Info) -> HealthCard | None:
        card = await info.context.loaders.health_cards.load(self.holder_id)
        return HealthCard.of(card) if card else None

    @strawberry.field
    async def social(self, info: Info) -> SocialInsurance | None:
        record = await info.context.loaders.social.load(self.holder_id)
        return SocialInsurance.of(record) if record else None
