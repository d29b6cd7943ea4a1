"""A person's and a merchant's page on the workbench, from the graph's officer views.

The person's federated profile sits beside their purchases by month (``personPurchases``)
and tax registration; the merchant's sales by month, tax by rate, distinct buyers and
registration (``merchantSales``) beside its flagged invoices. Who is looked at is chosen by
a POST and kept in the session, never put in a URL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.web.caller import chosen, form_of
from gateway.web.charts import bars, last_months
from gateway.web.graph import PageGraph
from gateway.web.render import page, see_other


def _months(groups: list[dict[str, Any]], measure: str) -> list[tuple[str, Decimal]]:
    """The last twelve months of a by-month summary, as chart points.

    A month comes once per currency; amounts are charted in dong (``…Vnd``, each invoice at
    its own rate), so the rows of a month add up. A row without a dong sum (a foreign invoice
    stating no rate) is left out rather than mixed in.
    """
    totals: dict[str, Decimal] = {}
    for group in groups:
        if group.get(measure) is not None:
            month = group["key"][0]["value"]
            totals[month] = totals.get(month, Decimal(0)) + Decimal(str(group[measure]))
    return last_months(totals)


class People:
    def __init__(self, graph: PageGraph) -> None:
        self.graph = graph

    async def choose_person(self, request: Request) -> Response:
        form = await form_of(request)
        request.session["person"] = str(form.get("id_number", "")).strip()
        return see_other("/workbench/person")

    async def choose_merchant(self, request: Request) -> Response:
        form = await form_of(request)
        request.session["merchant"] = str(form.get("tax_code", "")).strip()
        return see_other("/workbench/merchant")

    async def person(self, request: Request) -> Response:
        person = chosen(request, "person")
        if not person:
            return see_other("/workbench")
        answer = await self.graph.run(request, "person", {"id": person})
        purchases = answer.data.get("personPurchases") or {}
        chart = bars(_months(purchases.get("months") or [], "totalPayableVnd"))
        context = {"answer": answer, "problems": answer.problems, "chart": chart, "chosen": person}
        return page(request, "person.html", context)

    async def merchant(self, request: Request) -> Response:
        merchant = chosen(request, "merchant")
        if not merchant:
            return see_other("/workbench")
        answer = await self.graph.run(request, "merchant", {"taxCode": merchant})
        sales = answer.data.get("merchantSales") or {}
        months = sales.get("months") or []
        flagged = [
            edge["node"]
            for edge in (answer.data.get("invoices") or {}).get("edges", [])
            if edge["node"].get("flags")
        ]
        context = {
            "answer": answer,
            "problems": answer.problems,
            "chosen": merchant,
            "sales_chart": bars(_months(months, "totalPayableVnd")),
            "buyers_chart": bars(_months(months, "buyers")),
            "flagged": flagged,
        }
        return page(request, "merchant.html", context)
