"""The workbench's search as the session keeps it: the filter, the order and the page.

The filter's names are the ``invoices`` query's (``InvoiceSearch``), which are also the CSV
export's parameters, so one search runs as a GraphQL query and exports as the same CSV.
Values are kept as typed; the API checks them, and the page shows what it refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.datastructures import FormData

from gateway.web.formats import iso_day

FILTERS: Final = (
    "seller",
    "buyer",
    "issuedFrom",
    "issuedTo",
    "amountMin",
    "amountMax",
    "taxRate",
    "kind",
    "status",
    "series",
    "flag",
)
DAYS: Final = ("issuedFrom", "issuedTo")
"""Typed dd/mm/yyyy in the form, sent as ISO dates."""
SORT_KEYS: Final = ("ISSUED_ON", "TOTAL_PAYABLE")
PAGE_SIZE: Final = 25


def search_from_form(form: FormData) -> dict[str, Any]:
    """A new search (first page, newest first) from the search form's fields."""
    filters = {name: str(form.get(name, "")).strip() for name in FILTERS}
    for name in DAYS:
        filters[name] = iso_day(filters[name])
    return {
        "filter": {k: v for k, v in filters.items() if v},
        "sort": "ISSUED_ON",
        "desc": True,
        "pages": [],
    }


def sorted_by(search: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The same search ordered by ``key``; the same key again reverses the order."""
    if key not in SORT_KEYS:
        return dict(search)
    desc = not search.get("desc", True) if search.get("sort") == key else True
    return {**search, "sort": key, "desc": desc, "pages": []}


def turn_listing(session: dict[str, Any], key: str, form: FormData) -> None:
    """Move the list kept under ``key`` to the next page (after the form's ``cursor``, the
    API's end cursor) or back one, by the form's ``direction``."""
    listing = session.get(key)
    if listing is None:
        return
    pages = list(listing.get("pages", []))
    direction, cursor = str(form.get("direction", "")), str(form.get("cursor", ""))
    if direction == "next" and cursor:
        pages.append(cursor)
    elif direction == "previous" and pages:
        pages.pop()
    session[key] = {**listing, "pages": pages}


def variables(search: Mapping[str, Any], *, officer: bool) -> dict[str, Any]:
    pages = search.get("pages") or [None]
    return {
        "filter": dict(search.get("filter", {})),
        "sort": {"key": search.get("sort", "ISSUED_ON"), "descending": search.get("desc", True)},
        "first": PAGE_SIZE,
        "after": pages[-1],
        "officer": officer,
    }


def export_query(search: Mapping[str, Any]) -> dict[str, str]:
    """The CSV export's query parameters for the same search, all its pages."""
    order = "desc" if search.get("desc", True) else "asc"
    return {**search.get("filter", {}), "sort": search.get("sort", "ISSUED_ON"), "order": order}
