"""GraphQL over WebSocket (``graphql-transport-ws``) on ``/graphql``, each operation admitted
as an HTTP request is.

A socket outlives its token and any one decision, so it keeps nothing of its caller but the
credentials declared once, in ``connection_init``:

- The payload carries them, as browser clients (which cannot set headers on a WebSocket) send
  them: ``Authorization`` (any case, ``Bearer <token>``), ``token``, ``authToken`` or
  ``accessToken`` (the bare token), or the same inside a ``headers`` object; the purpose and
  case reference as ``X-Purpose``/``purpose`` and ``X-Case-Ref``/``caseRef``. What the payload
  lacks is read from the upgrade request's headers.
- They are checked at once. A refusal closes the socket with 4000 + the status the HTTP door
  would answer (4401, 4403, 4400) and a reason naming the code (``Unauthorized: AUTH_EXPIRED:
  …``); unreachable keys close it with 1013 (try again later).
- When the token expires, the socket is closed with 4401 ``AUTH_EXPIRED``, ending every
  subscription on it.
- Each ``subscribe`` is admitted anew: the token is verified again (a refusal closes the socket
  as above), the rate limit counts it with the HTTP door's budgets (``RATE_LIMITED``, with
  ``retryAfter``), the caller's role decides whether only trusted documents may run, and the
  operation runs with a context of its own (guard, read ledger, loaders) under the schema's
  limits. Queries, mutations and subscriptions may all run; a refused operation gets an
  ``error`` message and the socket stays open.
- A message over the GraphQL body cap closes the socket with 4413, unread and unechoed.

The protocol's own rules stay as strawberry has them: 4400 for a malformed message, 4401 for
a subscribe before the acknowledgement, 4408 when no ``connection_init`` comes in time, 4409
for an id in use, 4429 for a second ``connection_init``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from http import HTTPStatus
from json import JSONDecodeError
from typing import Any, Final, Protocol, cast

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry import Schema
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import aclosing

from gateway.auth import CASE_REF_HEADER, PURPOSE_HEADER, client_address
from gateway.http.errors import status_of_error
from gateway.http.graphql import MalformedRequest, error_entry, parse_operation
from gateway.http.graphql import Operation as Parameters
from gateway.http.ratelimit import Budgets
from integrations.access.errors import AuthenticationError, RequestContextInvalid
from integrations.errors import GatewayError
from resolvers.errors import PublicError
from resolvers.hardening import Hardening

log = logging.getLogger("gateway.websocket")

EVERY_OPERATION: Final = frozenset(OperationType)
MAX_REASON_BYTES: Final = 123
"""The most a close frame's reason may hold."""
_TOKEN_KEYS: Final = ("token", "authtoken", "accesstoken")
_PURPOSE_KEYS: Final = (PURPOSE_HEADER, "purpose")
_CASE_REF_KEYS: Final = (CASE_REF_HEADER, "caseref")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a socket's caller declares once: a bearer token, a purpose, a case reference."""

    token: str | None = None
    purpose: str | None = None
    case_ref: str | None = None

    @classmethod
    def of(cls, payload: Mapping[str, object], headers: Mapping[str, str]) -> Credentials:
        """Read from ``connection_init``'s payload, then from the upgrade's ``headers``.

        Raises ``AuthenticationError`` for a token that is not a bearer token, and
        ``RequestContextInvalid`` for a purpose or case reference that is not text.
        """
        sources = (_folded(payload), _folded(payload.get("headers")), _folded(headers))
        return cls(
            token=_token(sources),
            purpose=_text(sources, _PURPOSE_KEYS),
            case_ref=_text(sources, _CASE_REF_KEYS),
        )


@dataclass(frozen=True, slots=True)
class Admission:
    """The caller of one operation as verified just now."""

    principal: Any
    caller: str | None
    """The name the rate limit counts it under; None for no per-caller budget."""
    role: str | None
    """Decides whether only trusted documents may run."""
    expires_at: float | None
    """Unix time at which the credentials stop being valid, if ever."""


