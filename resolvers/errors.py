"""Errors the GraphQL layer shows to clients, and the one mapping to GraphQL errors.

Only errors with a stable code reach a client with their message; everything else is masked
(see ``resolvers.hardening.masking``)::

    PublicError                  a client-safe error raised by resolvers or the hardening
    ├── PersistedQueryNotFound   PERSISTED_QUERY_NOT_FOUND
    ├── TrustedDocumentRequired  TRUSTED_DOCUMENT_REQUIRED
    ├── PersonNotFound           NOT_FOUND
    └── InvalidDocumentId        BAD_REQUEST

``integrations.errors.GatewayError`` and its subclasses are public too: their ``code`` (and
``service`` for upstream errors) travel in ``extensions``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import GraphQLError, Node
from strawberry.extensions import SchemaExtension

from integrations.errors import GatewayError, UpstreamError


class PublicError(Exception):
    """Base of errors whose message and code are safe to show to any client.

    graphql-core copies ``extensions`` onto the GraphQL error it builds around an exception
    raised in a resolver, so raising one is enough for the code to reach the client::

        raise PublicError("Consent has expired", code="CONSENT_EXPIRED")
    """

    code: str = "BAD_REQUEST"
    hint: str = ""

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if hint is not None:
            self.hint = hint

    @property
    def extensions(self) -> dict[str, Any]:
        return _extensions(self.code, self.hint)


class PersistedQueryNotFound(PublicError):
    """A request named a trusted document by id that the gateway does not hold."""

    code = "PERSISTED_QUERY_NOT_FOUND"
    hint = "Send a document id from the published manifest, or the full query if allowed."


class TrustedDocumentRequired(PublicError):
    """The caller's role may only run trusted documents, and sent a free-form query."""

    code = "TRUSTED_DOCUMENT_REQUIRED"
    hint = "Send documentId (sha256:<hex>) of an operation from the published manifest."


class PersonNotFound(PublicError):
    """The population registry holds no person with that ID number (a valid one)."""

    code = "NOT_FOUND"
    hint = "Check the ID number; a person's other sources are not asked once this is known."


class InvalidDocumentId(PublicError):
    """A document id is not a sha256 hash, or does not match the query sent with it."""

    code = "BAD_REQUEST"
    hint = "Use sha256:<64 lowercase hex digits> of the exact document text."


def public_extensions(error: BaseException) -> dict[str, Any] | None:
    """The ``extensions`` a client may see for ``error``, or None when it must be masked."""
    if isinstance(error, PublicError):
        return error.extensions
    if isinstance(error, GatewayError):
        extensions = _extensions(error.code, error.hint)
        if isinstance(error, UpstreamError):
            extensions["service"] = error.service
        return extensions
    return None


def public_message(error: BaseException) -> str:
    if isinstance(error, PublicError | GatewayError):
        return error.message
    return str(error)


def to_graphql_error(
    error: PublicError | GatewayError,
    *,
    nodes: Node | Sequence[Node] | None = None,
    path: Sequence[str | int] | None = None,
) -> GraphQLError:
    """A GraphQL error carrying ``error``'s message, ``extensions.code`` and service."""
    return GraphQLError(
        public_message(error),
        nodes=nodes,
        path=path,
        original_error=error,
        extensions=public_extensions(error),
    )


def _extensions(code: str, hint: str) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": code}
    if hint:
        extensions["hint"] = hint
    return extensions


class CodeRaisedErrors(SchemaExtension):
    """Gives every error raised as a ``GatewayError`` or ``PublicError`` its code (and
    service) in ``extensions``, so resolvers raise the integrations' errors as they come,
    whatever other extensions the schema is built with."""

    def on_operation(self) -> Iterator[None]:
        yield
        _code_errors(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        _code_errors(result)
        yield


def _code_errors(result: Any) -> None:
    for error in getattr(result, "errors", None) or ():
        original = error.original_error
        if original is not None and not (error.extensions or {}).get("code"):
            extensions = public_extensions(original)
            if extensions is not None:
                error.extensions = {**(error.extensions or {}), **extensions}
