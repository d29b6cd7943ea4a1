"""GraphQL over HTTP, one test per rule; rules quote the spec or graphql-http 1.23.1 audits.

The route runs in-process around the toy schema of the hardening tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import Message
from starlette.websockets import WebSocket

from gateway.config import ConfigError, load_settings
from gateway.http.graphql import GRAPHQL_RESPONSE, GraphQLRoute, hardening_from, negotiate
from gateway.http.ratelimit import Budgets
from gateway.http.websocket import Admission, Credentials, GraphQLSocket
from integrations.ratelimit.windows import Limit, MemoryWindows
from resolvers.errors import PublicError
from resolvers.hardening import document_hash
from tests.resolvers.hardening.toy import ToyContext, toy_schema
from tests.support.servers import in_process_client
from tests.support.settings import PRODUCTION_ENV

JSON_BODY = {"content-type": "application/json"}
WANTS_GRAPHQL = {**JSON_BODY, "accept": GRAPHQL_RESPONSE}
WANTS_JSON = {**JSON_BODY, "accept": "application/json"}
PREFLIGHT = {"graphql-require-preflight": "1"}
TRUSTED = "query Hello { hello }"


class Harness:
    """The app and every context it built, so tests can see which resolvers ran."""

    def __init__(self, **settings: Any) -> None:
        self.settings = load_settings(environ={}, **settings)
        self.hardening = hardening_from(self.settings)
        self.contexts: list[ToyContext] = []
        schema = toy_schema(self.hardening.extensions)
        sockets = GraphQLSocket(
            schema,
            gate=ToyGate(self.contexts),
            hardening=self.hardening,
            budgets=Budgets(MemoryWindows(), Limit(1000, 60), Limit(1000, 60)),
            max_message_bytes=self.settings.graphql_max_body_bytes,
        )
        route = GraphQLRoute(
            schema,
            context_getter=self.context,
            settings=self.settings,
            hardening=self.hardening,
            role_of=lambda context: context.role,
            sockets=sockets,
        )
        self.app = Starlette(routes=[route])

    async def context(self, request: Request) -> ToyContext:
        if request.headers.get("authorization") == "Bearer expired":
            raise PublicError("The token has expired", code="UNAUTHENTICATED")
        context = ToyContext(role=request.headers.get("x-role"))
        self.contexts.append(context)
        return context

    @property
    def calls(self) -> list[str]:
        return [call for context in self.contexts for call in context.calls]


class ToyGate:
    """Admits every socket operation, with the role its upgrade request names."""

    def __init__(self, contexts: list[ToyContext]) -> None:
        self.contexts = contexts

    async def admit(self, websocket: WebSocket, credentials: Credentials) -> Admission:
        role = websocket.headers.get("x-role")
        return Admission(principal=None, caller=None, role=role, expires_at=None)

    def context(self, websocket: WebSocket, admission: Admission) -> ToyContext:
        context = ToyContext(role=admission.role)
        self.contexts.append(context)
        return context


@pytest.fixture
def harness() -> Harness:
    return Harness(graphql_max_cost=1000, graphql_max_body_bytes=2048)


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(harness.app) as http:
        yield http


async def post(client: httpx.AsyncClient, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/graphql", content=json.dumps(body), headers=headers)


# Media types


async def test_graphql_response_json_when_accepted(client: httpx.AsyncClient) -> None:
    """22EB: SHOULD accept application/graphql-response+json and match the content-type."""
    response = await post(client, {"query": "{ __typename }"}, WANTS_GRAPHQL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_application_json_when_accepted(client: httpx.AsyncClient) -> None:
    """4655: MUST accept application/json and match the content-type."""
    response = await post(client, {"query": "{ hello }"}, WANTS_JSON)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param("*/*", "application/json", id="47DE-any"),
        pytest.param("", "application/json", id="80D8-missing"),
        pytest.param("application/*", "application/json", id="type-wildcard"),
        pytest.param(f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE, id="both"),
        pytest.param(f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE, id="tie"),
        pytest.param(f"{GRAPHQL_RESPONSE};q=0.5, */*", "application/json", id="quality-wins"),
        pytest.param(f"{GRAPHQL_RESPONSE};q=0, application/json", "application/json", id="q0"),
        pytest.param("text/html", None, id="none"),
    ],
)
def test_negotiation(accept: str, expected: str | None) -> None:
    """47DE: SHOULD accept */* and use application/json; 80D8: SHOULD assume application/json
    when accept is missing."""
    assert negotiate(accept) == expected


async def test_unacceptable_media_type_is_406(client: httpx.AsyncClient) -> None:
    """Spec: a server MAY answer 406 Not Acceptable when it supports no requested type."""
    response = await post(client, {"query": "{ hello }"}, {**JSON_BODY, "accept": "text/html"})
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


# Methods


async def test_mutation_over_get_is_405_and_never_runs(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    """Spec: GET requests MUST NOT be used for executing mutations; 405 with Allow (9C48)."""
    params = {"query": 'mutation { rename(name: "x") }'}
    response = await client.get("/graphql", params=params, headers={**PREFLIGHT, **WANTS_GRAPHQL})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert harness.calls == []


async def test_mutation_over_post_runs(client: httpx.AsyncClient, harness: Harness) -> None:
    """2C94: MUST accept POST requests."""
    response = await post(client, {"query": 'mutation { rename(name: "x") }'}, WANTS_GRAPHQL)
    assert response.json() == {"data": {"rename": "x"}}
    assert harness.calls == ["rename"]


async def test_query_over_get_runs_with_variables(client: httpx.AsyncClient) -> None:
    """D6D5: MAY allow URL-encoded JSON string {variables} parameter in GETs."""
    params = {
        "query": "query($n: Int) { people(first: $n) { name } }",
        "variables": json.dumps({"n": 1}),
    }
    response = await client.get("/graphql", params=params, headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.json() == {"data": {"people": [{"name": "person-0"}]}}


async def test_other_methods_are_405(client: httpx.AsyncClient) -> None:
    """Spec: a server MUST accept POST and MAY accept GET; nothing else."""
    response = await client.put("/graphql", content=b"{}", headers=JSON_BODY)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


# Request bodies


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param(None, id="9ABE-missing"),
        pytest.param("text/plain", id="text"),
        pytest.param("application/x-www-form-urlencoded", id="form"),
        pytest.param("multipart/form-data; boundary=x", id="multipart"),
        pytest.param("application/json; charset=latin-1", id="not-utf8"),
    ],
)
async def test_unsupported_content_types_are_415(
    client: httpx.AsyncClient, harness: Harness, content_type: str | None
) -> None:
    """9ABE: SHOULD respond with 4xx if content-type is not supplied on POST; form and
    multipart posts skip CORS preflight, so they never reach the schema."""
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/graphql", content=b'{"query": "{ hello }"}', headers=headers)
    assert response.status_code == 415
    assert harness.calls == []


async def test_utf8_charset_is_accepted(client: httpx.AsyncClient) -> None:
    """BF61: MUST accept utf-8 encoded request."""
    headers = {"content-type": "application/json; charset=utf-8"}
    response = await client.post("/graphql", content=b'{"query": "{ hello }"}', headers=headers)
    assert response.status_code == 200


async def test_oversize_body_is_413(client: httpx.AsyncClient, harness: Harness) -> None:
    """Spec: 413 for a body above the server's limit, refused before execution."""
    body = {"query": "{ hello }", "variables": {"pad": "x" * 4096}}
    response = await post(client, body, WANTS_GRAPHQL)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert harness.calls == []


async def test_oversize_body_without_length_is_cut_off_while_reading(
    client: httpx.AsyncClient,
) -> None:
    """The cap holds for chunked bodies too: reading stops past the limit."""
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            sent.append(1)
            yield b" " * 1024

    response = await client.post("/graphql", content=chunks(), headers=WANTS_GRAPHQL)
    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert len(sent) < 100


async def test_batches_are_refused(client: httpx.AsyncClient, harness: Harness) -> None:
    """Batching is off: one operation per request, each with its own limits and audit."""
    response = await post(client, [{"query": "{ hello }"}] * 2, WANTS_GRAPHQL)
    assert response.status_code == 400
    assert "Batched" in response.json()["errors"][0]["message"]
    assert harness.calls == []


# CSRF


async def test_get_without_preflight_header_is_refused(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    """A simple cross-site GET must not run a query: it needs a header that forces a
    CORS preflight (GraphQL-Require-Preflight or X-Requested-With)."""
    response = await client.get("/graphql", params={"query": "{ hello }"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREFLIGHT_REQUIRED"
    assert harness.calls == []
    headers = {"x-requested-with": "XMLHttpRequest"}
    response = await client.get("/graphql", params={"query": "{ hello }"}, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        pytest.param("Bearer a.b.c", 200, id="bearer"),
        pytest.param("bearer a.b.c", 200, id="bearer-any-case"),
        pytest.param("Basic dXNlcjpwYXNz", 400, id="basic"),
        pytest.param("Bearer", 400, id="no-token"),
    ],
)
async def test_a_bearer_token_forces_the_preflight_itself(
    client: httpx.AsyncClient, authorization: str, status: int
) -> None:
    """5A70: MAY accept application/x-www-form-urlencoded formatted GET requests. A page must
    set a bearer Authorization header itself, which forces a CORS preflight, so such a GET
    needs no other header; Basic credentials a browser adds on its own do not count."""
    headers = {"authorization": authorization}
    response = await client.get("/graphql", params={"query": "{ hello }"}, headers=headers)
    assert response.status_code == status


# Malformed requests: 400 whatever the client accepts, never data


MALFORMED = [
    pytest.param(b'{ "not a JSON', id="BCF8-B7N8-json-parse"),
    pytest.param(b"", id="A5BF-empty-body"),
    pytest.param(json.dumps({"qeury": "{ hello }"}).encode(), id="3E3A-8764-423L-no-query"),
    pytest.param(json.dumps({"query": 0}).encode(), id="LKJ1-query-number"),
    pytest.param(json.dumps({"query": ["{ hello }"]}).encode(), id="LKJ3-query-array"),
    pytest.param(
        json.dumps({"query": "{ hello }", "operationName": {}}).encode(), id="6C00-operation"
    ),
    pytest.param(json.dumps({"query": "{ hello }", "variables": "x"}).encode(), id="4760-vars"),
    pytest.param(json.dumps({"query": "{ hello }", "extensions": []}).encode(), id="58B3-ext"),
]


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
@pytest.mark.parametrize("body", MALFORMED)
async def test_malformed_requests_are_400_without_data(
    client: httpx.AsyncClient, harness: Harness, body: bytes, accept: str
) -> None:
    """SHOULD use 400 status code on JSON parsing failure when accepting application/json
    (BCF8) or application/graphql-response+json (B7N8); MAY use 400 status code if parameters
    are invalid (3E3A), on a missing body (A5BF) or on a {query}, {operationName},
    {variables} or {extensions} parameter of the wrong type (LKJ*, 6C0*, 476*, 58B*)."""
    response = await client.post("/graphql", content=body, headers={**JSON_BODY, "accept": accept})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(accept)
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert harness.calls == []


# GraphQL request errors: 400 with graphql-response+json, 200 with application/json, never data


REQUEST_ERRORS = [
    pytest.param({"query": "{"}, id="556A-572B-document-parse"),
    pytest.param({"query": "{ nope }"}, id="74FF-FDE2-validation"),
    pytest.param(
        {"query": "query($id: ID!) { __typename }", "variables": {"id": None}},
        id="86EE-7B9B-variable-coercion",
    ),
    pytest.param({"query": "{ hello }", "operationName": "X"}, id="no-such-operation"),
]


@pytest.mark.parametrize("body", REQUEST_ERRORS)
async def test_request_errors_are_400_without_data_for_graphql_response_json(
    client: httpx.AsyncClient, harness: Harness, body: dict[str, Any]
) -> None:
    """SHOULD use 400 status code on document parsing failure (556A), document validation
    failure (74FF) or variable coercion failure (86EE) when accepting
    application/graphql-response+json, and SHOULD not contain the data entry (D586, 5E5B)."""
    response = await post(client, body, WANTS_GRAPHQL)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["message"]
    assert harness.calls == []


@pytest.mark.parametrize("body", REQUEST_ERRORS)
async def test_request_errors_are_200_with_errors_for_application_json(
    client: httpx.AsyncClient, harness: Harness, body: dict[str, Any]
) -> None:
    """SHOULD use 200 status code on document parsing failure (572B), document validation
    failure (FDE2) or variable coercion failure (7B9B) when accepting application/json."""
    response = await post(client, body, WANTS_JSON)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"]
    assert harness.calls == []


@pytest.mark.parametrize("name", ["variables", "operationName", "extensions"])
async def test_null_parameters_are_allowed(client: httpx.AsyncClient, name: str) -> None:
    """94B0-2 / 0220-2: MUST allow null {variables}, {operationName}, {extensions}."""
    response = await post(client, {"query": "{ hello }", name: None}, WANTS_GRAPHQL)
    assert response.status_code == 200
    assert "errors" not in response.json()


async def test_field_errors_keep_data_and_200(client: httpx.AsyncClient) -> None:
    """Spec: if the response contains a data entry (even null), the server SHOULD use 2xx."""
    response = await post(client, {"query": "{ hello broken }"}, WANTS_GRAPHQL)
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] == {"hello": "world", "broken": None}
    assert payload["errors"][0] == {
        "message": "Internal error",
        "locations": [{"line": 1, "column": 9}],
        "path": ["broken"],
        "extensions": {"code": "INTERNAL"},
    }


async def test_unauthenticated_context_is_401(client: httpx.AsyncClient) -> None:
    """Spec: SHOULD use 401 or 403 when the request is not permitted."""
    headers = {**WANTS_GRAPHQL, "authorization": "Bearer expired"}
    response = await post(client, {"query": "{ hello }"}, headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# Hardening over HTTP


async def test_limits_refuse_before_execution(client: httpx.AsyncClient, harness: Harness) -> None:
    """Hostile queries never reach a resolver, and say why with a code."""
    body = {"query": "{ people(first: 100000) { friends { name } } }"}
    response = await post(client, body, WANTS_GRAPHQL)
    assert response.status_code == 400
    payload = response.json()
    assert payload["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert payload["errors"][0]["extensions"]["cost"] > 1000
    assert harness.calls == []


async def test_measure_mode_reports_cost_in_extensions() -> None:
    harness = Harness(graphql_cost_mode="measure", graphql_max_cost=1)
    async with in_process_client(harness.app) as client:
        response = await post(client, {"query": "{ people(first: 2) { name } }"}, WANTS_GRAPHQL)
    assert response.status_code == 200
    assert response.json()["extensions"] == {
        "cost": {"requested": 3, "limit": 1, "mode": "measure"}
    }


async def test_production_mode_hides_introspection_and_suggestions() -> None:
    harness = Harness(
        **{name.removeprefix("GATEWAY_").lower(): value for name, value in PRODUCTION_ENV.items()}
    )
    async with in_process_client(harness.app) as client:
        response = await post(client, {"query": "{ __schema { types { name } } }"}, WANTS_JSON)
        assert response.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        response = await post(client, {"query": "{ helo }"}, WANTS_JSON)
        assert (
            response.json()["errors"][0]["message"] == "Cannot query field 'helo' on type 'Query'."
        )


async def test_development_mode_keeps_introspection(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ __schema { queryType { name } } }"}, WANTS_JSON)
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@pytest.fixture
def trusted_harness(tmp_path: Path) -> Harness:
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({f"sha256:{document_hash(TRUSTED)}": TRUSTED}))
    return Harness(
        graphql_trusted_documents=str(manifest), graphql_trusted_documents_required_for=["app"]
    )


async def test_trusted_documents_by_id_and_apq_hash(trusted_harness: Harness) -> None:
    app_role = {**WANTS_GRAPHQL, "x-role": "app"}
    digest = document_hash(TRUSTED)
    apq = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    async with in_process_client(trusted_harness.app) as client:
        by_id = await post(client, {"documentId": f"sha256:{digest}"}, app_role)
        by_hash = await post(client, apq, app_role)
        by_get = await client.get(
            "/graphql", params={"documentId": digest}, headers={**app_role, **PREFLIGHT}
        )
    for response in (by_id, by_hash, by_get):
        assert response.status_code == 200
        assert response.json() == {"data": {"hello": "world"}}


async def test_free_form_queries_refused_for_roles_that_need_trusted_documents(
    trusted_harness: Harness,
) -> None:
    async with in_process_client(trusted_harness.app) as client:
        refused = await post(client, {"query": "{ hello }"}, {**WANTS_GRAPHQL, "x-role": "app"})
        allowed = await post(client, {"query": "{ hello }"}, {**WANTS_GRAPHQL, "x-role": "officer"})
        unknown = await post(client, {"documentId": "a" * 64}, WANTS_JSON)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
    assert allowed.status_code == 200
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert [c for c in trusted_harness.calls] == ["hello"]


# Wiring


def test_schema_without_the_hardening_is_refused() -> None:
    harness = Harness()
    with pytest.raises(ValueError, match=r"hardening\.extensions"):
        GraphQLRoute(
            toy_schema(),
            context_getter=harness.context,
            settings=harness.settings,
            hardening=harness.hardening,
        )


def test_trusted_roles_need_role_of(trusted_harness: Harness) -> None:
    with pytest.raises(ValueError, match="role_of"):
        GraphQLRoute(
            toy_schema(trusted_harness.hardening.extensions),
            context_getter=trusted_harness.context,
            settings=trusted_harness.settings,
            hardening=trusted_harness.hardening,
        )


def test_trusted_settings_are_checked_at_start(tmp_path: Path) -> None:
    alone = load_settings(environ={"GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS_REQUIRED_FOR": "app"})
    with pytest.raises(ConfigError, match="not allowed alone"):
        hardening_from(alone)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"0" * 64: TRUSTED}))
    bad = load_settings(environ={"GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS": str(broken)})
    with pytest.raises(ConfigError, match="GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS"):
        hardening_from(bad)
    with pytest.raises(ConfigError, match="comma-separated list of citizen"):
        load_settings(environ={"GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS_REQUIRED_FOR": "admin"})


class WebSocketSession:
    """Drives the ASGI app through one WebSocket connection, in-process."""

    def __init__(self, app: Starlette, path: str, subprotocol: str) -> None:
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"gateway.test"),
                (b"sec-websocket-protocol", subprotocol.encode()),
            ],
            "subprotocols": [subprotocol],
            "client": ("127.0.0.1", 50000),
            "server": ("gateway.test", 80),
            "state": {},
        }
        self.app = app
        self.inbound: asyncio.Queue[Message] = asyncio.Queue()
        self.outbound: asyncio.Queue[Message] = asyncio.Queue()

    async def __aenter__(self) -> WebSocketSession:
        self.task = asyncio.create_task(self.app(self.scope, self.inbound.get, self.outbound.put))
        await self.inbound.put({"type": "websocket.connect"})
        self.accepted = await self._next()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.inbound.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, 5)

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.inbound.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive_json(self) -> Any:
        return json.loads((await self._next())["text"])

    async def _next(self) -> Message:
        # A guard against a hang, not a timing assertion.
        return await asyncio.wait_for(self.outbound.get(), 5)


async def test_subscriptions_over_graphql_transport_ws_on_the_same_path() -> None:
    """WS /graphql speaks graphql-transport-ws, with a context per operation and the limits."""
    harness = Harness()
    async with WebSocketSession(harness.app, "/graphql", "graphql-transport-ws") as ws:
        assert ws.accepted == {
            "type": "websocket.accept",
            "subprotocol": "graphql-transport-ws",
            "headers": [],
        }
        await ws.send_json({"type": "connection_init"})
        assert (await ws.receive_json())["type"] == "connection_ack"
        query = "subscription { ticks(count: 2) }"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        assert (await ws.receive_json())["payload"] == {"data": {"ticks": 0}}
        assert (await ws.receive_json())["payload"] == {"data": {"ticks": 1}}
        assert await ws.receive_json() == {"id": "1", "type": "complete"}
        bomb = "subscription { " + "a: ticks " * 20 + "}"
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": bomb}})
        error = await ws.receive_json()
        assert error["type"] == "error"
        assert error["payload"][0]["extensions"]["code"] == "ALIAS_LIMIT_EXCEEDED"
    assert harness.calls == ["ticks"]
