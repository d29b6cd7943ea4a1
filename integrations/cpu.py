"""The one path for CPU-heavy work (XML parsing, schema checks, signatures) off the event loop.

lxml and OpenSSL release the GIL for their heavy parts, so a small pool keeps the loop free to
accept connections while large documents are checked, without the cost of processes.

A small document is worked on the loop itself (``run_sized``). Handing it to a thread cost
more than the work: the loop's thread, back from each socket write, waited for the GIL that
the pool's thread held, up to the interpreter's switch interval (5 ms) at a time. Measured
over HTTP on PostgreSQL, 2 workers, 32 clients, single 7.6 KB invoices: 10-45 % more accepted
invoices a second, and 16 ms instead of 20 ms an invoice one at a time.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

INLINE_BYTES = 32 * 1024
"""Documents up to this size are worked on the loop: about 10 ms of checks at most, against
the 2-4 ms of a typical invoice; larger ones, and batches of invoices, go to the pool."""


class CpuPool:
    def __init__(self, workers: int = 2, *, inline_bytes: int = INLINE_BYTES) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cpu")
        self.inline_bytes = inline_bytes

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def run_sized(
        self, size: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``run`` for work on a document of ``size`` bytes: a small one on the loop itself."""
        if size <= self.inline_bytes:
            return fn(*args, **kwargs)
        return await self.run(fn, *args, **kwargs)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
