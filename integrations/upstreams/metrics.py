"""Prometheus metrics of the upstream calls, registered on a registry the owner passes in."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from integrations.upstreams.breaker import BreakerState

_STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class UpstreamMetrics:
    """Calls, latency, errors, retries, cache use and breaker state, labelled by service.

    The hot path labels its children once per service: ``labels()`` looks the labels up on
    every call, a cost each upstream request would pay several times over.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "gateway_upstream_calls",
            "HTTP requests sent to agencies, by outcome (ok or error code).",
            ["service", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "gateway_upstream_latency_seconds",
            "Time per HTTP request to an agency.",
            ["service"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.errors = Counter(
            "gateway_upstream_errors",
            "Failed upstream calls seen by callers, by error code.",
            ["service", "code"],
            registry=registry,
        )
        self.retries = Counter(
            "gateway_upstream_retries", "Retries sent to agencies.", ["service"], registry=registry
        )
        self.cache = Counter(
            "gateway_upstream_cache_lookups",
            "Records looked up in the scoped cache, by result (hit or miss).",
            ["service", "result"],
            registry=registry,
        )
        self.breaker = Gauge(
            "gateway_upstream_breaker_state",
            "Circuit state per agency: 0 closed, 1 half-open, 2 open (the worst of the live "
            "workers).",
            ["service"],
            registry=registry,
            multiprocess_mode="livemax",
        )

    def breaker_changed(self, service: str, state: BreakerState) -> None:
        self.breaker.labels(service).set(_STATE_VALUES[state])

    def cache_lookup(self, service: str) -> Callable[[int, int], None]:
        """Counts one cache lookup's hits and misses for ``service``, labelled once."""
        hit, miss = self.cache.labels(service, "hit"), self.cache.labels(service, "miss")

        def record(hits: int, misses: int) -> None:
            hit.inc(hits)
            miss.inc(misses)

        return record
