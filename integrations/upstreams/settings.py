"""How the gateway talks to one agency: a frozen value object, built by the gateway's config."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    """Limits and resilience knobs for one upstream agency; every default is usable as is.

    Times are in seconds. Example::

        UpstreamSettings("http://127.0.0.1:8701", api_key="…", total_timeout=1.5, attempts=2)
    """

    base_url: str
    """Where the agency listens, without a trailing slash, e.g. ``https://api.agency.gov.vn``."""
    api_key: str | None = field(default=None, repr=False)
    """Sent as ``X-Api-Key``; kept out of ``repr`` so it never reaches a log."""
    connect_timeout: float = 1.0
    """Longest wait for a TCP (and TLS) connection."""
    total_timeout: float = 3.0
    """Longest wait for one attempt, from sending to the last byte of the answer."""
    deadline: float = 8.0
    """Longest wait for one call, all attempts and back-off sleeps included."""
    max_connections: int = 50
    """Concurrent requests to this agency; further calls queue."""
    max_batch: int = 500
    """Most identifiers per request; larger batches are split into chunks this size."""
    attempts: int = 3
    """Tries per call, the first included; only idempotent reads are ever retried."""
    backoff_base: float = 0.05
    """First back-off ceiling; it doubles per retry, with full jitter."""
    backoff_cap: float = 1.0
    """Largest back-off between two attempts."""
    retry_after_cap: float = 5.0
    """Longest ``Retry-After`` honoured; an agency asking for more fails the call at once."""
    retry_budget_ratio: float = 0.2
    """Retries allowed as a share of calls over ``retry_budget_window``, on top of the minimum."""
    retry_budget_min: int = 10
    """Retries always allowed per window, so a quiet gateway can still retry."""
    retry_budget_window: float = 10.0
    """The sliding window over which calls and retries are counted."""
    breaker_failures: int = 5
    """Consecutive failed attempts that open the circuit."""
    breaker_open_seconds: float = 10.0
    """How long an open circuit fails calls fast before letting probes through."""
    breaker_half_open_probes: int = 1
    """Calls let through at once while half-open; a success closes the circuit."""
    cache_ttl: float = 30.0
    """How long an answer is reused for the same scope; 0 turns the cache off."""
    cache_max_entries: int = 10_000
    """Most cached records per agency; the least recently used go first."""

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        positive = ("connect_timeout", "total_timeout", "deadline", "backoff_cap")
        at_least_one = ("max_connections", "max_batch", "attempts", "breaker_failures")
        at_least_one += ("breaker_half_open_probes",)
        not_negative = ("backoff_base", "retry_after_cap", "retry_budget_ratio")
        not_negative += ("retry_budget_min", "retry_budget_window", "breaker_open_seconds")
        not_negative += ("cache_ttl", "cache_max_entries")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be greater than 0, got {getattr(self, name)}")
        for name in at_least_one:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in not_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
