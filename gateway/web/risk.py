"""The risk queue: invoices holding one kind of flag, newest first, each flag with its reason.

The kinds are the ``RiskFlagCode`` values; the queue is the ``invoices`` query filtered by
flag, so only officers in a case see it, as in the API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.web.caller import form_of
from gateway.web.graph import PageGraph
from gateway.web.render import page, see_other
from gateway.web.search import turn_listing
from integrations.risk import FlagCode

KINDS = tuple(code.value for code in FlagCode)


class RiskQueue:
    def __init__(self, graph: PageGraph) -> None:
        self.graph = graph

    async def home(self, request: Request) -> Response:
        queue = request.session.get("risk") or {"flag": KINDS[0], "pages": []}
        pages = queue.get("pages") or [None]
        variables = {"flag": queue["flag"], "after": pages[-1]}
        answer = await self.graph.run(request, "risk", variables)
        context = {"answer": answer, "problems": answer.problems, "queue": queue, "kinds": KINDS}
        return page(request, "risk.html", context)

    async def choose(self, request: Request) -> Response:
        form = await form_of(request)
        flag = str(form.get("flag", ""))
        request.session["risk"] = {"flag": flag if flag in KINDS else KINDS[0], "pages": []}
        return see_other("/workbench/risk")

    async def turn_page(self, request: Request) -> Response:
        turn_listing(request.session, "risk", await form_of(request))
        return see_other("/workbench/risk")
