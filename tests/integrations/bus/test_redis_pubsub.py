"""The fleet's bus on a real Redis: instances hear each other, survive a dropped connection
and a Redis that is not there."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from integrations.bus import RedisBus
from tests.integrations.ratelimit.redis_server import REDIS_URL, redis_client
from tests.support.waiting import until


@asynccontextmanager
async def started(*buses: RedisBus) -> AsyncIterator[None]:
    for bus in buses:
        await bus.start()
    try:
        yield
    finally:
        for bus in buses:
            await bus.close()


def recorder(bus: RedisBus, topic: str = "t") -> list[dict[str, str]]:
    heard: list[dict[str, str]] = []

    async def note(data: Mapping[str, str]) -> None:
        heard.append(dict(data))

    bus.subscribe(topic, note)
    return heard


@pytest.mark.redis
async def test_each_instance_hears_the_others_but_not_itself() -> None:
    async with redis_client() as (_, prefix):
        channel = f"{prefix}events"
        first, second = RedisBus(REDIS_URL, channel=channel), RedisBus(REDIS_URL, channel=channel)
        elsewhere = RedisBus(REDIS_URL, channel=f"{prefix}elsewhere")
        heard = {bus: recorder(bus) for bus in (first, second, elsewhere)}
        async with started(first, second, elsewhere):
            first.publish("t", {"n": "1"})
            second.publish("t", {"n": "2"})
            first.publish("t", {"n": "3"})
            await until(lambda: first.delivered == 1 and second.delivered == 2)
    assert heard[first] == [{"n": "2"}]
    assert heard[second] == [{"n": "1"}, {"n": "3"}]
    assert heard[elsewhere] == []


@pytest.mark.redis
async def test_a_dropped_connection_is_taken_up_again_and_caches_are_dropped() -> None:
    async with redis_client() as (client, prefix):
        channel = f"{prefix}events"
        listener = RedisBus(REDIS_URL, channel=channel)
        sender = RedisBus(REDIS_URL, channel=channel)
        gaps: list[int] = []
        listener.after_gap(lambda: gaps.append(len(gaps)))
        heard = recorder(listener)
        async with started(listener, sender):
            assert gaps == [0]
            await _kill_connection(client, f"gateway-bus-{listener.origin}")
            await until(lambda: len(gaps) == 2)
            sender.publish("t", {"n": "after"})
            await until(lambda: listener.delivered == 1)
    assert heard == [{"n": "after"}]


async def test_without_redis_the_instance_starts_publishes_and_counts_its_losses() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", channel="gateway:events")
    await bus.start(wait=0.1)
    bus.publish("t", {"n": "1"})
    await until(lambda: bus.lost == 1)
    health = bus.health()
    await bus.close()
    assert health == (True, "redis not subscribed; 0 heard, 1 lost, 0 dropped")


async def test_a_full_outbox_drops_the_newest_rather_than_wait() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", channel="gateway:events", outbox_size=1)
    bus.publish("t", {"n": "1"})
    bus.publish("t", {"n": "2"})
    assert bus.dropped == 1


async def _kill_connection(client: Redis, name: str) -> None:
    (found,) = [entry for entry in await client.client_list() if entry["name"] == name]
    await client.client_kill_filter(_id=found["id"])
