"""The overall deadline of a call, across attempts, back-off sleeps and shared in-flight waits.

Each attempt is also bounded by ``UpstreamSettings.total_timeout`` in the transport; this layer
bounds what the caller waits in total, and tells the layers inside it how much is left
(``remaining``), so that no retry starts a wait the deadline would cut short.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

from integrations.errors import UpstreamTimeout
from integrations.upstreams.calls import BatchCall, Fetch, Items

_ENDS_AT: ContextVar[float | None] = ContextVar("upstream_deadline", default=None)


def remaining() -> float | None:
    """Seconds left before the current call's deadline; None outside any deadline."""
    ends_at = _ENDS_AT.get()
    return None if ends_at is None else ends_at - asyncio.get_running_loop().time()


class Deadline:
    """Fails a call with ``UpstreamTimeout`` once ``seconds`` have passed."""

    def __init__(self, service: str, seconds: float) -> None:
        self._service = service
        self._seconds = seconds

    def wrap(self, inner: Fetch) -> Fetch:
        async def fetch(call: BatchCall) -> Items:
            token = _ENDS_AT.set(asyncio.get_running_loop().time() + self._seconds)
            try:
                async with asyncio.timeout(self._seconds):
                    return await inner(call)
            except TimeoutError as exc:
                message = f"no answer within the {self._seconds:g} s deadline"
                raise UpstreamTimeout(self._service, message) from exc
            finally:
                _ENDS_AT.reset(token)

        return fetch
