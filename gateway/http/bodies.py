"""The one capped reader of request bodies: every door reads a body through it."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from gateway.http.errors import Refusal


class BodyTooLarge(Refusal):
    """The body is over the door's cap; ``limit`` is the cap, for doors that say it their way."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "PAYLOAD_TOO_LARGE", f"The request body exceeds {limit} bytes")
        self.limit = limit


async def read_capped(request: Request, limit: int) -> bytes:
    """The whole body, refused as soon as its declared or read size passes ``limit`` bytes,
    so an oversized body is never held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge(limit)
    except ClientDisconnect:
        raise Refusal(400, "BODY_INCOMPLETE", "The client went away mid-body") from None
    return bytes(body)
