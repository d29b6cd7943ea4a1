"""The one refusal path of the HTTP routes: one error type, one table of statuses, one shape.

Routes raise ``Refusal`` (or let a ``GatewayError`` escape); the app's handler renders either
as the one JSON error shape, ``{"errors": [{code, message, path, hint}], "requestId"}``. The
status comes from one table: an integration error by its type, an intake finding by its
code's family (the first digit names the stage).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, cast

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.responses import json_response
from gateway.logs import request_id
from integrations.access.errors import (
    AccessDenied,
    AuditUnavailable,
    AuthenticationError,
    ConsentInvalid,
    ConsentNotFound,
    InvalidCursor,
    KeysUnavailable,
    PartyRequired,
    RequestContextInvalid,
)
from integrations.errors import GatewayError, IdentityError, StoreError
from integrations.store.merchants import MerchantNotFound, RegistryError

STATUS_BY_ERROR: Final[tuple[tuple[type[GatewayError], int], ...]] = (
    (AuthenticationError, 401),
    (KeysUnavailable, 503),
    (RequestContextInvalid, 400),
    (AccessDenied, 403),
    (AuditUnavailable, 503),
    (InvalidCursor, 400),
    (PartyRequired, 400),
    (ConsentInvalid, 400),
    (ConsentNotFound, 404),
    (IdentityError, 400),
    (MerchantNotFound, 404),
    (RegistryError, 422),
    (StoreError, 503),
)
"""The status of an integration error, by the most specific type listed first."""

STATUS_BY_FINDING: Final[dict[str, int]] = {"1001": 413, "1002": 400, "1003": 415, "4006": 403}
"""Intake codes whose status is not their family's."""

STATUS_BY_FAMILY: Final[dict[str, int]] = {"1": 400, "2": 422, "3": 422, "4": 422, "5": 422}
"""The status of an intake finding by its code's first digit (the stage)."""


def status_of_error(error: GatewayError) -> int:
    return next((status for kind, status in STATUS_BY_ERROR if isinstance(error, kind)), 400)


def status_of_finding(code: str) -> int:
    return STATUS_BY_FINDING.get(code) or STATUS_BY_FAMILY.get(code[:1], 422)


class Refusal(Exception):
    """A route refuses the request: answered with ``status`` and the one error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        hint: str = "",
        path: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.path = path
        self.headers = dict(headers or {})

    @classmethod
    def of(cls, error: GatewayError) -> Refusal:
        """``error`` refused with its table status, code and hint."""
        return cls(status_of_error(error), error.code, error.message, hint=error.hint)

    def response(self) -> Response:
        error = {"code": self.code, "message": self.message, "path": self.path, "hint": self.hint}
        return json_response(error_body([error]), status=self.status, headers=self.headers)


def error_body(errors: Iterable[Mapping[str, Any]], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"errors": [dict(e) for e in errors]}
    body.update(extra)
    if rid := request_id.get():
        body["requestId"] = rid
    return body


async def refused(request: Request, exc: Exception) -> Response:
    """The handler of ``Refusal`` and of every ``GatewayError`` a route lets escape."""
    refusal = Refusal.of(exc) if isinstance(exc, GatewayError) else exc
    return cast(Refusal, refusal).response()


async def not_found(request: Request, exc: Exception) -> Response:
    return Refusal(404, "NOT_FOUND", f"No route or resource at {request.url.path}").response()


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    message = f"{request.method} is not allowed here"
    return Refusal(405, "METHOD_NOT_ALLOWED", message).response()


async def internal_error(request: Request, exc: Exception) -> Response:
    hint = "Retry; quote the request id."
    return Refusal(500, "INTERNAL", "The gateway failed to answer", hint=hint).response()
