"""The electricity distributor: supply contracts and recent bills, by the holder's personal ID."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from integrations.upstreams.bills import UtilityContract, contracts_decoder
from integrations.upstreams.service import UpstreamHealth, UpstreamService


@dataclass(frozen=True, slots=True)
class ElectricityContract(UtilityContract):
    """An electricity supply contract."""


decode_contracts = contracts_decoder(ElectricityContract)


class ElectricityClient(Protocol):
    async def contracts(
        self, ids: Sequence[str], *, scope: str
    ) -> dict[str, tuple[ElectricityContract, ...] | None]:
        """Contracts held by each personal ID number; empty when the person holds none."""
        ...

    def health(self) -> UpstreamHealth: ...


class HttpElectricityClient:
    """``ElectricityClient`` over the agency's HTTP batch API."""

    def __init__(self, service: UpstreamService) -> None:
        self._service = service
        self._contracts = service.reader("contracts", decode_contracts)

    async def contracts(
        self, ids: Sequence[str], *, scope: str
    ) -> dict[str, tuple[ElectricityContract, ...] | None]:
        return await self._contracts.read(ids, scope=scope)

    def health(self) -> UpstreamHealth:
        return self._service.health()
