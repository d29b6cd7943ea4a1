"""The parts every simulated agency shares: routes, admin endpoints, auth and fault middleware.

An agency module declares its resources (a lookup function and a hand-written item schema);
``build_app`` serves each as ``GET /v1/<name>/{id}`` and ``POST /v1/<name>:batch``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from integrations.errors import IdentityError
from integrations.simulators import known, openapi
from integrations.simulators.faults import FaultInjector, Faults
from integrations.simulators.responses import error_response
from integrations.simulators.stats import CallStats
from integrations.simulators.synthetic import chance

Item = Mapping[str, Any]
Lookup = Callable[[str], Item | None]
"""Answers one identifier: an item, ``None`` when unknown; raises ``IdentityError``."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One kind of record an agency serves, with the JSON Schema of its items."""

    name: str
    lookup: Lookup
    schema: Mapping[str, Any]
    summary: str
    id_description: str

    @property
    def operation(self) -> str:
        return self.name.replace("-", "_")

    @property
    def schema_name(self) -> str:
        return "".join(part.title() for part in self.name.split("-"))


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    """Start-up settings of one simulator.

    ``unregistered`` lists identifiers the agency must answer as unknown, even known test
    people (by default ``known.UNREGISTERED_PERSON``). Besides those, ``unregistered_rate`` of
    all other valid identifiers are deterministically unknown, so that "not registered" can be
    exercised with any data set.
    """

    faults: Faults = field(default_factory=Faults)
    api_key: str | None = None
    unregistered: frozenset[str] = frozenset({known.UNREGISTERED_PERSON})
    unregistered_rate: float = 0.05
    max_batch: int = 500


@dataclass(frozen=True, slots=True)
class Controls:
    """The run-time handles of one simulator: its faults and its call counters."""

    agency: str
    faults: FaultInjector
    stats: CallStats


CONTROLS = web.AppKey("controls", Controls)


class _Registry:
    """Decides which valid identifiers the agency has on record."""

    def __init__(self, agency: str, options: SimulatorOptions, known: frozenset[str]) -> None:
        self._agency = agency
        self._options = options
        self._known = known

    def answer(self, resource: Resource, key: str) -> Item | None:
        item = resource.lookup(key)
        if item is None or key in self._options.unregistered:
            return None
        if key not in self._known and chance(self._agency, key) < self._options.unregistered_rate:
            return None
        return item


def _api_key_check(expected: str | None) -> Callable[..., Any]:
    @web.middleware
    async def check(request: web.Request, handler: web.Handler) -> web.StreamResponse:
        if expected is None or not request.path.startswith("/v1/"):
            return await handler(request)
        given = request.headers.get("X-Api-Key", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return error_response(401, "UNAUTHORIZED", "missing or wrong X-Api-Key")
        return await handler(request)

    return check


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _single(registry: _Registry, resource: Resource) -> web.Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        key = request.match_info["id"]
        try:
            item = registry.answer(resource, key)
        except IdentityError as exc:
            return error_response(400, "INVALID_ID", str(exc))
        if item is None:
            return error_response(404, "NOT_REGISTERED", f"{key} is not registered")
        return _json(item)

    return handle


def _batch(registry: _Registry, resource: Resource, max_batch: int) -> web.Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return error_response(400, "BAD_REQUEST", "the body is not JSON")
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return error_response(400, "BAD_REQUEST", 'expected {"ids": [string, ...]}')
        if len(ids) > max_batch:
            return error_response(413, "TOO_MANY", f"at most {max_batch} ids per call")
        items: dict[str, Item | None] = {}
        invalid: list[str] = []
        for key in ids:
            try:
                items[key] = registry.answer(resource, key)
            except IdentityError:
                items[key] = None
                invalid.append(key)
        return _json({"items": items, "invalid": invalid})

    return handle


def _admin_routes(controls: Controls, document: Mapping[str, Any]) -> list[web.RouteDef]:
    async def get_faults(request: web.Request) -> web.StreamResponse:
        return _json(controls.faults.faults.as_json())

    async def set_faults(request: web.Request) -> web.StreamResponse:
        try:
            faults = Faults.from_json(orjson.loads(await request.read()))
        except ValueError as exc:
            return error_response(400, "BAD_FAULTS", str(exc))
        controls.faults.set(faults)
        return _json(faults.as_json())

    async def get_stats(request: web.Request) -> web.StreamResponse:
        stats = controls.stats
        return _json({"agency": controls.agency, "calls": stats.snapshot(), "total": stats.total()})

    async def reset_stats(request: web.Request) -> web.StreamResponse:
        controls.stats.reset()
        return _json({"agency": controls.agency, "calls": {}, "total": 0})

    async def healthz(request: web.Request) -> web.StreamResponse:
        return _json({"status": "ok", "agency": controls.agency})

    async def openapi_json(request: web.Request) -> web.StreamResponse:
        return _json(document)

    return [
        web.get("/_admin/faults", get_faults),
        web.post("/_admin/faults", set_faults),
        web.get("/_admin/stats", get_stats),
        web.delete("/_admin/stats", reset_stats),
        web.get("/healthz", healthz),
        web.get("/openapi.json", openapi_json),
    ]


def build_app(
    agency: str,
    title: str,
    resources: Sequence[Resource],
    options: SimulatorOptions,
    *,
    known: Iterable[str] = (),
) -> web.Application:
    """An aiohttp application serving ``resources`` the way the agency ``agency`` would.

    ``known`` lists identifiers of the fixed test data set, never randomly unregistered.
    """
    controls = Controls(agency, FaultInjector(options.faults), CallStats())
    app = web.Application(
        middlewares=[
            controls.stats.middleware,
            controls.faults.middleware,
            _api_key_check(options.api_key),
        ]
    )
    app[CONTROLS] = controls
    registry = _Registry(agency, options, frozenset(known))
    document = openapi.document(agency, title, resources, max_batch=options.max_batch)
    for resource in resources:
        app.router.add_get(f"/v1/{resource.name}/{{id}}", _single(registry, resource))
        app.router.add_post(
            f"/v1/{resource.name}:batch", _batch(registry, resource, options.max_batch)
        )
    app.router.add_routes(_admin_routes(controls, document))
    return app
