"""Who is calling: the one place routes and middleware learn the caller of a request.

The token verifier needs an HTTP session, which exists only once the lifespan runs, while the
middleware stack is built before it; ``Authenticator`` is created with the app and bound to the
verifier when the lifespan starts.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import Scope

from gateway.auth import TokenVerifier, require
from integrations.access.errors import AccessError, AuthenticationError
from integrations.access.principal import Principal

SESSION_TOKEN = "token"
"""Where a browser page's session (``scope["session"]``) keeps the caller's bearer token."""


class Authenticator:
    def __init__(self, verifier: TokenVerifier | None = None) -> None:
        self.verifier = verifier

    def bind(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def principal(self, scope: Scope) -> Principal | None:
        """The verified caller, None without a token; raises ``AccessError`` for a bad one."""
        if self.verifier is None:
            raise AuthenticationError("no token verifier is running", code="AUTH_UNAVAILABLE")
        return await self.verifier.authenticate(scope)

    async def caller(self, connection: HTTPConnection) -> Principal:
        """For routes: the caller; raises the ``AccessError`` that says why there is none
        (the app's handler answers it with its status)."""
        return require(await self.principal(connection.scope))

    async def identify(self, scope: Scope) -> str | None:
        """For rate limits: the caller's name, from the bearer token or else from the token a
        browser page's session holds; a bad token counts against its address only."""
        try:
            principal = await self.principal(scope)
            session_token = (scope.get("session") or {}).get(SESSION_TOKEN)
            if principal is None and session_token and self.verifier is not None:
                principal = await self.verifier.verify(str(session_token))
        except AccessError:
            return None
        return principal.actor if principal else None
