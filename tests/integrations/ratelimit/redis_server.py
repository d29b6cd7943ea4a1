"""The Redis server of the test run (GATEWAY_TEST_REDIS_URL), with a fresh key prefix."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.conftest import service_missing

REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@asynccontextmanager
async def redis_client() -> AsyncIterator[tuple[Redis, str]]:
    """A connected client and a key prefix no other test uses; the keys are deleted after."""
    client = Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        await asyncio.wait_for(client.ping(), timeout=3)
    except (RedisError, OSError, TimeoutError) as exc:
        await client.aclose()
        service_missing("Redis", str(exc) or type(exc).__name__)
    prefix = f"test:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
