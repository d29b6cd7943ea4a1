"""(a) The citizen query over all six agencies at 20 ms simulated latency, through the real app.

Runs the simulators in a process of their own and ``gateway serve --workers 2`` in another, then
from this process: the ceiling, one agency round trip (a batch read straight at the simulator);
the query's latency at low load (one request at a time), whose p50 should be close to one round
trip, since the six agencies are asked at once (target: at most 35 ms); and throughput at a
fixed concurrency, against the ceiling of that concurrency over one round trip. Every request
is a different citizen reading themselves, so no answer comes from the gateway's cache.

    python -m bench.citizen_query [--requests 1500] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp
import orjson

from bench.support import (
    CITIZEN_QUERY,
    SHARED_CORES,
    Call,
    Tokens,
    drive,
    gateway_process,
    graphql_body,
    personal_ids,
    post_graphql,
    reset_upstream_calls,
    simulators_process,
    upstream_calls,
    verdict,
)

LATENCY_MS = 20.0
P50_TARGET_MS = 35.0
LOW_LOAD_REQUESTS = 200
WARM_UP = 50


async def round_trip(session: aiohttp.ClientSession, population: str, ids: list[str]) -> float:
    """p50 of one batch read straight at an agency: the floor of any federated answer."""
    body = [orjson.dumps({"ids": [one]}) for one in ids]

    async def call(index: int) -> bool:
        url = f"{population}/v1/people:batch"
        async with session.post(url, data=body[index]) as response:
            await response.read()
        return response.status == 200

    return (await drive(call, len(ids), 1)).p(0.5)


async def measure(
    base: str, tokens: Tokens, urls: dict[str, str], args: argparse.Namespace
) -> None:
    total = WARM_UP + LOW_LOAD_REQUESTS + args.requests
    people = personal_ids(total + LOW_LOAD_REQUESTS)
    requests = [(graphql_body(CITIZEN_QUERY, id=p), tokens.citizen_headers(p)) for p in people]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        floor = await round_trip(session, urls["population"], people[total:])

        def calls_from(offset: int) -> Call:
            async def call(index: int) -> bool:
                body, headers = requests[offset + index]
                return await post_graphql(session, f"{base}/graphql", body, headers)

            return call

        warm = await drive(calls_from(0), WARM_UP, 4)
        await reset_upstream_calls(session, urls)
        low = await drive(calls_from(WARM_UP), LOW_LOAD_REQUESTS, 1)
        per_request = sum((await upstream_calls(session, urls)).values()) / LOW_LOAD_REQUESTS
        busy = await drive(calls_from(WARM_UP + LOW_LOAD_REQUESTS), args.requests, args.concurrency)
    print(f"warm-up: {warm.failures} failures in {WARM_UP}")
    print(
        f"ceiling: one agency round trip p50 {floor:.1f} ms (simulated latency {LATENCY_MS:g} ms)"
    )
    print(f"low load: {low.summary()}")
    print(f"  agency calls per request {per_request:.2f} (seven resources at six agencies)")
    print(f"  p50 / round trip = {low.p(0.5) / floor:.2f}")
    verdict("p50 at low load", low.p(0.5), P50_TARGET_MS, lower_is_better=True, unit="ms")
    print(f"throughput, 2 workers: {busy.summary()}")
    ceiling = args.concurrency / (floor / 1000)
    print(
        f"  ceiling at concurrency {args.concurrency} over one round trip: {ceiling:,.0f} req/s; "
        f"reached {busy.rate / ceiling:.2f} of it"
    )
    print(f"note: {SHARED_CORES}")
    if low.failures or busy.failures:
        print("MISS: some requests failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with simulators_process(LATENCY_MS) as urls, gateway_process(urls, workers=2) as (base, data):
        asyncio.run(measure(base, Tokens(data), urls, args))


if __name__ == "__main__":
    main()
