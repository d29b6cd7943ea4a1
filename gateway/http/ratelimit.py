"""ASGI middleware that answers 429 with Retry-After once a caller or an address is over budget.

Two budgets apply to each HTTP request: one per client address, and one per verified caller
when the request carries a valid token. When the shared counter store is down the request is
let through and a warning logged: an outage of Redis must not become an outage of the gateway.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth import client_address
from gateway.http.errors import error_response
from integrations.ratelimit.windows import Limit, RateLimitUnavailable, Verdict, Windows

log = logging.getLogger("gateway.ratelimit")

Identify = Callable[[Scope], Awaitable[str | None]]
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


async def _anonymous(scope: Scope) -> str | None:
    return None


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        windows: Windows,
        per_principal: Limit,
        per_address: Limit,
        identify: Identify = _anonymous,
        unlimited_paths: frozenset[str] = UNLIMITED_PATHS,
    ) -> None:
        self.app = app
        self.windows = windows
        self.per_principal = per_principal
        self.per_address = per_address
        self.identify = identify
        self.unlimited_paths = unlimited_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unlimited_paths:
            await self.app(scope, receive, send)
            return
        try:
            refused = await self._refusal(scope)
        except RateLimitUnavailable as exc:
            log.warning("rate limits not applied", extra={"error": exc.message})
            refused = None
        if refused is None:
            await self.app(scope, receive, send)
            return
        wait = max(1, math.ceil(refused.retry_after))
        response = error_response(
            429,
            "RATE_LIMITED",
            "Too many requests",
            hint=f"Retry after {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)

    async def _refusal(self, scope: Scope) -> Verdict | None:
        verdict = await self.windows.hit(f"addr:{client_address(scope)}", self.per_address)
        if not verdict.allowed:
            return verdict
        caller = await self.identify(scope)
        if caller is not None:
            verdict = await self.windows.hit(f"who:{caller}", self.per_principal)
            if not verdict.allowed:
                return verdict
        return None
