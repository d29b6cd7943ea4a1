from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import pytest

from integrations.cpu import CpuPool


@pytest.fixture
async def pool() -> AsyncIterator[CpuPool]:
    opened = CpuPool(inline_bytes=100)
    yield opened
    opened.close()


def thread_name(tag: str) -> tuple[str, str]:
    return tag, threading.current_thread().name


async def test_a_small_document_is_worked_on_the_loop_and_a_large_one_in_the_pool(
    pool: CpuPool,
) -> None:
    loop_thread = threading.current_thread().name
    assert await pool.run_sized(100, thread_name, "small") == ("small", loop_thread)
    tag, worker = await pool.run_sized(101, thread_name, "large")
    assert tag == "large"
    assert worker.startswith("cpu")
    assert worker != loop_thread
    _, always = await pool.run(thread_name, "any")
    assert always.startswith("cpu")


async def test_an_error_reaches_the_caller_either_way(pool: CpuPool) -> None:
    def fail(size: int) -> None:
        raise ValueError(f"bad document of {size} bytes")

    for size in (10, 1000):
        with pytest.raises(ValueError, match=f"bad document of {size} bytes"):
            await pool.run_sized(size, fail, size)
