"""The citizen graph on ``/graphql``: the hardened schema and the per-request context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.websockets import WebSocket

from gateway.config import Settings
from gateway.http.authn import Authenticator
from gateway.http.errors import status_of_error
from gateway.http.graphql import GraphQLRoute, hardening_from
from gateway.state import Services
from integrations.access.errors import AccessError, AuthenticationError
from resolvers import Context, build_context, build_schema
from resolvers.errors import PublicError


class CallerRefused(PublicError):
    """No usable credentials on a GraphQL request; carries the HTTP status to answer with."""

    def __init__(self, error: AccessError) -> None:
        super().__init__(error.message, code=error.code, hint=error.hint)
        self.http_status = status_of_error(error)


def graphql_route(settings: Settings, authenticator: Authenticator) -> GraphQLRoute:
    hardening = hardening_from(settings)

    async def context(connection: Request | WebSocket) -> Context:
        services: Services = connection.state.services
        try:
            principal = await authenticator.principal(connection.scope)
        except AccessError as exc:
            raise CallerRefused(exc) from exc
        if principal is None:
            raise CallerRefused(
                AuthenticationError("this request needs a bearer token", code="AUTH_REQUIRED")
            )
        return build_context(
            principal=principal,
            upstreams=services.upstreams,
            store=services.intake.store,
            audit=services.audit,
            intake=services.intake,
            consents=services.consents,
            broadcaster=services.broadcaster,
        )

    return GraphQLRoute(
        build_schema(extensions=hardening.extensions),
        context_getter=context,
        settings=settings,
        hardening=hardening,
        role_of=lambda context: context.principal.role,
    )
