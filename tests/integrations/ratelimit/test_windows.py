from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from integrations.ratelimit.windows import (
    Limit,
    MemoryWindows,
    RateLimitUnavailable,
    RedisWindows,
    Windows,
)
from tests.integrations.ratelimit.redis_server import REDIS_URL, redis_client


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    async with redis_client() as pair:
        yield pair


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def windows(request: pytest.FixtureRequest) -> AsyncIterator[Windows]:
    if request.param == "memory":
        yield MemoryWindows()
        return
    async with redis_client() as (client, prefix):
        yield RedisWindows(client, prefix=prefix)


async def test_the_limit_is_a_budget_per_key(windows: Windows) -> None:
    limit = Limit(3, 60)
    verdicts = [await windows.hit("a", limit) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert 0 < verdicts[3].retry_after <= 60
    assert (await windows.hit("b", limit)).allowed


async def test_refused_requests_do_not_extend_the_wait(windows: Windows) -> None:
    limit = Limit(1, 60)
    await windows.hit("k", limit)
    first = await windows.hit("k", limit)
    second = await windows.hit("k", limit)
    assert not first.allowed
    assert not second.allowed
    assert second.retry_after <= first.retry_after


async def test_the_window_slides() -> None:
    clock = FakeClock()
    windows = MemoryWindows(clock=clock)
    limit = Limit(2, 10)
    assert (await windows.hit("k", limit)).allowed
    clock.now += 6
    assert (await windows.hit("k", limit)).allowed
    refused = await windows.hit("k", limit)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(4)
    clock.now += 4
    assert (await windows.hit("k", limit)).allowed
    assert not (await windows.hit("k", limit)).allowed


async def test_idle_keys_are_dropped_from_memory() -> None:
    clock = FakeClock()
    windows = MemoryWindows(clock=clock, max_keys=2)
    for key in ("a", "b"):
        await windows.hit(key, Limit(1, 5))
    clock.now += 6
    await windows.hit("c", Limit(1, 5))
    assert set(windows._hits) == {"c"}


@pytest.mark.redis
async def test_two_clients_share_one_redis_budget(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    other = Redis.from_url(REDIS_URL)
    try:
        one, two = RedisWindows(client, prefix=prefix), RedisWindows(other, prefix=prefix)
        limit = Limit(4, 60)
        verdicts = [await (one if n % 2 else two).hit("shared", limit) for n in range(6)]
        assert [v.allowed for v in verdicts] == [True] * 4 + [False] * 2
    finally:
        await other.aclose()


@pytest.mark.redis
async def test_redis_keys_expire_with_the_window(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    await RedisWindows(client, prefix=prefix).hit("k", Limit(5, 30))
    ttl = await client.pttl(prefix + "k")
    assert 0 < ttl <= 30_000


async def test_an_unreachable_redis_raises_a_coded_error() -> None:
    client = Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    try:
        with pytest.raises(RateLimitUnavailable) as info:
            await RedisWindows(client).hit("k", Limit(1, 1))
    finally:
        await client.aclose()
    assert info.value.code == "RATE_LIMIT_UNAVAILABLE"


@pytest.mark.parametrize(
    ("text", "limit"),
    [("600/60", Limit(600, 60)), (" 5/0.5 ", Limit(5, 0.5))],
)
def test_limits_parse(text: str, limit: Limit) -> None:
    assert Limit.parse(text) == limit
    assert Limit.parse(str(limit)) == limit


@pytest.mark.parametrize("text", ["600", "0/60", "5/0", "a/b", "5/-1", ""])
def test_bad_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="<requests>/<seconds>"):
        Limit.parse(text)
