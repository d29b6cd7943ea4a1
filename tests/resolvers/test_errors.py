from __future__ import annotations

from integrations.errors import IdentityError, UpstreamUnavailable
from resolvers.errors import PublicError, public_extensions, to_graphql_error


def test_public_errors_carry_code_and_hint() -> None:
    error = PublicError("Consent has expired", code="CONSENT_EXPIRED", hint="Ask again.")
    assert error.extensions == {"code": "CONSENT_EXPIRED", "hint": "Ask again."}


def test_integration_errors_map_to_graphql_errors_with_code_and_service() -> None:
    graphql_error = to_graphql_error(UpstreamUnavailable("water", "circuit open"), path=["x"])
    assert graphql_error.message == "water: circuit open"
    assert graphql_error.extensions == {"code": "UPSTREAM_UNAVAILABLE", "service": "water"}
    assert graphql_error.path == ["x"]
    assert to_graphql_error(IdentityError("bad check digit")).extensions == {"code": "4001"}


def test_other_exceptions_have_no_public_extensions() -> None:
    assert public_extensions(RuntimeError("secret")) is None
