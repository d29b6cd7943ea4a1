"""Opening agency clients on simulators for tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from prometheus_client import CollectorRegistry

from integrations.upstreams import SERVICES, Upstreams, UpstreamSettings
from integrations.upstreams.service import Clock


def open_on(
    urls: Mapping[str, str], base: UpstreamSettings, *, clock: Clock | None = None
) -> Upstreams:
    """Clients for every agency at ``urls``, each with ``base``'s settings and its own URL."""
    settings = {name: replace(base, base_url=urls[name]) for name in SERVICES}
    return Upstreams.open(settings, registry=CollectorRegistry(), clock=clock)


@dataclass
class ManualTime:
    """A monotonic clock that moves only when the test moves it, so breaker timings never race
    a loaded machine."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
