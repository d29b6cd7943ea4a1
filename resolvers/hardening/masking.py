"""Error masking that keeps stable codes: clients see coded public errors, never internals.

Every error leaving the schema carries ``extensions.code``:

- errors raised on purpose (``PublicError``, ``GatewayError`` and subclasses) keep their
  message and get their code, plus ``service`` for upstream failures;
- parse, validation and limit errors keep their message and get GRAPHQL_PARSE_FAILED,
  GRAPHQL_VALIDATION_FAILED or the limit's own code (DEPTH_LIMIT_EXCEEDED, …);
- invalid variables keep their message with BAD_USER_INPUT;
- anything else becomes "Internal error" with INTERNAL; the original is logged by
  strawberry before it is masked.

With ``suggestions`` off, "Did you mean …?" is cut from messages so the schema cannot be
mapped by guessing names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors
from strawberry.types.execution import StreamExecutionResult

from resolvers.errors import public_extensions, public_message
from resolvers.hardening.limits import TOKEN_LIMIT_EXCEEDED, is_token_limit_error

INTERNAL = "INTERNAL"
INTERNAL_MESSAGE = "Internal error"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"

_SUGGESTION = " Did you mean "


def public_error_extensions(error: GraphQLError) -> dict[str, Any] | None:
    """The extensions (with ``code``) a client may see, or None when ``error`` is internal."""
    original = error.original_error
    own = dict(error.extensions or {})
    if original is None:
        if "code" in own:
            return own
        if error.path is not None:
            return None
        return {**own, "code": _request_error_code(error)}
    if isinstance(original, GraphQLError):
        if "code" in own:
            return own
        return {**own, "code": BAD_USER_INPUT} if error.path is None else None
    extensions = public_extensions(original)
    return None if extensions is None else {**own, **extensions}


def should_mask_error(error: GraphQLError) -> bool:
    return public_error_extensions(error) is None


class MaskInternalErrors(MaskErrors):
    """``MaskErrors`` that hides internals as "Internal error" (INTERNAL) and gives every
    error it lets through a stable ``extensions.code``.

    Use as a factory: ``partial(MaskInternalErrors, suggestions=False)``.
    """

    def __init__(self, *, suggestions: bool = True) -> None:
        super().__init__(should_mask_error=should_mask_error, error_message=INTERNAL_MESSAGE)
        self.suggestions = suggestions

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": INTERNAL}
        return masked

    def on_operation(self) -> Iterator[None]:
        yield from super().on_operation()
        self._publish(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # A streamed result is sent as soon as the hooks yield, so code it before that.
        for _ in super().on_stream_result(result):
            self._publish(result)
            yield

    def _publish(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [self._coded(error) for error in errors]  # type: ignore[attr-defined]

    def _coded(self, error: GraphQLError) -> GraphQLError:
        if error.extensions and error.extensions.get("code") == INTERNAL:
            return error
        original = error.original_error
        message = error.message
        if original is not None and not isinstance(original, GraphQLError):
            message = public_message(original)
        if not self.suggestions:
            message = message.split(_SUGGESTION, 1)[0]
        # A fresh error, since validation errors are shared through the validation cache.
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=original,
            extensions=public_error_extensions(error),
        )


def _request_error_code(error: GraphQLError) -> str:
    if isinstance(error, GraphQLSyntaxError):
        return TOKEN_LIMIT_EXCEEDED if is_token_limit_error(error) else GRAPHQL_PARSE_FAILED
    return GRAPHQL_VALIDATION_FAILED
