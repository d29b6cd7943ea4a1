"""Identical calls in flight at the same time share one request to the agency."""

from __future__ import annotations

import asyncio

from integrations.upstreams.calls import BatchCall, Fetch, Items

Key = tuple[str, str, frozenset[str]]


class SingleFlight:
    """Joins a call to an identical one already in flight (same resource, ids and scope).

    The shared request runs as its own task, so a caller that gives up (deadline, cancel) does
    not cancel it for the others.
    """

    def __init__(self) -> None:
        self._flights: dict[Key, asyncio.Task[Items]] = {}

    def wrap(self, inner: Fetch) -> Fetch:
        async def fetch(call: BatchCall) -> Items:
            key = (call.resource, call.scope, frozenset(call.ids))
            task = self._flights.get(key)
            if task is None:
                task = asyncio.ensure_future(inner(call))
                self._flights[key] = task
                task.add_done_callback(lambda done: self._land(key, done))
            return await asyncio.shield(task)

        return fetch

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    def _land(self, key: Key, task: asyncio.Task[Items]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            # Mark the outcome as seen: every waiter may have left before it arrived.
            task.exception()
