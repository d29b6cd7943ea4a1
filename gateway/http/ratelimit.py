"""Rate limits: each request, or each WebSocket operation, counts against two budgets.

One budget is per client address, the other per verified caller when there is one. ``Budgets``
is the one check both doors share: the ``RateLimit`` middleware answers HTTP requests over
budget with 429 and Retry-After, the WebSocket door refuses the operation with
``RATE_LIMITED``. When the shared counter store is down the request is let through and a
warning logged: an outage of Redis must not become an outage of the gateway.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth import client_address
from gateway.http.errors import Refusal
from integrations.ratelimit.windows import Limit, RateLimitUnavailable, Windows

log = logging.getLogger("gateway.ratelimit")

Identify = Callable[[Scope], Awaitable[str | None]]
Caller = Callable[[], Awaitable[str | None]]
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


async def _anonymous(scope: Scope) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Budgets:
    """The two budgets in ``windows``; every door that shares them shares one count."""

    windows: Windows
    per_principal: Limit
    per_address: Limit

    async def retry_after(self, address: str, caller: Caller) -> int | None:
        """Count one request; None when within both budgets, else the whole seconds to wait.

        ``caller`` names the verified caller (None if anonymous); it is asked only once the
        address is within budget, so a flood from one address costs no token checks.
        """
        try:
            verdict = await self.windows.hit(f"addr:{address}", self.per_address)
            who = await caller() if verdict.allowed else None
            if who is not None:
                verdict = await self.windows.hit(f"who:{who}", self.per_principal)
        except RateLimitUnavailable as exc:
            log.warning("rate limits not applied", extra={"error": exc.message})
            return None
        return None if verdict.allowed else max(1, math.ceil(verdict.retry_after))


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
        self.budgets = Budgets(windows, per_principal, per_address)
        self.identify = identify
        self.unlimited_paths = unlimited_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unlimited_paths:
            await self.app(scope, receive, send)
            return
        wait = await self.budgets.retry_after(client_address(scope), lambda: self.identify(scope))
        if wait is None:
            await self.app(scope, receive, send)
            return
        refusal = Refusal(
            429,
            "RATE_LIMITED",
            "Too many requests",
            hint=f"Retry after {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
        await refusal.response()(scope, receive, send)
