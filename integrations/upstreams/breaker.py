"""A circuit breaker per agency: after repeated failures, fail fast instead of waiting.

closed ──(breaker_failures in a row)──▶ open ──(open_seconds)──▶ half-open
   ▲                                     ▲                          │
   └──────────── probe succeeds ─────────┼──── probe fails ─────────┘
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from integrations.errors import UpstreamError, UpstreamRateLimited, UpstreamUnavailable
from integrations.upstreams.calls import BatchCall, Fetch, Items


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(UpstreamUnavailable):
    """The agency's circuit is open; the call was not sent. Retrying now cannot help."""

    retryable = False


class CircuitBreaker:
    """Counts failed attempts for one agency and refuses calls while the circuit is open.

    A 429 is neither a failure nor a success: the agency is up and asking us to slow down.
    """

    def __init__(
        self,
        service: str,
        *,
        failure_threshold: int,
        open_seconds: float,
        half_open_probes: int,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self._service = service
        self._threshold = failure_threshold
        self._open_seconds = open_seconds
        self._probes = half_open_probes
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = 0

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() >= self._opened_at + self._open_seconds
        ):
            self._move(BreakerState.HALF_OPEN)
        return self._state

    def wrap(self, inner: Fetch) -> Fetch:
        async def fetch(call: BatchCall) -> Items:
            probe = self._admit()
            try:
                items = await inner(call)
            except UpstreamRateLimited:
                raise
            except UpstreamError:
                self._failed()
                raise
            finally:
                if probe:
                    self._probing -= 1
            self._succeeded()
            return items

        return fetch

    def _admit(self) -> bool:
        """Let the call through, reporting whether it is a half-open probe, or refuse it."""
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and self._probing < self._probes:
            self._probing += 1
            return True
        raise CircuitOpen(self._service, f"circuit is {state.value}; not calling")

    def _failed(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._move(BreakerState.OPEN)

    def _succeeded(self) -> None:
        self._failures = 0
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def _move(self, state: BreakerState) -> None:
        self._state = state
        if self._on_change is not None:
            self._on_change(state)
