"""(b) accepted invoices a second over HTTP, (c) the same in 206 batches, (d) worker memory.

Runs the real ``gateway serve --workers 2`` on a fresh SQLite or PostgreSQL database, with the
agency simulators in a process of their own, and drives it from this process (client, gateway
and simulators share the machine's two cores, so the figures are conservative). The ceiling is
measured in the same run by ``bench.intake_ceiling`` on one core. Targets: (b) at least 60 % of
ceiling x workers, and p99 under 100 ms at half the maximum rate; (c) at least 75 %; (d) memory
growth under 10 % from 10k to 50k accepted invoices. The paced run starts once the gateway idles,
its risk sweeper done with what the saturating run left waiting: it measures the steady state
at half the rate, and the time the catch-up took is printed apart. After the saturating run and
the batches, each side's CPU per invoice (gateway, this client, PostgreSQL) is printed with the
most invoices a second the machine's cores allow when the three share them.

    python -m bench.intake_http [--backend sqlite|postgres|both] [--invoices N] [--memory]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import intake_ceiling
from bench.invoices import SELLER, SELLER_NAME, bench_pki, signed_batches, signed_invoices
from bench.serving import cpu_seconds, database, paced, postgres_cpu_seconds, resident_mib
from bench.support import LoadResult, Tokens, drive, gateway_process, simulators_process
from integrations.access.principal import Role
from integrations.einvoice.pki import SignerIdentity
from integrations.store.database import open_database
from integrations.store.merchants import MerchantRegistry

WORKERS = 2
CLIENTS = 32
BATCH_SIZE = 100
BATCH_CLIENTS = 4
ACCEPTED = (200, 201)
SETTLE_SECONDS = 120


def ratio_line(label: str, value: float, target: float) -> str:
    verdict = "PASS" if value >= target else "MISS"
    return f"      {label}: {value:.3f} (target >= {target:.2f}) {verdict}"


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load: figures are upper bounds when it is busy."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(label: str, result: LoadResult, per_request: int = 1) -> float:
    rate = result.rate * per_request
    print(
        f"  {label}: {rate:.0f} invoices/s, p50 {result.p(0.5):.1f} ms, "
        f"p99 {result.p(0.99):.1f} ms, refused {result.failures}, load {load_average()}"
    )
    return rate


class ConnectionsDropped(SystemExit):
    """The gateway dropped connections under load: the run fails, whatever its rates."""


class Submitter:
    """Posts pre-signed bodies to one intake route as the restaurant.

    A connection the server resets or closes under a request is counted, not raised, so the
    run ends and reports every one; ``check_dropped`` then fails it."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self.session = session
        self.url = url
        self.headers = {"Content-Type": "application/xml", "Authorization": f"Bearer {token}"}
        self.dropped: list[str] = []

    def over(self, bodies: Sequence[bytes]) -> Callable[[int], Awaitable[bool]]:
        async def call(index: int) -> bool:
            try:
                async with self.session.post(
                    self.url, data=bodies[index], headers=self.headers
                ) as r:
                    await r.read()
                    return r.status in ACCEPTED
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
                self.dropped.append(f"{type(exc).__name__}: {exc}")
                return False

        return call

    def check_dropped(self, label: str) -> None:
        print(f"      connections reset or closed under a request: {len(self.dropped)}")
        if self.dropped:
            raise ConnectionsDropped(f"{label}: {len(self.dropped)} dropped, {self.dropped[0]}")


@dataclass(frozen=True, slots=True)
class Spent:
    """CPU seconds each side has used so far: the gateway, this client and, on PostgreSQL, the
    database's processes (SQLite runs inside the gateway's workers)."""

    seconds: dict[str, float]

    @classmethod
    def now(cls, port: int, backend: str) -> Spent:
        seconds = {"gateway": cpu_seconds(port), "this client": time.process_time()}
        if backend == "postgres":
            seconds["PostgreSQL"] = postgres_cpu_seconds()
        return cls(seconds)

    def report(self, later: Spent, invoices: int, ceiling: float) -> None:
        """Each side's CPU per invoice between ``self`` and ``later``, and the rate the
        machine's cores allow when all the sides share them."""
        per_invoice = {
            side: (later.seconds[side] - before) * 1000 / invoices
            for side, before in self.seconds.items()
        }
        sides = ", ".join(f"{side} {ms:.2f} ms" for side, ms in per_invoice.items())
        print(
            f"      CPU per invoice (the gateway's workers and master, settling included): {sides}"
        )
        cores = os.cpu_count() or 1
        most = cores * 1000 / sum(per_invoice.values())
        print(
            f"      the {cores} cores they share allow at most {most:.0f} invoices/s: "
            f"{most / (ceiling * WORKERS):.3f} of ceiling x {WORKERS} workers"
        )


