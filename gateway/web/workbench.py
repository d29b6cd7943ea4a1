"""The officer's workbench: open a case, search invoices, page and sort, export as CSV.

Every read runs inside the open case: its purpose and reference are sent with each request
as ``X-Purpose`` and ``X-Case-Ref`` are, so the access service decides on them and logs them.
The workbench keeps no rule of its own: a merchant who signs in lists its own sales here,
and an officer without a case is told by the API what is missing.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from gateway.http import export
from gateway.web.caller import SignInRequired, api_request, form_of, signed_in
from gateway.web.graph import PageGraph
from gateway.web.render import page, see_other
from gateway.web.search import (
    FILTERS,
    search_from_form,
    sorted_by,
    turn_listing,
    variables,
)
from gateway.web.search import export_query as export_params
from integrations.risk import FlagCode

PURPOSES: Final = ("tax-audit", "refund-review", "invoice-fraud", "risk-review", "taxpayer-support")
"""The purposes an officer opens a case for; the access log keeps the code, pages its words."""
FORGET_WITH_CASE: Final = ("case", "search", "invoice", "person", "merchant", "seller")


class Workbench:
    def __init__(self, graph: PageGraph) -> None:
        self.graph = graph

    async def home(self, request: Request) -> Response:
        who = signed_in(request)
        if who is None:
            raise SignInRequired
        search = request.session.get("search")
        answer = None
        if search is not None:
            officer = who["role"] == "officer"
            answer = await self.graph.run(request, "search", variables(search, officer=officer))
        context = {
            "purposes": PURPOSES,
            "filters": FILTERS,
            "flag_codes": [code.value for code in FlagCode],
            "search": search or {"filter": {}, "sort": "ISSUED_ON", "desc": True, "pages": []},
            "answer": answer,
            "problems": answer.problems if answer else [],
        }
        return page(request, "workbench.html", context)

    async def open_case(self, request: Request) -> Response:
        form = await form_of(request)
        for name in FORGET_WITH_CASE:
            request.session.pop(name, None)
        request.session["case"] = {
            "purpose": str(form.get("purpose", "")).strip(),
            "case_ref": str(form.get("case_ref", "")).strip(),
        }
        return see_other("/workbench")

    async def close_case(self, request: Request) -> Response:
        await form_of(request)
        for name in FORGET_WITH_CASE:
            request.session.pop(name, None)
        return see_other("/workbench")

    async def search(self, request: Request) -> Response:
        form = await form_of(request)
        request.session["search"] = search_from_form(form)
        return see_other("/workbench")

    async def sort(self, request: Request) -> Response:
        form = await form_of(request)
        search = request.session.get("search") or search_from_form(form)
        request.session["search"] = sorted_by(search, str(form.get("key", "")))
        return see_other("/workbench")

    async def turn_page(self, request: Request) -> Response:
        turn_listing(request.session, "search", await form_of(request))
        return see_other("/workbench")

    async def export(self, request: Request) -> Response:
        """The current search, every page of it, from the CSV export route itself."""
        await form_of(request)
        query = urlencode(export_params(request.session.get("search") or {}))
        return await export.export_invoices(
            api_request(request, path="/v1/officer/invoices.csv", query=query)
        )
