"""Sliding-window request counters behind one interface: in memory, or shared in Redis.

A window remembers when each allowed request happened and lets a new one through while fewer
than ``Limit.requests`` fall within the last ``Limit.seconds``. Refused requests are not
counted, so a client that waits ``retry_after`` is let through. Memory windows count per
process; Redis windows give every worker and host one budget.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from integrations.errors import GatewayError


class RateLimitUnavailable(GatewayError):
    """The shared counter store could not be reached."""

    code = "RATE_LIMIT_UNAVAILABLE"
    hint = "Check GATEWAY_REDIS_URL and that Redis is up."


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``requests`` in any ``seconds``-long span; written ``600/60``::

    >>> Limit.parse("600/60")
    Limit(requests=600, seconds=60.0)
    """

    requests: int
    seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.seconds <= 0:
            raise ValueError("a limit needs at least 1 request in a positive number of seconds")

    @classmethod
    def parse(cls, text: str) -> Limit:
        requests, slash, seconds = str(text).strip().partition("/")
        try:
            if not slash:
                raise ValueError
            return cls(int(requests), float(seconds))
        except ValueError:
            raise ValueError("<requests>/<seconds> with positive numbers, e.g. 600/60") from None

    def __str__(self) -> str:
        return f"{self.requests}/{self.seconds:g}"


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    remaining: int
    retry_after: float = 0.0


class Windows(Protocol):
    async def hit(self, key: str, limit: Limit) -> Verdict:
        """Count one request for ``key`` if ``limit`` allows it, and say whether it did."""
        ...


class MemoryWindows:
    """Windows in this process only; idle keys are dropped once ``max_keys`` is passed."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, tuple[deque[float], float]] = {}

    async def hit(self, key: str, limit: Limit) -> Verdict:
        now = self.clock()
        stamps, _ = self._hits.setdefault(key, (deque(), limit.seconds))
        while stamps and stamps[0] <= now - limit.seconds:
            stamps.popleft()
        if len(stamps) >= limit.requests:
            return Verdict(False, 0, stamps[0] + limit.seconds - now)
        stamps.append(now)
        self._hits[key] = (stamps, limit.seconds)
        if len(self._hits) > self.max_keys:
            self._drop_idle(now)
        return Verdict(True, limit.requests - len(stamps))

    def _drop_idle(self, now: float) -> None:
        idle = [k for k, (s, window) in self._hits.items() if not s or s[-1] <= now - window]
        for key in idle:
            del self._hits[key]


# Runs atomically in Redis, on Redis's clock, so that every worker judges by the same time.
_SLIDING_WINDOW = """
local key, limit, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window / 1000))
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now}
"""


class RedisWindows:
    """Windows in Redis (a sorted set of request times per key, expiring when idle)."""

    def __init__(self, client: Redis, *, prefix: str = "gateway:ratelimit:") -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_SLIDING_WINDOW)

    async def hit(self, key: str, limit: Limit) -> Verdict:
        window_us = int(limit.seconds * 1_000_000)
        try:
            allowed, remaining, wait_us = await self._script(
                keys=[self.prefix + key], args=[limit.requests, window_us, uuid.uuid4().hex]
            )
        except (RedisError, OSError) as exc:
            raise RateLimitUnavailable(f"rate limit store unavailable: {exc}") from exc
        return Verdict(bool(allowed), int(remaining), int(wait_us) / 1_000_000)
