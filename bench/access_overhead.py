"""(Issues 5, 10) The cost of authentication, limits and audit on the citizen query, in-process.

The citizen query of (a) runs through the gateway's schema against the simulated agencies at
0 ms (in a process of their own, so upstream waits do not hide CPU cost), one request at a
time, in five set-ups taking turns request by request in the same run: everything off (the
principal handed in, only the document caches); token verification (ES256 against the JWKS
file, as the app does) with the rate-limit middleware; the GraphQL limits (depth, aliases,
tokens, cost, masking); the access log (one hash-chained event in SQLite); all of them. Prints
each one's time per request and its overhead over "off" (target: all on at most 20 % more).

Then throughput at concurrency 32 (issue 10): the same query with the access log off and on,
on SQLite and on PostgreSQL, in alternating rounds so that drift weighs on both alike. Prints
each one's requests a second and the share of throughput the access log costs (target: at most
20 % lost). The load average is printed with each figure: on a shared machine the times are
upper bounds and the rates lower bounds of a quiet one's; the ratios in one run are what count.

    python -m bench.access_overhead [--requests 400] [--concurrency 32] [--backend both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import strawberry
from starlette.types import Message, Receive, Scope, Send
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from bench.serving import database
from bench.support import (
    CITIZEN_QUERY,
    SHARED_CORES,
    Call,
    LoadResult,
    Tokens,
    checked,
    drive,
    open_upstreams,
    personal_ids,
    quiet_graphql_logs,
    simulators_process,
    verdict,
)
from gateway.auth import JwksFile, TokenVerifier
from gateway.config import load_settings
from gateway.http.authn import Authenticator
from gateway.http.graphql import hardening_from
from gateway.http.ratelimit import RateLimit
from integrations.access import AuditLog, Principal, Role
from integrations.ratelimit.windows import Limit, MemoryWindows
from integrations.store.database import migrate, open_database
from integrations.store.invoices import InvoiceStore
from integrations.upstreams import Upstreams
from resolvers import build_context, build_schema
from resolvers.scalars import SCALARS
from resolvers.schema import Mutation, Query

OVERHEAD_TARGET = 0.20
LOST_TARGET = 0.20
ROUNDS = 3
# High enough never to refuse: the cost of counting is measured, not the refusals.
UNREFUSED = Limit(10**9, 60)
WARM_UP = 20

Authenticate = Callable[[str], Awaitable[Principal]]


@dataclass(frozen=True)
class Setup:
    name: str
    auth: bool
    limits: bool
    audit: bool


SETUPS = (
    Setup("off", auth=False, limits=False, audit=False),
    Setup("authentication + rate limits", auth=True, limits=False, audit=False),
    Setup("GraphQL limits", auth=False, limits=True, audit=False),
    Setup("access log", auth=False, limits=False, audit=True),
    Setup("all on", auth=True, limits=True, audit=True),
)


def schema_for(setup: Setup) -> strawberry.Schema:
    hardening = hardening_from(load_settings(environ={}))
    caches = (ParserCache, ValidationCache)
    extensions = hardening.extensions if setup.limits else caches
    if setup.audit:
        return build_schema(extensions=extensions)
    config = StrawberryConfig(scalar_map=SCALARS)
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions, config=config)


def authenticated(data_dir: Path) -> Authenticate:
    """Verify the token and count the request as the app's middleware does, then answer."""
    authenticator = Authenticator(
        TokenVerifier(
            JwksFile(Tokens(data_dir).keys.jwks_path),
            issuer="citizen-gateway-demo",
            audience="citizen-gateway",
            algorithms=["ES256"],
        )
    )

    async def passed(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"]["passed"] = True

    limiter = RateLimit(
        passed,
        windows=MemoryWindows(),
        per_principal=UNREFUSED,
        per_address=UNREFUSED,
        identify=authenticator.identify,
    )

    async def nothing() -> Message:
        return {"type": "http.request", "body": b""}

    async def refused(message: Message) -> None:
        raise RuntimeError("the rate limit refused a request")

    async def authenticate(token: str) -> Principal:
        headers = [(b"authorization", f"Bearer {token}".encode())]
        scope: Scope = {
            "type": "http",
            "path": "/graphql",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "state": {},
        }
        await limiter(scope, nothing, refused)
        principal = await authenticator.principal(scope)
        if principal is None:
            raise RuntimeError("the token was not read")
        return principal

    return authenticate


def setup_call(
    setup: Setup,
    people: list[str],
    tokens: list[str],
    upstreams: Upstreams,
    audit: AuditLog,
    authenticate: Authenticate,
) -> Call:
    schema = schema_for(setup)
    store = InvoiceStore()

    async def call(index: int) -> bool:
        person = people[index]
        if setup.auth:
            principal = await authenticate(tokens[index])
        else:
            principal = Principal(person, Role.CITIZEN, assurance_level=2)
        context = build_context(principal=principal, upstreams=upstreams, store=store, audit=audit)
        result = await schema.execute(
            CITIZEN_QUERY, variable_values={"id": person}, context_value=context
        )
        return checked(result.errors) and result.data is not None

    return call


async def interleaved(calls: dict[str, Call], count: int) -> dict[str, LoadResult]:
    """Each set-up's calls taken in turn, so drift (a growing access log, a busy neighbour)
    weighs on all of them alike."""
    latencies: dict[str, list[float]] = {name: [] for name in calls}
    failures = dict.fromkeys(calls, 0)
    started = time.perf_counter()
    for index in range(count):
        for name, call in calls.items():
            began = time.perf_counter()
            ok = await call(index)
            latencies[name].append((time.perf_counter() - began) * 1000)
            failures[name] += not ok
    seconds = time.perf_counter() - started
    return {name: LoadResult(latencies[name], seconds, failures[name], 1) for name in calls}


async def measure(urls: dict[str, str], folder: Path, args: argparse.Namespace) -> bool:
    url = f"sqlite://{folder / 'bench.sqlite3'}"
    await migrate(url)
    minted = Tokens(folder)
    authenticate = authenticated(folder)
    calls: dict[str, Call] = {}
    async with open_database(url) as database, open_upstreams(urls) as upstreams:
        audit = AuditLog(database)
        for n, setup in enumerate(SETUPS):
            # Each set-up reads different people, so none is answered from the upstream cache.
            people = personal_ids(args.requests + WARM_UP, start=1 + n * 100_000)
            tokens = [minted.mint(Role.CITIZEN, p, assurance_level=2) for p in people]
            calls[setup.name] = setup_call(setup, people, tokens, upstreams, audit, authenticate)
        await interleaved(calls, WARM_UP)
        shifted = {name: partial(offset, call) for name, call in calls.items()}
        results = await interleaved(shifted, args.requests)
    off = results["off"].p(0.5)
    print("the citizen query of (a), in-process, one at a time; agencies at 0 ms")
    for name, result in results.items():
        added = result.p(0.5) / off - 1
        print(
            f"  {name:<30} p50 {result.p(0.5):6.2f} ms  mean {mean(result):6.2f} ms  {added:+.0%}"
        )
    passed = verdict(
        "all on over off (p50)",
        results["all on"].p(0.5) / off - 1,
        OVERHEAD_TARGET,
        lower_is_better=True,
        unit="overhead",
    )
    return passed and not any(result.failures for result in results.values())


async def throughput(backend: str, urls: dict[str, str], args: argparse.Namespace) -> bool:
    """Requests a second at ``args.concurrency`` with the access log off and on, in rounds."""
    print(
        f"{backend}: concurrency {args.concurrency}, {ROUNDS} rounds of {args.throughput_requests}"
    )
    with tempfile.TemporaryDirectory(prefix="access-overhead-") as folder:
        async with fresh_database(backend, Path(folder)) as url:
            await migrate(url)
            rates = await rounds(url, urls, args)
    per_second = {name: report(name, results) for name, results in rates.items()}
    off, on = per_second.values()
    passed = verdict(
        f"{backend}: throughput lost to the access log",
        1 - on / off,
        LOST_TARGET,
        lower_is_better=True,
        unit="share",
    )
    return passed and not any(r.failures for results in rates.values() for r in results)


@asynccontextmanager
async def fresh_database(backend: str, folder: Path) -> AsyncIterator[str]:
    """``bench.serving.database`` entered from a running loop: it runs a loop of its own to
    create and drop a PostgreSQL database, so it is entered and left in a thread."""
    manager = database(backend, folder)
    url = await asyncio.to_thread(manager.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


async def rounds(
    url: str, urls: dict[str, str], args: argparse.Namespace
) -> dict[str, list[LoadResult]]:
    """Off and on taking turns, each round on people not read before."""
    setups = (SETUPS[0], SETUPS[3])
    rates: dict[str, list[LoadResult]] = {setup.name: [] for setup in setups}
    async with open_database(url) as db, open_upstreams(urls) as upstreams:
        audit = AuditLog(db)
        requests, commits = count_calls(audit, "record_many"), count_calls(audit.store, "append")
        for turn in range(ROUNDS * len(setups)):
            setup = setups[turn % len(setups)]
            people = personal_ids(args.throughput_requests, start=520_001 + turn * 60_000)
            call = setup_call(setup, people, [], upstreams, audit, _no_tokens)
            rates[setup.name].append(await drive(call, len(people), args.concurrency))
    print(f"  access log: {requests[0]} requests' events written in {commits[0]} commits")
    return rates


def count_calls(owner: object, name: str) -> list[int]:
    """Count the calls of ``owner``'s coroutine method ``name`` in the list's one item."""
    counted = [0]
    method = getattr(owner, name)

    async def counting(*args: Any, **kwargs: Any) -> Any:
        counted[0] += 1
        return await method(*args, **kwargs)

    setattr(owner, name, counting)
    return counted


def report(name: str, results: list[LoadResult]) -> float:
    """Print one set-up's rate over its rounds with the load average; return the rate."""
    latencies = sorted(x for r in results for x in r.latencies_ms)
    rate = len(latencies) / sum(r.seconds for r in results)
    failures = sum(r.failures for r in results)
    print(
        f"  {name:<12} {rate:7.0f} req/s  p50 {latencies[len(latencies) // 2]:6.1f} ms  "
        f"failures {failures}  (load {load()})"
    )
    return rate


async def _no_tokens(token: str) -> Principal:
    raise RuntimeError("the throughput runs hand the principal in")


def load() -> str:
    return " ".join(f"{figure:.1f}" for figure in os.getloadavg())


async def offset(call: Call, index: int) -> bool:
    return await call(WARM_UP + index)


def mean(result: LoadResult) -> float:
    return sum(result.latencies_ms) / len(result.latencies_ms)


async def run(args: argparse.Namespace) -> None:
    quiet_graphql_logs()
    with (
        tempfile.TemporaryDirectory(prefix="access-overhead-") as folder,
        simulators_process(0.0) as urls,
    ):
        passed = args.skip_sequential or await measure(urls, Path(folder), args)
        for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
            passed = await throughput(backend, urls, args) and passed
    print(f"note: {SHARED_CORES}")
    print("PASS" if passed else "MISS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--throughput-requests", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--skip-sequential", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
