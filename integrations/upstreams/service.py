"""One agency's pipeline: the resilience layers in order, shared by all of its resources.

From the caller inwards::

    errors metric → scoped cache → deadline → single-flight → retry (budget) → breaker → HTTP

The cache answers first so that hits cost nothing; the deadline bounds what a caller waits,
including a wait on someone else's in-flight call; retries sit outside the breaker so that an
open circuit stops them at once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from integrations.errors import UpstreamError
from integrations.upstreams.batch import BatchReader, HttpBatch
from integrations.upstreams.breaker import BreakerState, CircuitBreaker
from integrations.upstreams.budget import RetryBudget
from integrations.upstreams.cache import ScopedCache
from integrations.upstreams.calls import BatchCall, Fetch, Items
from integrations.upstreams.metrics import UpstreamMetrics
from integrations.upstreams.retry import Retry, Sleep
from integrations.upstreams.settings import UpstreamSettings
from integrations.upstreams.shapes import Fields
from integrations.upstreams.singleflight import SingleFlight
from integrations.upstreams.timeouts import Deadline
from integrations.upstreams.transport import Transport

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    """What ``/readyz`` reports for one agency."""

    service: str
    breaker: BreakerState

    @property
    def ready(self) -> bool:
        return self.breaker is not BreakerState.OPEN


@dataclass(frozen=True, slots=True)
class Clock:
    """Time sources, replaceable so that a benchmark or test can observe the waits."""

    sleep: Sleep = asyncio.sleep
    rng: random.Random | None = None
    monotonic: Callable[[], float] = time.monotonic


class UpstreamService:
    """The shared state of one agency (breaker, budget, cache, in-flight calls) and its readers."""

    def __init__(
        self,
        name: str,
        settings: UpstreamSettings,
        transport: Transport,
        metrics: UpstreamMetrics,
        clock: Clock | None = None,
    ) -> None:
        clock = clock or Clock()
        self.name = name
        self.settings = settings
        self._transport = transport
        self._metrics = metrics
        self._limit = asyncio.Semaphore(settings.max_connections)
        self.breaker = CircuitBreaker(
            name,
            failure_threshold=settings.breaker_failures,
            open_seconds=settings.breaker_open_seconds,
            half_open_probes=settings.breaker_half_open_probes,
            clock=clock.monotonic,
            on_change=lambda state: metrics.breaker_changed(name, state),
        )
        metrics.breaker_changed(name, BreakerState.CLOSED)
        self.budget = RetryBudget(
            ratio=settings.retry_budget_ratio,
            min_retries=settings.retry_budget_min,
            window=settings.retry_budget_window,
        )
        self._retry = Retry(
            self.budget,
            attempts=settings.attempts,
            backoff_base=settings.backoff_base,
            backoff_cap=settings.backoff_cap,
            retry_after_cap=settings.retry_after_cap,
            sleep=clock.sleep,
            rng=clock.rng,
            on_retry=lambda _: metrics.retries.labels(name).inc(),
        )
        self.cache = ScopedCache(
            ttl=settings.cache_ttl,
            max_entries=settings.cache_max_entries,
            on_lookup=metrics.cache_lookup(name),
        )
        self._single_flight = SingleFlight()
        self._deadline = Deadline(name, settings.deadline)

    def reader(self, resource: str, decode: Callable[[Fields], T]) -> BatchReader[T]:
        """A reader of ``resource`` whose records are checked and built by ``decode``."""
        fetch: Fetch = HttpBatch(
            self.name, self.settings, self._transport, self._metrics, decode, self._limit
        )
        for layer in (
            self.breaker,
            self._retry,
            self._single_flight,
            self._deadline,
            self.cache,
        ):
            fetch = layer.wrap(fetch)
        return BatchReader(
            self.name, resource, self._counted(fetch), max_batch=self.settings.max_batch
        )

    def health(self) -> UpstreamHealth:
        return UpstreamHealth(self.name, self.breaker.state)

    def _counted(self, inner: Fetch) -> Fetch:
        async def fetch(call: BatchCall) -> Items:
            try:
                return await inner(call)
            except UpstreamError as exc:
                self._metrics.errors.labels(self.name, exc.code).inc()
                raise

        return fetch