class Gate(Protocol):
    """What a socket asks of the graph it serves, for every operation."""

    async def admit(self, websocket: WebSocket, credentials: Credentials) -> Admission:
        """The caller ``credentials`` verify as now; raises a ``GatewayError`` to refuse."""
        ...

    def context(self, websocket: WebSocket, admission: Admission) -> Any:
        """A fresh context for one operation of the admitted caller."""
        ...


class CappedSocket(ASGIWebSocketAdapter):
    """Reads messages up to the size cap; a larger one closes the socket with 4413."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        limit = cast(GraphQLSocket, self.view).max_message_bytes
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if len(text) > limit or len(text.encode()) > limit:
                    message = f"a message may have at most {limit} bytes"
                    await self.close(4413, close_reason(413, "PAYLOAD_TOO_LARGE", message))
                    return
                try:
                    decoded = self.view.decode_json(text)
                except JSONDecodeError as exc:
                    if ignore_parsing_errors:
                        continue
                    raise NonJsonMessageReceived from exc
                yield decoded
        except KeyError as exc:
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            return


class AdmittedOperation(Operation[None, None]):
    """One operation with the context and the extensions it runs with."""

    __slots__ = ("context", "extensions")

    def __init__(
        self,
        handler: AdmittingHandler,
        operation_id: str,
        query: str,
        parameters: Parameters,
        context: Any,
    ) -> None:
        super().__init__(
            handler, operation_id, query, parameters.variables, parameters.operation_name
        )
        self.context = context
        self.extensions = parameters.extensions


class AdmittingHandler(BaseGraphQLTransportWSHandler[None, None]):
    """strawberry's protocol handler, admitting the connection and then each operation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.door = cast(GraphQLSocket, self.view)
        self.socket: WebSocket = cast(CappedSocket, self.websocket).ws
        self.credentials = Credentials()
        self.expiry: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload", {})
        if self.connection_init_received or not isinstance(payload, dict):
            await super().handle_connection_init(message)
            return
        try:
            self.credentials = Credentials.of(payload, self.socket.headers)
            admission = await self.door.gate.admit(self.socket, self.credentials)
        except GatewayError as error:
            await self.refuse(error)
            return
        if admission.expires_at is not None:
            self.expiry = asyncio.create_task(self._expire(admission.expires_at))
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            not self.connection_acknowledged
            or message["id"] in self.operations
            or (limit is not None and len(self.operations) >= limit)
        ):
            await super().handle_subscribe(message)
            return
        try:
            parameters = parse_operation(message.get("payload"))
        except MalformedRequest as error:
            await self.close(4400, error.message)
            return
        try:
            admission = await self.door.gate.admit(self.socket, self.credentials)
        except GatewayError as error:
            await self.refuse(error)
            return
        operation = await self._admitted(message["id"], parameters, admission)
        if operation is not None:
            operation.task = asyncio.create_task(self.run_operation(operation))
            operation.task.add_done_callback(self._task_done)
            self.operations[operation.id] = operation

    async def _admitted(
        self, operation_id: str, parameters: Parameters, admission: Admission
    ) -> AdmittedOperation | None:
        """The operation to run, or None once its ``error`` message is sent."""

        async def caller() -> str | None:
            return admission.caller

        wait = await self.door.budgets.retry_after(client_address(self.socket.scope), caller)
        if wait is not None:
            extensions = {
                "code": "RATE_LIMITED",
                "hint": f"Retry after {wait} seconds.",
                "retryAfter": wait,
            }
            await self.send_errors(operation_id, [error_entry("Too many requests", extensions)])
            return None
        try:
            query = self.door.hardening.document_for(parameters.document, admission.role)
            if query is None:
                raise MalformedRequest("No GraphQL query found in the request")
        except PublicError as error:
            await self.send_errors(operation_id, [error_entry(error.message, error.extensions)])
            return None
        context = self.door.gate.context(self.socket, admission)
        return AdmittedOperation(self, operation_id, query, parameters, context)

    async def run_operation(self, operation: Operation[None, None]) -> None:
        """strawberry's, with the operation's own context and extensions."""
        admitted = cast(AdmittedOperation, operation)
        try:
            results = await self.schema.stream(
                admitted.query,
                variable_values=admitted.variables,
                context_value=admitted.context,
                operation_name=admitted.operation_name,
                operation_extensions=admitted.extensions,
                allowed_operation_types=EVERY_OPERATION,
            )
            async with aclosing(results):
                await self._send_result_stream(admitted, results)
            await admitted.send_operation_message({"id": admitted.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception:
            log.exception("operation %s failed", admitted.id)
            with suppress(Exception):
                await admitted.send_operation_message({"id": admitted.id, "type": "complete"})
            self.operations.pop(admitted.id, None)
            raise

    async def send_errors(self, operation_id: str, errors: Iterable[dict[str, Any]]) -> None:
        await self.send_message({"id": operation_id, "type": "error", "payload": list(errors)})

    async def refuse(self, error: GatewayError) -> None:
        """Close the socket as the HTTP door would answer ``error``."""
        status = status_of_error(error)
        await self.close(close_code(status), close_reason(status, error.code, error.message))

    async def close(self, code: int, reason: str) -> None:
        if self.socket.application_state is WebSocketState.CONNECTED:
            await self.websocket.close(code, reason)

    async def shutdown(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        await super().shutdown()

    async def _expire(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        await self.refuse(AuthenticationError("the token has expired", code="AUTH_EXPIRED"))


class GraphQLSocket(GraphQL[Any, None]):
    """strawberry's ASGI view for ``graphql-transport-ws`` only, each operation admitted by
    ``gate`` and counted by ``budgets``::

        GraphQLSocket(schema, gate=contexts, hardening=hardening, budgets=budgets,
                      max_message_bytes=settings.graphql_max_body_bytes)
    """

    websocket_adapter_class = CappedSocket  # type: ignore[assignment]
    graphql_transport_ws_handler_class = AdmittingHandler

    def __init__(
        self,
        schema: Schema,
        *,
        gate: Gate,
        hardening: Hardening,
        budgets: Budgets,
        max_message_bytes: int,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            multipart_uploads_enabled=False,
        )
        self.gate = gate
        self.hardening = hardening
        self.budgets = budgets
        self.max_message_bytes = max_message_bytes

    async def get_context(self, request: Any, response: Any) -> None:
        """None for the connection: each operation gets a context of its own from ``gate``."""
        return None


def close_code(status: int) -> int:
    """The close code for an HTTP status: 4000 + a 4xx, as graphql-ws does; 1013 (try again
    later) for a 5xx."""
    return 4000 + status if 400 <= status < 500 else 1013


def close_reason(status: int, code: str, message: str) -> str:
    """``Unauthorized: AUTH_EXPIRED: <message>``, cut to what a close frame holds."""
    reason = f"{HTTPStatus(status).phrase}: {code}: {message}".encode()
    return reason[:MAX_REASON_BYTES].decode(errors="ignore")


def _folded(value: object) -> dict[str, object]:
    """``value``'s entries with lower-case keys; nothing when it is not an object."""
    if not isinstance(value, Mapping):
        return {}
    return {str(key).lower(): item for key, item in value.items()}


def _token(sources: Iterable[dict[str, object]]) -> str | None:
    for source in sources:
        if (value := source.get("authorization")) is not None:
            return _bearer(value, bare=False)
        for key in _TOKEN_KEYS:
            if (value := source.get(key)) is not None:
                return _bearer(value, bare=True)
    return None


def _bearer(value: object, *, bare: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    scheme, _, token = text.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if bare and text and " " not in text:
        return text
    raise AuthenticationError("send the token as Authorization: Bearer <token>")


def _text(sources: Iterable[dict[str, object]], keys: Iterable[str]) -> str | None:
    value = next((s[k] for s in sources for k in keys if s.get(k) is not None), None)
    if value is not None and not isinstance(value, str):
        raise RequestContextInvalid(f"{'/'.join(keys)} must be text")
    return value
