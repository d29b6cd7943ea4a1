"""Call counting per endpoint, so tests and benchmarks can see what reached an agency."""

from __future__ import annotations

from collections import Counter

from aiohttp import web


class CallStats:
    """Counts calls by ``"METHOD /route/{template}"``; admin calls are not counted."""

    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()

    def snapshot(self) -> dict[str, int]:
        return dict(self._calls)

    def total(self, prefix: str = "") -> int:
        """Calls whose key starts with ``prefix``, e.g. ``"POST /v1/people:batch"``."""
        return sum(n for key, n in self._calls.items() if key.startswith(prefix))

    def reset(self) -> None:
        self._calls.clear()

    @web.middleware
    async def middleware(self, request: web.Request, handler: web.Handler) -> web.StreamResponse:
        if not request.path.startswith("/_admin/"):
            route = request.match_info.route.resource
            template = route.canonical if route is not None else request.path
            self._calls[f"{request.method} {template}"] += 1
        return await handler(request)
