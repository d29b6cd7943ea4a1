"""The one JSON error shape, and the table from finding codes to HTTP statuses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.responses import json_response
from gateway.logs import request_id


def error_body(errors: Iterable[Mapping[str, Any]], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"errors": [dict(e) for e in errors]}
    body.update(extra)
    if rid := request_id.get():
        body["requestId"] = rid
    return body


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    hint: str = "",
    path: str = "",
    headers: Mapping[str, str] | None = None,
) -> Response:
    error = {"code": code, "message": message, "path": path, "hint": hint}
    return json_response(error_body([error]), status=status, headers=headers)


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(404, "NOT_FOUND", f"No route or resource at {request.url.path}")


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")


async def internal_error(request: Request, exc: Exception) -> Response:
    return error_response(
        500, "INTERNAL", "The gateway failed to answer", hint="Retry; quote the request id."
    )
