"""Errors raised by the integrations layer.

Every error carries a stable four-digit ``code`` whose first digit names the stage that
raised it, and a ``hint`` that tells the caller how to fix the cause::

    GatewayError
    ├── IdentityError          4xxx  a tax code or personal ID number is malformed
    ├── IntakeRejected         any   an invoice was refused; carries every finding
    ├── StoreError             9xxx  the database could not be reached or written
    └── UpstreamError          -     an agency call failed; carries ``service``
        ├── UpstreamTimeout
        ├── UpstreamUnavailable
        ├── UpstreamRateLimited
        └── UpstreamBadResponse
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error this package raises on purpose."""

    code: str = "0000"
    hint: str = ""

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if hint is not None:
            self.hint = hint


class IdentityError(GatewayError, ValueError):
    """A tax code or a personal ID number does not follow its published rules."""

    code = "4001"


class StoreError(GatewayError):
    """The database refused or could not take an operation."""

    code = "9001"
    hint = "Retry later; the data store is unavailable."


class UpstreamError(GatewayError):
    """An agency's service could not give a usable answer."""

    code = "UPSTREAM_ERROR"
    retryable = False

    def __init__(self, service: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.retry_after = retry_after


class UpstreamTimeout(UpstreamError):
    """The agency did not answer within the configured time."""

    code = "UPSTREAM_TIMEOUT"
    retryable = True


class UpstreamUnavailable(UpstreamError):
    """The agency refused the connection, failed with 5xx, or its circuit is open."""

    code = "UPSTREAM_UNAVAILABLE"
    retryable = True


class UpstreamRateLimited(UpstreamError):
    """The agency answered 429; ``retry_after`` says when it will take calls again."""

    code = "UPSTREAM_RATE_LIMITED"
    retryable = True


class UpstreamBadResponse(UpstreamError):
    """The agency answered with a body that does not have the expected shape."""

    code = "UPSTREAM_BAD_RESPONSE"
