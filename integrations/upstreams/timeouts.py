"""The overall deadline of a call, across attempts, back-off sleeps and shared in-flight waits.

Each attempt is also bounded by ``UpstreamSettings.total_timeout`` in the transport; this layer
bounds what the caller waits in total.
"""

from __future__ import annotations

import asyncio

from integrations.errors import UpstreamTimeout
from integrations.upstreams.calls import BatchCall, Fetch, Items


class Deadline:
    """Fails a call with ``UpstreamTimeout`` once ``seconds`` have passed."""

    def __init__(self, service: str, seconds: float) -> None:
        self._service = service
        self._seconds = seconds

    def wrap(self, inner: Fetch) -> Fetch:
        async def fetch(call: BatchCall) -> Items:
            try:
                async with asyncio.timeout(self._seconds):
                    return await inner(call)
            except TimeoutError as exc:
                message = f"no answer within the {self._seconds:g} s deadline"
                raise UpstreamTimeout(self._service, message) from exc

        return fetch
