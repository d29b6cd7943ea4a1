"""The live feed: invoices accepted for one seller, pushed to the page as server-sent events.

The events come from the graph's ``invoiceAccepted`` subscription run in-process, with a
context from the one factory, so the subscriber is decided and every delivery is written to
the access log exactly as over the WebSocket door. The stream ends when the token does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import jwt
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.web.caller import form_of, principal_of
from gateway.web.graph import Answer, PageGraph
from gateway.web.render import page, see_other


class LiveFeed:
    def __init__(self, graph: PageGraph) -> None:
        self.graph = graph

    async def home(self, request: Request) -> Response:
        return page(request, "feed.html", {"seller": request.session.get("seller", "")})

    async def choose(self, request: Request) -> Response:
        form = await form_of(request)
        request.session["seller"] = str(form.get("seller", "")).strip()
        return see_other("/workbench/feed")

    async def events(self, request: Request) -> Response:
        await principal_of(request)  # refused here, as a page, rather than mid-stream
        token = str(request.session["token"])
        seller = request.session.get("seller", "")
        answers = self.graph.subscribe(request, "feed", {"seller": seller})
        return StreamingResponse(
            _stream(answers, _seconds_left(token)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


async def _stream(answers: AsyncIterator[Answer], seconds: float) -> AsyncIterator[bytes]:
    yield b": open\n\n"
    try:
        async with asyncio.timeout(seconds):
            async for answer in answers:
                for problem in answer.problems:
                    yield _event("problem", {"code": problem.code, "message": problem.message})
                    return
                yield _event("invoice", answer.data["invoiceAccepted"])
    except TimeoutError:
        yield _event("problem", {"code": "AUTH_EXPIRED", "message": "the sign-in has expired"})


def _event(name: str, data: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _seconds_left(token: str) -> float:
    """Until the token's ``exp`` (already verified when the subscription was admitted)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return max(0.0, float(claims.get("exp", 0)) - time.time())
