"""Retries of idempotent reads: jittered exponential back-off, ``Retry-After``, a budget.

Only errors marked ``retryable`` are retried (timeouts, 5xx, refused connections and 429);
any other 4xx or a malformed answer fails at once. The clients only ever read, so every call
that reaches this layer is idempotent. Retries fit in the call's one deadline: a wait that
would end past it is not started, and the error that asked for it (a 429 with a long
``Retry-After``, say) is raised at once as it is.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from integrations.errors import UpstreamError
from integrations.upstreams.budget import RetryBudget
from integrations.upstreams.calls import BatchCall, Fetch, Items
from integrations.upstreams.timeouts import remaining

Sleep = Callable[[float], Awaitable[None]]


class Retry:
    """Tries a call up to ``attempts`` times while the shared ``RetryBudget`` allows."""

    def __init__(
        self,
        budget: RetryBudget,
        *,
        attempts: int,
        backoff_base: float,
        backoff_cap: float,
        retry_after_cap: float,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        on_retry: Callable[[UpstreamError], None] | None = None,
    ) -> None:
        self._budget = budget
        self._attempts = attempts
        self._base = backoff_base
        self._cap = backoff_cap
        self._retry_after_cap = retry_after_cap
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._on_retry = on_retry

    def wrap(self, inner: Fetch) -> Fetch:
        async def fetch(call: BatchCall) -> Items:
            self._budget.record_call()
            attempt = 1
            while True:
                try:
                    return await inner(call)
                except UpstreamError as exc:
                    delay = self._delay(exc, attempt)
                    if delay is None or not self._budget.try_spend():
                        raise
                    if self._on_retry is not None:
                        self._on_retry(exc)
                await self._sleep(delay)
                attempt += 1

        return fetch

    def _delay(self, error: UpstreamError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` when it must not be retried."""
        if not error.retryable or attempt >= self._attempts:
            return None
        if error.retry_after is not None:
            delay = error.retry_after if error.retry_after <= self._retry_after_cap else None
        else:
            # Full jitter spreads the retries of many callers that failed at the same moment.
            delay = self._rng.uniform(0, min(self._cap, self._base * 2 ** (attempt - 1)))
        left = remaining()
        return None if delay is None or (left is not None and delay >= left) else delay
