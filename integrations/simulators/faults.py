"""Fault knobs: a value object and the middleware that makes a simulator misbehave on purpose."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import orjson
from aiohttp import web

from integrations.simulators.responses import error_response

HANG_SECONDS = 3600.0
"""How long a hanging call waits; callers are expected to give up long before."""


@dataclass(frozen=True, slots=True)
class Faults:
    """How a simulated agency misbehaves; the default is a healthy agency.

    Rates are probabilities in [0, 1] drawn from a generator seeded with ``seed``, so a given
    sequence of calls misbehaves the same way on every run::

        Faults(latency_ms=200, error_rate=0.1)   # slow, and one call in ten answers 500
        Faults(rate_limit=0.05)                  # every call answers 429, Retry-After: 0.05
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    hang_rate: float = 0.0
    down: bool = False
    rate_limit: float | None = None
    malformed_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "hang_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        for name in ("latency_ms", "jitter_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.rate_limit is not None and self.rate_limit < 0:
            raise ValueError("rate_limit (Retry-After seconds) must not be negative")

    @classmethod
    def from_json(cls, data: object) -> Faults:
        """Build from an admin request body; unknown keys are refused, not ignored."""
        if not isinstance(data, Mapping):
            raise ValueError("faults must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault knobs {unknown}; allowed: {sorted(known)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class FaultInjector:
    """Holds the current faults of one simulator and applies them to every agency call."""

    def __init__(self, faults: Faults) -> None:
        self.set(faults)

    @property
    def faults(self) -> Faults:
        return self._faults

    def set(self, faults: Faults) -> None:
        self._faults = faults
        self._rng = random.Random(faults.seed)

    @web.middleware
    async def middleware(self, request: web.Request, handler: web.Handler) -> web.StreamResponse:
        if request.path.startswith("/_admin/"):
            return await handler(request)
        faults = self._faults
        if faults.down:
            return error_response(503, "DOWN", "the agency is down for maintenance")
        if faults.rate_limit is not None:
            response = error_response(429, "RATE_LIMITED", "too many requests")
            response.headers["Retry-After"] = f"{faults.rate_limit:g}"
            return response
        # Draw every roll on every call so that one knob does not shift the others' sequence.
        jitter, hang, error, malformed, kind = (self._rng.random() for _ in range(5))
        delay = faults.latency_ms + jitter * faults.jitter_ms
        if delay:
            await asyncio.sleep(delay / 1000)
        if hang < faults.hang_rate:
            await asyncio.sleep(HANG_SECONDS)
        if error < faults.error_rate:
            return error_response(500, "INTERNAL", "simulated failure")
        response = await handler(request)
        if malformed < faults.malformed_rate and isinstance(response, web.Response):
            return _malformed(response, truncate=kind < 0.5)
        return response


def _malformed(response: web.Response, *, truncate: bool) -> web.Response:
    body = bytes(response.body or b"")  # type: ignore[arg-type]
    broken = body[: len(body) // 2] if truncate else orjson.dumps(_wrong_types(orjson.loads(body)))
    return web.Response(
        body=broken, status=response.status, content_type="application/json", charset="utf-8"
    )


def _wrong_types(value: object) -> object:
    """The same document with every leaf swapped for a value of another type."""
    if isinstance(value, dict):
        return {key: _wrong_types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wrong_types(item) for item in value]
    if isinstance(value, str):
        return len(value)
    if value is None:
        return None
    return str(value)
