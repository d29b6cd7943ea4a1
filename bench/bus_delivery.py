"""How long a change takes to reach another instance over the bus, against a Redis round trip.

Two ``RedisBus`` instances in this process, on a channel of their own: one publishes, one hears,
one message at a time, and the time from ``publish`` to the handler is recorded. The ceiling,
measured in the same run, is a bare ``PING`` round trip on the same Redis: a delivery is one
publish and one push, so about twice a round trip is what the bus adds nothing to. Both share
this machine's cores with whatever else runs; the figures are upper bounds, the ratio is what
counts.

    python -m bench.bus_delivery [redis://127.0.0.1:6379/0] [messages]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Mapping

from redis.asyncio import Redis

from integrations.bus import RedisBus


async def delivery_times(url: str, messages: int) -> list[float]:
    channel = f"bench:{uuid.uuid4().hex}:events"
    sender, receiver = RedisBus(url, channel=channel), RedisBus(url, channel=channel)
    heard = asyncio.Event()

    async def hear(data: Mapping[str, str]) -> None:
        heard.set()

    receiver.subscribe("bench", hear)
    await sender.start()
    await receiver.start()
    times = []
    try:
        for number in range(messages):
            heard.clear()
            started = time.perf_counter()
            sender.publish("bench", {"n": str(number)})
            await heard.wait()
            times.append(time.perf_counter() - started)
    finally:
        await sender.close()
        await receiver.close()
    return times


async def ping_times(url: str, count: int) -> list[float]:
    client = Redis.from_url(url)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            await client.ping()
            times.append(time.perf_counter() - started)
    finally:
        await client.aclose()
    return times


def milliseconds(times: list[float], share: float) -> float:
    return sorted(times)[int(share * (len(times) - 1))] * 1000


async def main(url: str, messages: int) -> None:
    pings = await ping_times(url, messages)
    deliveries = await delivery_times(url, messages)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    ceiling = statistics.median(pings)
    ratio = statistics.median(deliveries) / ceiling
    print(f"load average {load}; {messages} messages; figures are upper bounds")
    print(f"redis PING round trip: {_spread(pings)}")
    print(f"bus delivery:          {_spread(deliveries)}")
    print(f"ratio (median delivery / median round trip): {ratio:.1f}")


def _spread(times: list[float]) -> str:
    return (
        f"median {milliseconds(times, 0.5):.3f} ms, p99 {milliseconds(times, 0.99):.3f} ms, "
        f"max {max(times) * 1000:.3f} ms"
    )


if __name__ == "__main__":
    arguments = sys.argv[1:]
    asyncio.run(
        main(
            arguments[0] if arguments else "redis://127.0.0.1:6379/0",
            int(arguments[1]) if len(arguments) > 1 else 2000,
        )
    )
