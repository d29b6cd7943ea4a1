"""The browser pages: the officer workbench, the citizen's ``/me`` and the GraphQL explorer.

Server-rendered HTML from the gateway itself (``docs/browser.md``). Every page reads through
a door that already exists: REST routes called with the session's credentials, or fixed
GraphQL documents run in-process with a context from the one factory, so the access service
decides, masks and logs a page's reads as it does the API's.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.config import Settings
from gateway.http.authn import Authenticator
from gateway.http.graph import GraphContexts
from gateway.http.graphql import GraphQLRoute
from gateway.web import invoice, signin
from gateway.web.explorer import explorer_routes
from gateway.web.feed import LiveFeed
from gateway.web.graph import PageGraph
from gateway.web.guard import Handler, guarded
from gateway.web.me import MyData
from gateway.web.people import People
from gateway.web.risk import RiskQueue
from gateway.web.sessions import PageSessions
from gateway.web.workbench import Workbench

__all__ = ["PageSessions", "page_routes"]


def page_routes(
    settings: Settings, graphql: GraphQLRoute, authenticator: Authenticator
) -> list[BaseRoute]:
    """The pages' routes; the explorer's must come before the GraphQL door's own route."""
    graph = PageGraph(graphql.endpoint.schema, GraphContexts(authenticator))
    workbench, people, risk = Workbench(graph), People(graph), RiskQueue(graph)
    me, feed = MyData(graph), LiveFeed(graph)

    def get(path: str, handler: Handler) -> Route:
        return Route(path, guarded(handler), methods=["GET"])

    def post(path: str, handler: Handler) -> Route:
        return Route(path, guarded(handler), methods=["POST"])

    return [
        Route("/", signin.root, methods=["GET"]),
        Route("/signin", signin.sign_in_page, methods=["GET"]),
        post("/signin", signin.sign_in),
        post("/signout", signin.sign_out_now),
        post("/lang", signin.switch_language),
        get("/workbench", workbench.home),
        post("/workbench/case", workbench.open_case),
        post("/workbench/case/close", workbench.close_case),
        post("/workbench/search", workbench.search),
        post("/workbench/sort", workbench.sort),
        post("/workbench/page", workbench.turn_page),
        post("/workbench/export", workbench.export),
        get("/workbench/person", people.person),
        post("/workbench/person", people.choose_person),
        get("/workbench/merchant", people.merchant),
        post("/workbench/merchant", people.choose_merchant),
        get("/workbench/risk", risk.home),
        post("/workbench/risk", risk.choose),
        post("/workbench/risk/page", risk.turn_page),
        get("/workbench/feed", feed.home),
        post("/workbench/feed", feed.choose),
        get("/workbench/feed/events", feed.events),
        get("/invoice", invoice.detail),
        post("/invoice", invoice.choose),
        get("/invoice/xml", invoice.original_xml),
        get("/invoice/receipt", invoice.receipt),
        get("/me", me.home),
        post("/me/consents", me.grant),
        post("/me/consents/revoke", me.revoke),
        *explorer_routes(settings.mode),
        Mount("/static", StaticFiles(packages=[("gateway.web", "static")]), name="static"),
    ]
