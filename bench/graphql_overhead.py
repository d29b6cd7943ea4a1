"""(c) What the gateway costs over bare strawberry: the same citizen query, in-process.

Runs the citizen query of (a) through the gateway's schema as served (hardening, guard, data
loaders, upstream clients, access log on a temporary SQLite) against the simulated agencies at
0 ms in a process of their own, and through a strawberry schema of the same shape whose
resolvers answer from memory (with the same parser and validation caches), in this process and
the same run. Each gateway request is a different citizen, so no answer comes from the upstream
cache. Prints the time per request of both (one at a time) and their throughput at a fixed
concurrency. The issue sets no number; the target used here is the gateway at most 10x the
bare schema, which leaves room for seven agency calls and one access-log write per answer.
Issue 10 sets the gateway's p50 one at a time at 2.5 ms. This process's CPU time per request
is printed next to it: the agencies run elsewhere, so it is the gateway's own work, and a busy
machine inflates it less than it inflates wall time. The floor of its parts is measured in the
same run: the seven agency requests each gateway request sent, sent again alone through the
gateway's own transport (together, as the gateway sends them), plus the bare schema; the audit
write is left out of it, so the floor is a lower bound. ``--profile N`` runs the gateway once
more under cProfile and prints the N functions with the most time of their own.

    python -m bench.graphql_overhead [--requests 500] [--concurrency 8] [--profile 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from bench.support import (
    CITIZEN_QUERY,
    SHARED_CORES,
    Call,
    LoadResult,
    checked,
    drive,
    open_upstreams,
    personal_ids,
    quiet_graphql_logs,
    simulators_process,
    upstream_settings,
    verdict,
)
from gateway.config import load_settings
from gateway.heap import freeze_startup_heap
from gateway.http.graphql import hardening_from
from integrations.access import AuditLog, Principal, Role
from integrations.store.database import migrate, open_database
from integrations.store.invoices import InvoiceStore
from integrations.upstreams import (
    Timeouts,
    Transport,
    TransportResponse,
    Upstreams,
    shared_transport,
)
from resolvers import build_context, build_schema

RATIO_TARGET = 10.0
P50_TARGET_MS = 2.5


@strawberry.type
class Taxpayer:
    tax_code: str
    kind: str
    name: str
    status: str
    tax_office: str
    legacy_code: str | None


@strawberry.type
class HealthCard:
    card_number: str
    valid_to: date
    hospital_name: str
    is_valid: bool


@strawberry.type
class SocialInsurance:
    social_number: str
    status: str
    contribution_months: int


@strawberry.type
class Insurance:
    health_card: HealthCard | None
    social: SocialInsurance | None


@strawberry.type
class Bill:
    period: str
    units: int
    amount: Decimal


@strawberry.type
class Contract:
    contract_number: str
    supplier: str
    status: str
    bills: list[Bill]


@strawberry.type
class Subscription:
    msisdn: str
    operator: str
    plan: str
    status: str


@strawberry.type
class Utilities:
    electricity: list[Contract] | None
    water: list[Contract] | None
    telecom: list[Subscription] | None


@strawberry.type
class Citizen:
    id_number: str
    full_name: str | None
    date_of_birth: date | None
    sex: str | None
    address: str | None
    taxpayer: Taxpayer | None
    insurance: Insurance | None
    utilities: Utilities | None


def bills() -> list[Bill]:
    return [Bill(period=f"2026-{m:02d}", units=120 + m, amount=Decimal("345600")) for m in (8, 9)]


def in_memory(id_number: str) -> Citizen:
    """One citizen as the agencies would describe them, built without any I/O."""
    contract = Contract(contract_number="PE0100", supplier="EVN Hà Nội", status="ACTIVE", bills=[])
    return Citizen(
        id_number=id_number,
        full_name="Nguyễn Văn An",
        date_of_birth=date(1999, 3, 14),
        sex="MALE",
        address="12 Hàng Bạc, Hoàn Kiếm, Hà Nội",
        taxpayer=Taxpayer(
            tax_code=id_number,
            kind="INDIVIDUAL",
            name="Nguyễn Văn An",
            status="ACTIVE",
            tax_office="Chi cục Thuế Hoàn Kiếm",
            legacy_code="8012345677",
        ),
        insurance=Insurance(
            health_card=HealthCard(
                card_number="DN4010012345678",
                valid_to=date(2026, 12, 31),
                hospital_name="Bệnh viện Bạch Mai",
                is_valid=True,
            ),
            social=SocialInsurance(
                social_number="0112345678", status="CONTRIBUTING", contribution_months=48
            ),
        ),
        utilities=Utilities(
            electricity=[Contract(**{**vars(contract), "bills": bills()})],
            water=[
                Contract(**{**vars(contract), "supplier": "Nước sạch Hà Nội", "bills": bills()})
            ],
            telecom=[Subscription(msisdn="0912345678", operator="Viettel", plan="V90", status="A")],
        ),
    )


@strawberry.type
class Query:
    @strawberry.field
    async def citizen(self, id_number: str) -> Citizen | None:
        return in_memory(id_number)


def bare_call(people: list[str]) -> Call:
    # The same document caches the gateway runs with, so only the work per answer differs.
    schema = strawberry.Schema(query=Query, extensions=[ParserCache, ValidationCache])

    async def call(index: int) -> bool:
        result = await schema.execute(CITIZEN_QUERY, variable_values={"id": people[index]})
        return checked(result.errors) and result.data is not None

    return call


def gateway_call(people: list[str], upstreams: Upstreams, audit: AuditLog) -> Call:
    hardening = hardening_from(load_settings(environ={}))
    schema = build_schema(extensions=hardening.extensions)
    store = InvoiceStore()

    async def call(index: int) -> bool:
        person = people[index]
        principal = Principal(person, Role.CITIZEN, assurance_level=2)
        context = build_context(principal=principal, upstreams=upstreams, store=store, audit=audit)
        result = await schema.execute(
            CITIZEN_QUERY, variable_values={"id": person}, context_value=context
        )
        return checked(result.errors) and result.data is not None

    return call


@dataclass(frozen=True, slots=True)
class Sent:
    """One agency request as the gateway sent it."""

    service: str
    url: str
    body: bytes
    headers: Mapping[str, str]
    timeouts: Timeouts


class Recording:
    """The gateway's transport, keeping every request it sends, so the floor can send them
    again without the gateway."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: list[Sent] = []

    async def post(self, service: str, url: str, **request: Any) -> TransportResponse:
        self.sent.append(Sent(service, url, **request))
        return await self.inner.post(service, url, **request)

    async def close(self) -> None:
        await self.inner.close()


