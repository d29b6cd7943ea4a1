"""The owner of the shared HTTP session and of one client per agency."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from types import TracebackType

from prometheus_client import CollectorRegistry

from integrations.upstreams.electricity import HttpElectricityClient
from integrations.upstreams.insurance import HttpInsuranceClient
from integrations.upstreams.metrics import UpstreamMetrics
from integrations.upstreams.population import HttpPopulationClient
from integrations.upstreams.service import Clock, UpstreamHealth, UpstreamService
from integrations.upstreams.settings import UpstreamSettings
from integrations.upstreams.tax import HttpTaxRegistryClient
from integrations.upstreams.telecom import HttpTelecomClient
from integrations.upstreams.transport import AiohttpTransport, Transport
from integrations.upstreams.water import HttpWaterClient

SERVICES = ("population", "tax", "insurance", "electricity", "water", "telecom")
"""The agencies, by the names used in settings, metrics and ``UpstreamError.service``."""


def shared_transport(settings: Mapping[str, UpstreamSettings]) -> AiohttpTransport:
    """One aiohttp transport for every agency, with room for each one's connections."""
    return AiohttpTransport.open(max_connections=sum(s.max_connections for s in settings.values()))


class _State(Enum):
    OPEN = "open"
    CLOSED = "closed"


class Upstreams:
    """One client per agency over one shared transport; build it inside the event loop.

    Open once per process (in the app's lifespan) and close on shutdown::

        async with Upstreams.open(settings_by_service, registry=registry) as upstreams:
            people = await upstreams.population.people(["001099012345"], scope="citizen:…")
    """

    def __init__(
        self,
        settings: Mapping[str, UpstreamSettings],
        transport: Transport,
        *,
        registry: CollectorRegistry,
        clock: Clock | None = None,
    ) -> None:
        missing = [name for name in SERVICES if name not in settings]
        unknown = sorted(set(settings) - set(SERVICES))
        if missing or unknown:
            raise ValueError(
                f"upstream settings must name exactly {list(SERVICES)}; "
                f"missing {missing}, unknown {unknown}"
            )
        self._transport = transport
        self._state = _State.OPEN
        metrics = UpstreamMetrics(registry)
        self.services = {
            name: UpstreamService(name, settings[name], transport, metrics, clock)
            for name in SERVICES
        }
        self.population = HttpPopulationClient(self.services["population"])
        self.tax = HttpTaxRegistryClient(self.services["tax"])
        self.insurance = HttpInsuranceClient(self.services["insurance"])
        self.electricity = HttpElectricityClient(self.services["electricity"])
        self.water = HttpWaterClient(self.services["water"])
        self.telecom = HttpTelecomClient(self.services["telecom"])
        self.forgotten: list[Callable[[str], None]] = []
        """Called with each scope ``forget`` drops, e.g. to tell other processes to ``drop`` it."""

    @classmethod
    def open(
        cls,
        settings: Mapping[str, UpstreamSettings],
        *,
        registry: CollectorRegistry,
        transport: Transport | None = None,
        clock: Clock | None = None,
    ) -> Upstreams:
        """Create the shared ``aiohttp`` session (unless ``transport`` is given) and the clients.

        Must run inside the event loop that will use them.
        """
        if transport is None:
            transport = shared_transport(settings)
        return cls(settings, transport, registry=registry, clock=clock)

    def health(self) -> dict[str, UpstreamHealth]:
        """Breaker state per agency, for ``/readyz``."""
        return {name: service.health() for name, service in self.services.items()}

    def forget(self, scope: str) -> None:
        """Drop every cached record read for ``scope`` (a revoked consent, a logout), here and,
        through ``forgotten``, wherever else it was read."""
        self.drop(scope)
        for tell in self.forgotten:
            tell(scope)

    def drop(self, scope: str) -> None:
        """Drop every record cached in this process for ``scope``."""
        for service in self.services.values():
            service.cache.forget(scope)

    async def close(self) -> None:
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        await self._transport.close()

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    async def __aenter__(self) -> Upstreams:
        if self._state is _State.CLOSED:
            raise RuntimeError("these upstream clients are closed; open new ones")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
