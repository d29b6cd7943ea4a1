"""Start the six simulated agencies on loopback ports, in-process or as a standalone service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, replace

from aiohttp import web

from integrations.simulators import electricity, insurance, population, tax, telecom, water
from integrations.simulators.app import CONTROLS, Controls, SimulatorOptions
from integrations.simulators.faults import Faults

AppFactory = Callable[[SimulatorOptions | None], web.Application]

AGENCIES: dict[str, AppFactory] = {
    "population": population.create_app,
    "tax": tax.create_app,
    "insurance": insurance.create_app,
    "electricity": electricity.create_app,
    "water": water.create_app,
    "telecom": telecom.create_app,
}
"""Every simulated agency by the service name the upstream clients use."""

# Handlers left hanging by a "hang" fault must not hold up shutdown for aiohttp's 60 s default.
_SHUTDOWN_TIMEOUT = 0.1


@dataclass(frozen=True, slots=True)
class RunningSimulators:
    """The simulators started by ``run_simulators``: where they listen and their knobs."""

    urls: dict[str, str]
    controls: dict[str, Controls]

    def set_faults(self, agency: str, faults: Faults) -> None:
        self.controls[agency].faults.set(faults)

    def calls(self, agency: str, prefix: str = "") -> int:
        """Calls that reached ``agency``, optionally only those whose route starts ``prefix``."""
        return self.controls[agency].stats.total(prefix)

    def reset_stats(self) -> None:
        for controls in self.controls.values():
            controls.stats.reset()

    def reset(self) -> RunningSimulators:
        """Every agency healthy again and its call counts at zero: a clean slate for a test."""
        for agency in self.urls:
            self.set_faults(agency, Faults())
        self.reset_stats()
        return self


async def _start(stack: AsyncExitStack, app: web.Application, host: str, port: int) -> str:
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return f"http://{bound_host}:{bound_port}"


@asynccontextmanager
async def run_simulators(
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    faults: Faults | Mapping[str, Faults] | None = None,
    *,
    options: SimulatorOptions | None = None,
) -> AsyncIterator[RunningSimulators]:
    """Run all six agencies in the current event loop until the block exits.

    Ports default to 0 (any free port); ``faults`` applies to every agency, or per agency when
    given as a mapping::

        async with run_simulators(faults={"tax": Faults(down=True)}) as sims:
            sims.urls["population"]          # "http://127.0.0.1:40123"
            sims.set_faults("tax", Faults())
    """
    base = options or SimulatorOptions()
    urls: dict[str, str] = {}
    controls: dict[str, Controls] = {}
    async with AsyncExitStack() as stack:
        for agency, create_app in AGENCIES.items():
            if isinstance(faults, Faults):
                agency_faults = faults
            else:
                agency_faults = (faults or {}).get(agency, base.faults)
            app = create_app(replace(base, faults=agency_faults))
            controls[agency] = app[CONTROLS]
            urls[agency] = await _start(stack, app, host, (ports or {}).get(agency, 0))
        yield RunningSimulators(urls, controls)


async def serve(
    host: str = "127.0.0.1",
    base_port: int = 8701,
    *,
    on_ready: Callable[[dict[str, str]], None] | None = None,
    options: SimulatorOptions | None = None,
) -> None:
    """Serve all agencies on ``base_port``, ``base_port + 1``, ... until cancelled."""
    ports = {agency: base_port + n for n, agency in enumerate(AGENCIES)}
    async with run_simulators(host, ports, options=options) as sims:
        if on_ready is not None:
            on_ready(sims.urls)
        await asyncio.Event().wait()


def main(host: str = "127.0.0.1", base_port: int = 8701) -> None:
    """Run the simulators standalone until interrupted (Ctrl-C), printing where they listen."""

    def announce(urls: dict[str, str]) -> None:
        for agency, url in urls.items():
            print(f"{agency:<12} {url}", flush=True)

    with suppress(KeyboardInterrupt):
        asyncio.run(serve(host, base_port, on_ready=announce))
