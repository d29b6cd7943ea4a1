"""GraphiQL on ``GET /graphql`` for browsers, in development and demo modes only.

A browser's navigation asks for ``text/html``, which the GraphQL door never answers, so the
explorer's route matches only such requests and leaves everything else (GraphQL over HTTP
clients, WebSockets) to the door. Production mounts no explorer at all. GraphiQL and React are
vendored under ``static/graphiql`` (see ``docs/browser.md``); the page loads nothing from
elsewhere. Each example tab carries the demo token of its role in its headers, where the
gateway accepts demo tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from gateway.state import services_of
from gateway.web.graph import document
from gateway.web.identities import BY_KEY, demo_sign_in_offered, demo_token
from gateway.web.render import PAGE_HEADERS, page

EXPLORER_CSP: Final = PAGE_HEADERS["Content-Security-Policy"].replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
"""GraphiQL sets styles from script; scripts still come from this gateway only."""


@dataclass(frozen=True, slots=True)
class Example:
    title: str
    identity: str
    document: str
    variables: dict[str, Any]
    purpose: str = ""
    case_ref: str = ""


EXAMPLES: Final = (
    Example("citizen: my data", "citizen-an", "me", {"log": 10}),
    Example(
        "officer: invoice search",
        "officer",
        "search",
        {"filter": {"seller": "0100109106"}, "first": 10, "officer": True},
        "tax-audit",
        "TT-2026-0017",
    ),
    Example(
        "officer: a person",
        "officer",
        "person",
        {"id": "001099012345"},
        "tax-audit",
        "TT-2026-0017",
    ),
    Example(
        "officer: a merchant",
        "officer",
        "merchant",
        {"taxCode": "0100109106"},
        "tax-audit",
        "TT-2026-0017",
    ),
    Example(
        "officer: live invoices",
        "officer",
        "feed",
        {"seller": "0319303270"},
        "tax-audit",
        "TT-2026-0017",
    ),
    Example(
        "merchant: my sales",
        "merchant-0100109106",
        "search",
        {"filter": {}, "first": 10, "officer": False},
    ),
)


def wants_html(scope: Scope) -> bool:
    """A browser's navigation: a GET whose Accept names text/html outright."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    for name, value in scope["headers"]:
        if name == b"accept":
            ranges = [part.split(";")[0].strip() for part in value.decode("latin-1").split(",")]
            return "text/html" in ranges
    return False


class ExplorerRoute(Route):
    """``/graphql`` for browsers only; any other request falls through to the GraphQL door."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not wants_html(scope):
            return Match.NONE, {}
        return super().matches(scope)


async def explorer(request: Request) -> Response:
    settings = services_of(request).settings
    tabs = [_tab(request, example) for example in EXAMPLES]
    # "<" escaped, so no value can close the script element that carries the config.
    config = orjson.dumps({"url": "/graphql", "tabs": tabs}).decode().replace("<", "\\u003c")
    headers = {"Content-Security-Policy": EXPLORER_CSP}
    offered = demo_sign_in_offered(settings)
    return page(request, "explorer.html", {"config": config, "tokens": offered}, headers=headers)


def _tab(request: Request, example: Example) -> dict[str, str]:
    settings = services_of(request).settings
    headers: dict[str, str] = {}
    if demo_sign_in_offered(settings):
        headers["Authorization"] = f"Bearer {demo_token(settings, BY_KEY[example.identity])}"
    if example.purpose:
        headers.update({"X-Purpose": example.purpose, "X-Case-Ref": example.case_ref})
    return {
        "title": example.title,
        "query": document(example.document),
        "variables": orjson.dumps(example.variables, option=orjson.OPT_INDENT_2).decode(),
        "headers": orjson.dumps(headers, option=orjson.OPT_INDENT_2).decode(),
    }


def explorer_routes(mode: str) -> list[Route]:
    return [] if mode == "production" else [ExplorerRoute("/graphql", explorer, methods=["GET"])]
