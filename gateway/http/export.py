"""``GET /v1/officer/invoices.csv``: the ``invoices`` query's list as CSV, streamed.

The filter is the ``invoices`` query's, as query parameters of the same names (``seller``,
``buyer``, ``issuedFrom``, ``issuedTo``, ``amountMin``, ``amountMax``, ``taxRate``, ``kind``,
``status``, ``series``, ``flag``) plus ``sort`` (``ISSUED_ON`` or ``TOTAL_PAYABLE``) and
``order`` (``desc`` or ``asc``); enums are spelt as in the schema (``kind=VAT``). An unknown
parameter is refused rather than ignored, since a misspelt filter would silently export far
more than asked. The access service decides as it does for the ``invoices`` query: officers
with ``X-Purpose`` and ``X-Case-Ref`` export anything, a merchant its own sales, a citizen
their purchases. An officer's export is logged (about the person or taxpayer the filter
names, else ``*``) before the first byte, refusals included; then each buyer who is a person
gets an event of their own, appended for each keyset page before any row of that page is
written, so a citizen sees every export that included them. If such an append fails, the
download stops there. Rows are read a page at a time and written a chunk at a time: memory
stays flat. The rows come from the analytics connection (a read replica where one is set);
``X-Data-As-Of`` says how current they are (``docs/analytics.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gateway.http.errors import Refusal
from gateway.state import services_of
from integrations.identity import parse_taxpayer_id
from integrations.money import parse_amount
from integrations.risk import FlagCode
from integrations.store.analytics import (
    InvoiceAnalytics,
    InvoiceFilter,
    InvoiceRow,
    InvoiceSort,
    SortKey,
    csv_chunks,
    filter_label,
)
from integrations.store.models import InvoiceKind, InvoiceStatus

FIELD = "invoices.csv"
AS_OF_HEADER = "X-Data-As-Of"
AS_OF_DOC = (
    "How current the rows are: every invoice the primary committed by this time is in them "
    "(read from a replica, newer ones may be missing). Absent when a replica has replayed "
    "nothing yet, so its age is unknown."
)


class BadExportQuery(ValueError):
    """A query parameter the export cannot be run with; answered 400."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _party(text: str) -> str:
    return parse_taxpayer_id(text).value


def _choice(kind: type[StrEnum]) -> Callable[[str], Any]:
    """Parse an enum by its GraphQL name (``VAT``, ``TOTAL_PAYABLE``), as the query spells it."""

    def parse(text: str) -> Any:
        try:
            return kind[text]
        except KeyError:
            raise ValueError(f"{text!r} is not one of {', '.join(kind.__members__)}") from None

    return parse


_FILTER_PARAMS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "seller": ("seller", _party),
    "buyer": ("buyer", _party),
    "issuedFrom": ("issued_from", date.fromisoformat),
    "issuedTo": ("issued_to", date.fromisoformat),
    "amountMin": ("amount_min", parse_amount),
    "amountMax": ("amount_max", parse_amount),
    "taxRate": ("tax_rate", filter_label),
    "kind": ("kind", _choice(InvoiceKind)),
    "status": ("status", _choice(InvoiceStatus)),
    "series": ("series", filter_label),
    "flag": ("flag", _choice(FlagCode)),
}
_SORT_PARAMS = ("sort", "order")
_ORDERS = {"desc": True, "asc": False}


def export_query(params: Mapping[str, str]) -> tuple[InvoiceFilter, InvoiceSort]:
    """The filter and order named by the query parameters, or ``BadExportQuery``."""
    allowed = (*_FILTER_PARAMS, *_SORT_PARAMS)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        message = f"unknown parameter {unknown[0]!r}; the parameters are {', '.join(allowed)}"
        raise BadExportQuery(unknown[0], message)
    values: dict[str, Any] = {}
    for name, text in params.items():
        if name in _FILTER_PARAMS:
            attribute, parse = _FILTER_PARAMS[name]
            values[attribute] = _parsed(name, text, parse)
    order = params.get("order", "desc")
    if order not in _ORDERS:
        raise BadExportQuery("order", f"order must be desc or asc, not {order!r}")
    key = _parsed("sort", params.get("sort", SortKey.ISSUED_ON.name), _choice(SortKey))
    return InvoiceFilter(**values), InvoiceSort(key, _ORDERS[order])


def _parsed(name: str, text: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(text)
    except ValueError as exc:
        raise BadExportQuery(name, f"{name}: {exc}") from exc


async def export_invoices(request: Request) -> Response:
    services = services_of(request)
    principal = await services.authenticate.caller(request)
    try:
        where, sort = export_query(request.query_params)
    except BadExportQuery as exc:
        raise Refusal(400, "BAD_REQUEST", exc.message, path=exc.name) from exc
    session = services.access.open(principal)
    try:
        where, decision = await session.search(where, FIELD)
    finally:
        await session.commit()

    async def log_people(rows: Sequence[InvoiceRow]) -> None:
        people = (row.buyer_personal_id for row in rows if row.buyer_personal_id)
        session.note_people(people, decision, FIELD)
        await session.commit()

    analytics = InvoiceAnalytics()
    as_of = await analytics.as_of()
    headers = {
        "Content-Disposition": 'attachment; filename="invoices.csv"',
        "Cache-Control": "no-store",
    }
    if as_of is not None:
        headers[AS_OF_HEADER] = as_of.isoformat()
    rows = analytics.export_rows(where, sort, on_page=log_people)
    return StreamingResponse(
        csv_chunks(rows), media_type="text/csv; charset=utf-8", headers=headers
    )


routes = [Route("/v1/officer/invoices.csv", export_invoices, methods=["GET"])]
