"""The citizen graph on ``/graphql``: the hardened schema, and one context factory for the
HTTP door and the WebSocket door."""

from __future__ import annotations

import jwt
from starlette.requests import HTTPConnection, Request
from starlette.websockets import WebSocket

from gateway.auth import client_address, with_request_context
from gateway.config import Settings
from gateway.http.authn import Authenticator
from gateway.http.errors import status_of_error
from gateway.http.graphql import GraphQLRoute, hardening_from
from gateway.http.ratelimit import Budgets
from gateway.http.websocket import Admission, Credentials, GraphQLSocket
from gateway.state import Services
from integrations.access.errors import AccessError, AuthenticationError
from integrations.access.principal import Principal
from integrations.ratelimit.windows import Windows
from resolvers import Context, build_context, build_schema
from resolvers.errors import PublicError


class CallerRefused(PublicError):
    """No usable credentials on a GraphQL request; carries the HTTP status to answer with."""

    def __init__(self, error: AccessError) -> None:
        super().__init__(error.message, code=error.code, hint=error.hint)
        self.http_status = status_of_error(error)


class GraphContexts:
    """The context of every GraphQL operation, whichever door it comes through.

    Both doors call ``build`` once per operation, so each gets a fresh access guard, read
    ledger and loaders for the principal as verified for that operation: the HTTP door per
    request (``of_request``), the WebSocket door per ``subscribe`` (``admit``, then
    ``context``), the token verified again each time.
    """

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    def build(self, connection: HTTPConnection, principal: Principal) -> Context:
        services: Services = connection.state.services
        return build_context(
            principal=principal,
            upstreams=services.upstreams,
            store=services.intake.store,
            audit=services.audit,
            intake=services.intake,
            consents=services.consents,
            broadcaster=services.broadcaster,
        )

    async def of_request(self, request: Request) -> Context:
        try:
            principal = await self.authenticator.principal(request.scope)
        except AccessError as exc:
            raise CallerRefused(exc) from exc
        if principal is None:
            raise CallerRefused(
                AuthenticationError("this request needs a bearer token", code="AUTH_REQUIRED")
            )
        return self.build(request, principal)

    async def admit(self, websocket: WebSocket, credentials: Credentials) -> Admission:
        verifier = self.authenticator.verifier
        if verifier is None:
            raise AuthenticationError("no token verifier is running", code="AUTH_UNAVAILABLE")
        if credentials.token is None:
            raise AuthenticationError("this connection needs a bearer token", code="AUTH_REQUIRED")
        principal = with_request_context(
            await verifier.verify(credentials.token),
            purpose=credentials.purpose,
            case_ref=credentials.case_ref,
            client_address=client_address(websocket.scope),
        )
        expires_at = _expiry(credentials.token) + verifier.leeway
        return Admission(principal, principal.actor, principal.role.value, expires_at)

    def context(self, websocket: WebSocket, admission: Admission) -> Context:
        return self.build(websocket, admission.principal)


def graphql_route(
    settings: Settings, authenticator: Authenticator, windows: Windows
) -> GraphQLRoute:
    """``/graphql`` for both doors; ``windows`` are the HTTP rate limit's, so that requests
    and WebSocket operations share each caller's and each address's budget."""
    hardening = hardening_from(settings)
    schema = build_schema(extensions=hardening.extensions)
    contexts = GraphContexts(authenticator)
    sockets = GraphQLSocket(
        schema,
        gate=contexts,
        hardening=hardening,
        budgets=Budgets(windows, settings.rate_limit_principal, settings.rate_limit_address),
        max_message_bytes=settings.graphql_max_body_bytes,
    )
    return GraphQLRoute(
        schema,
        context_getter=contexts.of_request,
        settings=settings,
        hardening=hardening,
        role_of=lambda context: context.principal.role,
        sockets=sockets,
    )


def _expiry(token: str) -> float:
    """The ``exp`` of a token ``TokenVerifier.verify`` accepted (which requires one)."""
    return float(jwt.decode(token, options={"verify_signature": False})["exp"])
