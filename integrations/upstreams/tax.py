"""The tax registry: taxpayers by tax code or personal ID, and legacy personal tax codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from integrations.upstreams.service import UpstreamHealth, UpstreamService
from integrations.upstreams.shapes import Fields


class TaxpayerKind(StrEnum):
    BUSINESS = "business"
    BRANCH = "branch"
    HOUSEHOLD = "household"
    INDIVIDUAL = "individual"


class TaxStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    CEASED = "CEASED"


@dataclass(frozen=True, slots=True)
class Taxpayer:
    """A registration; ``personal_id`` is set for individuals and household businesses."""

    tax_code: str
    kind: TaxpayerKind
    name: str
    personal_id: str | None
    legacy_code: str | None
    parent_tax_code: str | None
    tax_office: str
    status: TaxStatus
    status_date: date | None
    address: str


def decode_taxpayer(fields: Fields) -> Taxpayer:
    return Taxpayer(
        tax_code=fields.text("tax_code"),
        kind=fields.choice("kind", TaxpayerKind),
        name=fields.text("name"),
        personal_id=fields.optional_text("personal_id"),
        legacy_code=fields.optional_text("legacy_code"),
        parent_tax_code=fields.optional_text("parent_tax_code"),
        tax_office=fields.text("tax_office"),
        status=fields.choice("status", TaxStatus),
        status_date=fields.optional_day("status_date"),
        address=fields.text("address"),
    )


def decode_legacy_mapping(fields: Fields) -> str:
    return fields.text("personal_id")


class TaxRegistryClient(Protocol):
    async def taxpayers(self, codes: Sequence[str], *, scope: str) -> dict[str, Taxpayer | None]:
        """Registrations by tax code (10 or 10-3 digits) or 12-digit personal ID number."""
        ...

    async def personal_ids_for_legacy(
        self, codes: Sequence[str], *, scope: str
    ) -> dict[str, str | None]:
        """The personal ID number behind each pre-2025 10-digit personal tax code."""
        ...

    def health(self) -> UpstreamHealth: ...


class HttpTaxRegistryClient:
    """``TaxRegistryClient`` over the agency's HTTP batch API."""

    def __init__(self, service: UpstreamService) -> None:
        self._service = service
        self._taxpayers = service.reader("taxpayers", decode_taxpayer)
        self._legacy = service.reader("legacy-codes", decode_legacy_mapping)

    async def taxpayers(self, codes: Sequence[str], *, scope: str) -> dict[str, Taxpayer | None]:
        return await self._taxpayers.read(codes, scope=scope)

    async def personal_ids_for_legacy(
        self, codes: Sequence[str], *, scope: str
    ) -> dict[str, str | None]:
        return await self._legacy.read(codes, scope=scope)

    def health(self) -> UpstreamHealth:
        return self._service.health()
