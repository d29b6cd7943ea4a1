"""The population registry: civil records by personal ID number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from integrations.upstreams.service import UpstreamHealth, UpstreamService
from integrations.upstreams.shapes import Fields


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class Person:
    id_number: str
    full_name: str
    sex: Sex
    date_of_birth: date
    province_code: str
    place_of_birth: str
    address: str


def decode_person(fields: Fields) -> Person:
    return Person(
        id_number=fields.text("id_number"),
        full_name=fields.text("full_name"),
        sex=fields.choice("sex", Sex),
        date_of_birth=fields.day("date_of_birth"),
        province_code=fields.text("province_code"),
        place_of_birth=fields.text("place_of_birth"),
        address=fields.text("address"),
    )


class PopulationClient(Protocol):
    async def people(self, ids: Sequence[str], *, scope: str) -> dict[str, Person | None]:
        """Civil records by personal ID number; ``None`` for numbers not on record."""
        ...

    def health(self) -> UpstreamHealth: ...


class HttpPopulationClient:
    """``PopulationClient`` over the agency's HTTP batch API."""

    def __init__(self, service: UpstreamService) -> None:
        self._service = service
        self._people = service.reader("people", decode_person)

    async def people(self, ids: Sequence[str], *, scope: str) -> dict[str, Person | None]:
        return await self._people.read(ids, scope=scope)

    def health(self) -> UpstreamHealth:
        return self._service.health()
