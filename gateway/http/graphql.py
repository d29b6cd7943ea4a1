"""GraphQL over HTTP (the GraphQL-over-HTTP spec as audited by graphql-http 1.23.1).

One route answers ``POST``/``GET /graphql`` and, through the socket door it is given
(``gateway.http.websocket``), ``graphql-transport-ws`` on the same path. The HTTP side,
cheapest checks first:

- methods GET and POST only (405 with ``Allow``); GET runs queries only, and a mutation over
  GET is answered 405 with ``Allow: POST``;
- ``Accept``: ``application/graphql-response+json`` when the client asks for it, else
  ``application/json`` (also for ``*/*`` or no header); neither acceptable: 406;
- POST bodies must be ``application/json`` (UTF-8), anything else 415: form and multipart
  posts, which a browser sends cross-site without a preflight, never reach the schema;
- GET needs a header that a browser sends cross-site only after a CORS preflight, so that a
  cross-site page cannot make a browser run a query (400): ``GraphQL-Require-Preflight``,
  ``X-Requested-With``, a bearer ``Authorization`` (a browser never adds one by itself: a
  page must set it) or a non-simple content type;
- the body is read up to the cap and no further (413);
- batching is off: a JSON array is a request error. Each operation carries its own limits,
  cost, audit and trusted-document check; a batch would multiply them behind one request;
- a request that is not well-formed (a body that is not JSON, a parameter of the wrong type,
  no query) answers 400 whatever the client accepts;
- GraphQL request errors (parse or validation failures, variables that do not coerce, no
  operation to run, limits) answer 400 with ``application/graphql-response+json`` and 200 with
  ``application/json``, without a ``data`` entry; an operation that ran answers 200.

``tests/gateway/test_graphql_http_audit.py`` runs graphql-http's audit suite against a live
server, one test per audit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from gateway.config import ConfigError, Settings
from gateway.http.bodies import read_capped
from gateway.http.errors import Refusal
from gateway.http.responses import dumps
from gateway.logs import request_id
from resolvers.errors import PublicError
from resolvers.hardening import (
    CostMode,
    DocumentRequest,
    Hardening,
    HardeningSettings,
    TrustedDocuments,
    TrustedManifestError,
)

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

ContextGetter = Callable[[Request], Awaitable[Any]]
RoleOf = Callable[[Any], str | None]

_ALLOWED_OPERATIONS = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}
_PREFLIGHT_HEADERS = ("graphql-require-preflight", "x-requested-with")
_BEARER = "bearer "
_SIMPLE_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
_STATUS_BY_CODE = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}


class MalformedRequest(PublicError):
    """The body or query string is not a well-formed GraphQL-over-HTTP request (400)."""

    code = "BAD_REQUEST"
    http_status = 400


class RequestError(PublicError):
    """A well-formed request whose document cannot run as sent: no operation of that name,
    or an operation type the method does not run (a GraphQL request error)."""

    code = "BAD_REQUEST"


@dataclass(frozen=True)
class Operation:
    """One GraphQL request's parameters, checked for type but not yet resolved."""

    document: DocumentRequest
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None


def hardening_from(settings: Settings) -> Hardening:
    """The process's ``Hardening`` from the GATEWAY_GRAPHQL_* settings and ``mode``."""
    production = settings.mode == "production"
    roles = frozenset(settings.graphql_trusted_documents_required_for)
    manifest = settings.graphql_trusted_documents
    if roles and manifest is None:
        raise ConfigError(
            "GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS_REQUIRED_FOR is not allowed alone: "
            "set GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS to the manifest too"
        )
    try:
        trusted = TrustedDocuments.from_manifest(manifest) if manifest else TrustedDocuments()
    except TrustedManifestError as exc:
        raise ConfigError(f"GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS: {exc}") from exc
    limits = HardeningSettings(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_cost=settings.graphql_max_cost,
        cost_mode=cast(CostMode, settings.graphql_cost_mode),
        default_list_size=settings.graphql_default_list_size,
        introspection=not production,
        suggestions=not production,
        trusted_documents_required_for_roles=roles,
        cache_size=settings.graphql_cache_size,
    )
    return Hardening(limits, trusted)