async def register_seller(url: str) -> None:
    async with open_database(url):
        await MerchantRegistry().ensure(SELLER, SELLER_NAME, kind="restaurant")


async def settled(port: int) -> float:
    """Seconds until the gateway on ``port`` idles: half a second in which its processes
    together used under a tenth of that in CPU (its risk sweeper done with the backlog)."""
    started = time.perf_counter()
    async with asyncio.timeout(SETTLE_SECONDS):
        while True:
            spent = cpu_seconds(port)
            await asyncio.sleep(0.5)
            if cpu_seconds(port) - spent < 0.05:
                return time.perf_counter() - started


async def measure(
    base: str,
    token: str,
    invoices: list[bytes],
    batches: list[bytes],
    ceiling: float,
    backend: str,
) -> None:
    port = int(base.rsplit(":", 1)[1])
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        single = Submitter(session, f"{base}/v1/invoices", token)
        warm, rest = invoices[: len(invoices) // 10], invoices[len(invoices) // 10 :]
        full, half = rest[: len(rest) * 2 // 3], rest[len(rest) * 2 // 3 :]
        await drive(single.over(warm), len(warm), CLIENTS)
        spent = Spent.now(port, backend)
        rate = report(f"(b) {CLIENTS} clients", await drive(single.over(full), len(full), CLIENTS))
        print(ratio_line(f"ratio to ceiling x {WORKERS} workers", rate / (ceiling * WORKERS), 0.6))
        print(f"      the gateway settled in {await settled(port):.1f} s")
        spent.report(Spent.now(port, backend), len(full), ceiling)
        slow = await paced(single.over(half), len(half), rate / 2)
        report(f"(b) paced at half that rate, {rate / 2:.0f}/s", slow)
        verdict = "PASS" if slow.p(0.99) < 100 else "MISS"
        print(f"      p99 {slow.p(0.99):.1f} ms (target < 100 ms) {verdict}")
        batched = Submitter(session, f"{base}/v1/messages", token)
        spent = Spent.now(port, backend)
        result = await drive(batched.over(batches), len(batches), BATCH_CLIENTS)
        rate = report(
            f"(c) 206 batches of {BATCH_SIZE}, {BATCH_CLIENTS} clients", result, BATCH_SIZE
        )
        print(ratio_line(f"ratio to ceiling x {WORKERS} workers", rate / (ceiling * WORKERS), 0.75))
        print(f"      the gateway settled in {await settled(port):.1f} s")
        spent.report(Spent.now(port, backend), len(batches) * BATCH_SIZE, ceiling)
        single.check_dropped("single invoices")
        batched.check_dropped("batches")


async def measure_memory(base: str, token: str, seller: SignerIdentity, accepted: int) -> None:
    """Resident memory of the gateway once 10k and then 50k invoices have been accepted."""
    port = int(base.rsplit(":", 1)[1])
    sizes = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        single = Submitter(session, f"{base}/v1/invoices", token)
        for mark in (10_000, 50_000):
            chunk = list(signed_invoices(seller, 1_000_000 + accepted, mark - accepted))
            await drive(single.over(chunk), len(chunk), CLIENTS)
            single.check_dropped(f"{mark} invoices")
            accepted = mark
            sizes[mark] = resident_mib(port)
            print(f"  (d) after {mark} invoices: gateway resident memory {sizes[mark]:.0f} MiB")
    growth = sizes[50_000] / sizes[10_000] - 1
    print(f"      growth {growth:.1%} (target < 10%) {'PASS' if growth < 0.10 else 'MISS'}")


def run_backend(backend: str, ceiling: float, count: int, memory: bool) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(backend, Path(tmp)) as url,
        simulators_process(0) as urls,
        gateway_process(urls, workers=WORKERS, database_url=url) as (base, data_dir),
    ):
        asyncio.run(register_seller(url))
        _, seller = bench_pki(data_dir / "pki")
        token = Tokens(data_dir).mint(Role.MERCHANT, SELLER, tax_code=SELLER)
        print(f"[{backend}] signing {count} invoices and {count // BATCH_SIZE} batches ...")
        invoices = list(signed_invoices(seller, 1, count))
        batches = list(signed_batches(seller, 10_000_000, count // BATCH_SIZE, BATCH_SIZE))
        asyncio.run(measure(base, token, invoices, batches, ceiling, backend))
        if memory:
            asyncio.run(measure_memory(base, token, seller, count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--invoices", type=int, default=6000)
    parser.add_argument("--memory", action="store_true", help="also (d): 10k and 50k invoices")
    args = parser.parse_args()
    print("ceiling, measured in this run:")
    ceiling = intake_ceiling.main(500)
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        run_backend(backend, ceiling, args.invoices, args.memory)


if __name__ == "__main__":
    main()