def agency_calls(transport: Transport, sent: Sequence[Sent], requests: int) -> Call:
    """Each gateway request's agency calls, sent together again through ``transport``."""
    per_request, left = divmod(len(sent), requests)
    if left or not per_request:
        raise RuntimeError(f"{len(sent)} agency calls do not divide among {requests} requests")

    async def call(index: int) -> bool:
        wave = sent[index * per_request : (index + 1) * per_request]
        answers = await asyncio.gather(
            *(
                transport.post(
                    one.service, one.url, body=one.body, headers=one.headers, timeouts=one.timeouts
                )
                for one in wave
            )
        )
        return all(answer.status == 200 for answer in answers)

    return call


def report(label: str, one: LoadResult, busy: LoadResult, cpu_ms: float) -> None:
    print(
        f"  {label}: one at a time p50 {one.p(0.5):.2f} ms, CPU {cpu_ms:.2f} ms per request; "
        f"{busy.summary()}"
    )


async def one_at_a_time(call: Call, count: int) -> tuple[LoadResult, float]:
    """``count`` calls one after another, and this process's CPU milliseconds per call."""
    started = time.process_time()
    result = await drive(call, count, 1)
    return result, (time.process_time() - started) * 1000 / count


async def profile(call: Call, count: int, lines: int) -> None:
    """Print the ``lines`` functions with the most own time over ``count`` calls."""
    profiler = cProfile.Profile()
    profiler.enable()
    await drive(call, count, 1)
    profiler.disable()
    print(f"profile of the gateway, {count} requests one at a time (own time, top {lines}):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(lines)


async def measure(urls: dict[str, str], database_url: str, args: argparse.Namespace) -> bool:
    sequential = max(args.requests // 2, 1)
    profiled = args.requests if args.profile else 0
    people = personal_ids(sequential + args.requests + profiled + 20)
    bare = bare_call(people)
    recording = Recording(shared_transport(upstream_settings(urls)))
    async with (
        open_database(database_url) as database,
        open_upstreams(urls, transport=recording) as upstreams,
    ):
        gateway = gateway_call(people, upstreams, AuditLog(database))
        freeze_startup_heap()  # as the app's lifespan does once its services are built
        await drive(bare, 20, 1)
        await drive(gateway, 20, 1)
        recording.sent.clear()
        ours_one, ours_cpu = await one_at_a_time(lambda i: gateway(20 + i), sequential)
        calls = agency_calls(recording.inner, list(recording.sent), sequential)
        calls_one, calls_cpu = await one_at_a_time(calls, sequential)
        bare_one, bare_cpu = await one_at_a_time(bare, sequential)
        offset = 20 + sequential
        ours_busy = await drive(lambda i: gateway(offset + i), args.requests, args.concurrency)
        bare_busy = await drive(bare, args.requests, args.concurrency)
        if args.profile:
            offset += args.requests
            await profile(lambda i: gateway(offset + i), profiled, args.profile)
    print("the citizen query of (a), in-process; agencies at 0 ms in their own process")
    report("bare strawberry, in-memory resolvers", bare_one, bare_busy, bare_cpu)
    report("gateway schema, agencies and access log", ours_one, ours_busy, ours_cpu)
    added = ours_one.p(0.5) - bare_one.p(0.5)
    print(f"  gateway adds {added:.2f} ms per request at p50 (seven agency calls, one audit write)")
    floor(calls_one, calls_cpu, bare_one, bare_cpu, ours_one, ours_cpu)
    p50 = ours_one.p(0.5)
    p50_ok = verdict("p50, one at a time", p50, P50_TARGET_MS, lower_is_better=True, unit="ms")
    one_ok = verdict(
        "time per request, gateway / bare (p50, one at a time)",
        ours_one.p(0.5) / bare_one.p(0.5),
        RATIO_TARGET,
        lower_is_better=True,
        unit="x",
    )
    busy_ok = verdict(
        f"throughput, bare / gateway (concurrency {args.concurrency})",
        bare_busy.rate / ours_busy.rate,
        RATIO_TARGET,
        lower_is_better=True,
        unit="x",
    )
    print(f"  gateway CPU per request / bare: {ours_cpu / bare_cpu:.2f} x")
    print(f"note: {SHARED_CORES}; load average {load_average()}")
    passed = p50_ok and one_ok and busy_ok
    return passed and not (ours_one.failures or ours_busy.failures)


def floor(
    calls: LoadResult,
    calls_cpu: float,
    bare: LoadResult,
    bare_cpu: float,
    ours: LoadResult,
    ours_cpu: float,
) -> None:
    """Print the floor of the gateway's parts, and where the gateway and the target stand."""
    print(
        f"  the same agency calls alone, sent together through the gateway's transport: "
        f"one at a time p50 {calls.p(0.5):.2f} ms, CPU {calls_cpu:.2f} ms per request"
    )
    floor_p50, floor_cpu = calls.p(0.5) + bare.p(0.5), calls_cpu + bare_cpu
    print(
        f"  floor of the parts (agency calls + bare schema): p50 {floor_p50:.2f} ms, "
        f"CPU {floor_cpu:.2f} ms; the gateway above it: p50 +{ours.p(0.5) - floor_p50:.2f} ms, "
        f"CPU +{ours_cpu - floor_cpu:.2f} ms ({ours_cpu / floor_cpu:.2f} x the floor's CPU)"
    )
    side = "below" if floor_p50 > P50_TARGET_MS else "above"
    print(f"  the p50 target ({P50_TARGET_MS} ms) is {side} that floor on this machine")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def run(args: argparse.Namespace) -> None:
    quiet_graphql_logs()
    with tempfile.TemporaryDirectory(prefix="graphql-overhead-") as folder:
        url = f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        await migrate(url)
        with simulators_process(0.0) as urls:
            passed = await measure(urls, url, args)
    print("PASS" if passed else "MISS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="top N profile lines")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