class GraphQLRoute(Route):
    """The ``/graphql`` route: GraphQL over HTTP and ``graphql-transport-ws`` on one path.

    ``schema`` must be built with ``hardening.extensions``; ``context_getter`` builds the
    per-request context from the request; ``role_of`` reads the principal's role from that
    context, and is required once some role must use trusted documents. WebSockets go to
    ``sockets`` (a ``GraphQLSocket``); without one, the upgrade is refused::

        hardening = hardening_from(settings)
        schema = build_schema(extensions=hardening.extensions)
        GraphQLRoute(schema, context_getter=make_context, settings=settings,
                     hardening=hardening, role_of=lambda context: context.principal.role,
                     sockets=GraphQLSocket(schema, gate=gate, ...))
    """

    def __init__(
        self,
        schema: Schema,
        *,
        context_getter: ContextGetter,
        settings: Settings,
        hardening: Hardening,
        role_of: RoleOf | None = None,
        sockets: ASGIApp | None = None,
        path: str = "/graphql",
    ) -> None:
        view = GraphQLView(
            schema,
            context_getter=context_getter,
            hardening=hardening,
            max_body_bytes=settings.graphql_max_body_bytes,
            role_of=role_of,
            sockets=sockets,
        )
        super().__init__(path, view, name="graphql")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "websocket" and self.path_regex.match(get_route_path(scope)):
            return Match.FULL, {"endpoint": self.endpoint, "path_params": {}}
        return super().matches(scope)


