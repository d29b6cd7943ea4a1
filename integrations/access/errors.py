"""Errors of authentication, authorisation, consent and the audit log.

Each class carries a stable ``code``; several share a class and differ only by code, so
callers branch on the class and clients on the code::

    GatewayError
    └── AccessError
        ├── AuthenticationError   AUTH_REQUIRED, AUTH_INVALID_TOKEN, AUTH_EXPIRED,
        │                         AUTH_NOT_YET_VALID, AUTH_WRONG_AUDIENCE, AUTH_WRONG_ISSUER,
        │                         AUTH_UNKNOWN_KEY, AUTH_BAD_CLAIMS
        ├── KeysUnavailable       AUTH_KEYS_UNAVAILABLE  (the key set could not be read)
        ├── RequestContextInvalid REQUEST_CONTEXT_INVALID (purpose or case reference)
        ├── AccessDenied          FORBIDDEN, CONSENT_REQUIRED, PURPOSE_REQUIRED,
        │                         CASE_REF_REQUIRED, ASSURANCE_TOO_LOW, 4006
        ├── PartyRequired         BAD_USER_INPUT (a search across parties by a non-officer)
        ├── ConsentInvalid        CONSENT_INVALID
        ├── ConsentNotFound       CONSENT_NOT_FOUND
        ├── AuditUnavailable      AUDIT_UNAVAILABLE  (callers must refuse the read)
        └── InvalidCursor         CURSOR_INVALID
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.errors import GatewayError

if TYPE_CHECKING:
    from integrations.access.policy import Decision


class AccessError(GatewayError):
    """Base of the errors of this package."""

    code = "ACCESS_ERROR"


class AuthenticationError(AccessError):
    """The request carries no usable credentials: answer 401."""

    code = "AUTH_INVALID_TOKEN"
    hint = "Send Authorization: Bearer <token> with a valid token from the identity provider."


class KeysUnavailable(AccessError):
    """The verification keys could not be loaded, so no token can be judged: answer 503."""

    code = "AUTH_KEYS_UNAVAILABLE"
    hint = "Retry later; the identity provider's key set is unreachable."


class RequestContextInvalid(AccessError):
    """The declared purpose or case reference is malformed or contradicts the token: 400."""

    code = "REQUEST_CONTEXT_INVALID"
    hint = "Send X-Purpose and X-Case-Ref as short printable text, at most 128 characters."


class AccessDenied(AccessError):
    """The caller is known but may not do this: answer 403."""

    code = "FORBIDDEN"

    @classmethod
    def from_decision(cls, decision: Decision) -> AccessDenied:
        return cls(decision.message, code=decision.reason, hint=decision.hint)


class PartyRequired(AccessError, ValueError):
    """A search names neither seller nor buyer, and the caller is no officer: answer 400."""

    code = "BAD_USER_INPUT"
    hint = "Name the seller or the buyer; only tax officers search across parties."


class ConsentInvalid(AccessError, ValueError):
    """A consent grant is incomplete or out of bounds."""

    code = "CONSENT_INVALID"
    hint = "Name at least one known data domain, a purpose and a future expiry."


class ConsentNotFound(AccessError):
    """No consent with that id belongs to the caller (existence is not revealed)."""

    code = "CONSENT_NOT_FOUND"
    hint = "List your consents to find the id."


class AuditUnavailable(AccessError):
    """The audit event could not be written, so the read it describes must be refused."""

    code = "AUDIT_UNAVAILABLE"
    hint = "Retry later; reads of personal data are refused while the audit log is unavailable."


class InvalidCursor(AccessError, ValueError):
    """A page cursor was not issued by this service."""

    code = "CURSOR_INVALID"
    hint = "Pass back an endCursor from a previous page, or no cursor for the first page."