class GraphQLView(GraphQL[Any, None]):
    """strawberry's ASGI view with our HTTP side; WebSockets go to ``sockets``."""

    def __init__(
        self,
        schema: Schema,
        *,
        context_getter: ContextGetter,
        hardening: Hardening,
        max_body_bytes: int,
        role_of: RoleOf | None,
        sockets: ASGIApp | None = None,
    ) -> None:
        missing = set(hardening.extensions) - set(schema.extensions)
        if missing:
            raise ValueError("the schema must be built with hardening.extensions")
        if hardening.settings.trusted_documents_required_for_roles and role_of is None:
            raise ValueError("role_of is required when a role must use trusted documents")
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(),
            multipart_uploads_enabled=False,
        )
        self.context_getter = context_getter
        self.hardening = hardening
        self.max_body_bytes = max_body_bytes
        self.role_of = role_of
        self.sockets = sockets

    async def get_context(self, request: Request | WebSocket, response: Any) -> Any:
        return await self.context_getter(cast(Request, request))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if self.sockets is None:
                await WebSocket(scope, receive, send).close()
                return
            await self.sockets(scope, receive, send)
            return
        request = Request(scope, receive)
        media = negotiate(request.headers.get("accept", ""))
        try:
            response = await self._answer(request, media)
        except Refusal as refusal:
            body = {"errors": [error_entry(refusal.message, {"code": refusal.code})]}
            response = _json(body, media or JSON, refusal.status, refusal.headers)
        await response(scope, receive, send)

    async def _answer(self, request: Request, media: str | None) -> Response:
        if request.method not in _ALLOWED_OPERATIONS:
            raise Refusal(
                405, "METHOD_NOT_ALLOWED", "Use GET or POST", headers={"Allow": "GET, POST"}
            )
        if media is None:
            message = f"Accept {GRAPHQL_RESPONSE} or {JSON}"
            raise Refusal(406, "NOT_ACCEPTABLE", message)
        try:
            operation = await self._operation(request)
            context = await self.get_context(request, None)
            role = self.role_of(context) if self.role_of else None
            query = self.hardening.document_for(operation.document, role)
            if query is None:
                raise MalformedRequest("No GraphQL query found in the request")
            result = await self._execute(request.method, query, operation, context)
        except PublicError as error:
            status = getattr(error, "http_status", None) or _STATUS_BY_CODE.get(
                error.code, _request_error_status(media)
            )
            return _json({"errors": [error_entry(error.message, error.extensions)]}, media, status)
        return _result_response(result, media)

    async def _operation(self, request: Request) -> Operation:
        if request.method == "GET":
            _check_preflight(request)
            params: Any = dict(request.query_params)
            for name in ("variables", "extensions"):
                if name in params:
                    params[name] = _decode(params[name].encode()) if params[name] else None
        else:
            _check_json_content_type(request)
            params = _decode(await read_capped(request, self.max_body_bytes))
        return parse_operation(params)

    async def _execute(
        self, method: str, query: str, operation: Operation, context: Any
    ) -> ExecutionResult:
        try:
            return await self.schema.execute(
                query,
                variable_values=operation.variables,
                context_value=context,
                operation_name=operation.operation_name,
                allowed_operation_types=_ALLOWED_OPERATIONS[method],
                operation_extensions=operation.extensions,
            )
        except InvalidOperationTypeError as exc:
            if method == "GET" and exc.operation_type is OperationType.MUTATION:
                message = "Mutations must be sent with POST"
                raise Refusal(
                    405, "METHOD_NOT_ALLOWED", message, headers={"Allow": "POST"}
                ) from exc
            raise RequestError(exc.as_http_error_reason(method)) from exc
        except CannotGetOperationTypeError as exc:
            raise RequestError(exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise MalformedRequest("No GraphQL query found in the request") from exc


@lru_cache(maxsize=64)
def negotiate(accept: str) -> str | None:
    """The response media type for an ``Accept`` header, or None when neither is acceptable.

    The most specific matching range decides each type's quality; on a tie the JSON types
    named outright prefer graphql-response, and wildcards fall back to application/json.
    Clients send few distinct headers, each many times: the answers are kept (bounded).
    """
    if not accept.strip():
        return JSON
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    best: tuple[float, int, bool] | None = None
    chosen = None
    for candidate in (JSON, GRAPHQL_RESPONSE):
        matches = [(spec, q) for media, spec, q in ranges if _covers(media, candidate)]
        if not matches:
            continue
        specificity, quality = max(matches)
        rank = (quality, specificity, candidate == GRAPHQL_RESPONSE and specificity == 2)
        if quality > 0 and (best is None or rank > best):
            best, chosen = rank, candidate
    return chosen


def _media_range(part: str) -> tuple[str, int, float]:
    media, *params = (piece.strip() for piece in part.split(";"))
    media = media.lower()
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
    specificity = 0 if media == "*/*" else 1 if media.endswith("/*") else 2
    return media, specificity, quality


def _covers(media_range: str, media_type: str) -> bool:
    if media_range in ("*/*", media_type):
        return True
    return media_range.endswith("/*") and media_type.startswith(media_range[:-1])


def _check_preflight(request: Request) -> None:
    headers = request.headers
    if any(name in headers for name in _PREFLIGHT_HEADERS):
        return
    # Not Basic or Digest: a browser adds those by itself, cross-site and without a preflight.
    if headers.get("authorization", "")[: len(_BEARER)].lower() == _BEARER:
        return
    content_type = _media_type(headers.get("content-type", ""))
    if content_type and content_type not in _SIMPLE_CONTENT_TYPES:
        return
    raise Refusal(
        400,
        "CSRF_PREFLIGHT_REQUIRED",
        "GET requests need a GraphQL-Require-Preflight, X-Requested-With or bearer "
        "Authorization header",
    )


def _check_json_content_type(request: Request) -> None:
    header = request.headers.get("content-type", "")
    charset = next(
        (
            value.strip().strip('"').lower()
            for name, _, value in (p.partition("=") for p in header.split(";")[1:])
            if name.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if _media_type(header) != JSON or charset not in ("utf-8", "utf8"):
        message = f"Send the request body as {JSON} in UTF-8"
        raise Refusal(415, "UNSUPPORTED_MEDIA_TYPE", message)


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedRequest("The request is not valid JSON") from None


def parse_operation(params: Any) -> Operation:
    """The parameters of one operation, from an HTTP body or a ``subscribe`` payload."""
    if isinstance(params, list):
        raise MalformedRequest("Batched requests are not supported: send one operation")
    if not isinstance(params, dict):
        raise MalformedRequest("The request must be a JSON object")
    query = _optional(params, "query", str)
    document_id = _optional(params, "documentId", str)
    operation_name = _optional(params, "operationName", str)
    variables = _optional(params, "variables", dict)
    extensions = _optional(params, "extensions", dict)
    persisted = (extensions or {}).get("persistedQuery")
    persisted_hash = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if persisted_hash is not None and not isinstance(persisted_hash, str):
        raise MalformedRequest("extensions.persistedQuery.sha256Hash must be a string")
    return Operation(
        document=DocumentRequest(query, document_id, persisted_hash),
        operation_name=operation_name,
        variables=variables,
        extensions=extensions,
    )


def _optional(params: dict[str, Any], name: str, kind: type) -> Any:
    value = params.get(name)
    if value is not None and not isinstance(value, kind):
        shape = "a string" if kind is str else "an object"
        raise MalformedRequest(f"The {name} parameter must be {shape} or null")
    return value


def _result_response(result: ExecutionResult, media: str) -> Response:
    errors = result.errors or []
    body: dict[str, Any] = {}
    # No data and no error from a field: the operation never ran (a request error).
    ran = result.data is not None or any(error.path is not None for error in errors)
    if ran:
        body["data"] = result.data
    if errors:
        body["errors"] = [_with_request_id(error.formatted) for error in errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return _json(body, media, 200 if ran else _request_error_status(media))


def _request_error_status(media: str) -> int:
    return 400 if media == GRAPHQL_RESPONSE else 200


def error_entry(message: str, extensions: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of a GraphQL ``errors`` list, carrying the request id when there is one."""
    return _with_request_id({"message": message, "extensions": dict(extensions)})


def _with_request_id(error: dict[str, Any]) -> dict[str, Any]:
    """``error`` with ``extensions.requestId``, so a client can quote it to the operators."""
    rid = request_id.get()
    if not rid:
        return error
    return {**error, "extensions": {**(error.get("extensions") or {}), "requestId": rid}}


def _json(body: Any, media: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type=media, headers=headers)
