"""No argument of the invoice queries or mutations ends in an internal error.

Hypothesis drives the real schema, with the error masking the app runs, over a real database
of each backend holding a few invoices: cursors (any text, base64 of any text, and base64 of
cursor-shaped text with hostile fields), amount filters (any decimal text, NaN and Infinity,
huge exponents, numbers instead of strings), the other filter fields, and ``submitInvoice``
with any text or with a signed invoice whose values were swapped for hostile ones. The
property: every error carries a code a client can act on, never INTERNAL.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
import strawberry
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from integrations.access import Principal, Role
from integrations.einvoice.compose import compose_invoice
from integrations.einvoice.pipeline import Intake
from integrations.einvoice.signing import sign_invoice
from integrations.store.invoices import InvoiceStore
from resolvers import build_schema
from resolvers.hardening import MaskInternalErrors
from tests.integrations.store.invoice_factory import BUYERS, SELLERS, generate
from tests.resolvers import test_invoices
from tests.resolvers.conftest import AN, CITIZEN_AN, OFFICER, RESTAURANT_MERCHANT, Graph
from tests.support.fuzz import FUZZ, assert_coded, cursors, error_codes, numbers, texts
from tests.support.invoices import Keys, draft

intake = test_invoices.intake
database = test_invoices.database

MERCHANT = Principal("sen-ho-tay", Role.MERCHANT, tax_code=SELLERS[0])
# Officers twice as often: they may search everything, so more requests reach the database.
PRINCIPALS = st.sampled_from([OFFICER, OFFICER, CITIZEN_AN, MERCHANT])
SORTS = st.fixed_dictionaries(
    {"key": st.sampled_from(["ISSUED_ON", "TOTAL_PAYABLE"]), "descending": st.booleans()}
)


@pytest.fixture(scope="session")
def schema() -> strawberry.Schema:
    """The schema with the masking the app runs, so an unexpected error shows as INTERNAL."""
    return build_schema([partial(MaskInternalErrors, suggestions=False)])


@pytest.fixture
async def graph_with_invoices(graph: Graph) -> Graph:
    await InvoiceStore().insert_all([invoice.record for invoice in generate(12, seed=3)])
    return graph


WORKBENCH = """
query($filter: InvoiceSearch, $sort: InvoiceOrder, $after: String, $by: [InvoiceGroupBy!]) {
  invoices(filter: $filter, sort: $sort, first: 5, after: $after) {
    edges { cursor node { id totalPayable } }
  }
  invoiceSummary(filter: $filter, groupBy: $by) { count totalPayable }
}
"""
PAGE = """
query($sort: InvoiceOrder, $after: String) {
  invoices(sort: $sort, first: 5, after: $after) { edges { cursor } }
}
"""
BOUGHT_AND_SOLD = """
query($person: String!, $seller: String!, $after: String) {
  citizen(idNumber: $person) { invoices(first: 5, after: $after) { edges { cursor } } }
  taxpayer(taxCode: $seller) { invoicesSold(first: 5, after: $after) { edges { cursor } } }
}
"""
CURSOR_ERRORS = frozenset({"CURSOR_INVALID"})

days = st.one_of(st.dates().map(lambda d: d.isoformat()), texts)
ids = st.one_of(st.uuids().map(str), texts)
labels = st.one_of(
    st.sampled_from(["issued_on:desc", "issued_on:asc", "total_payable:desc", "total_payable:asc"]),
    texts,
)


@FUZZ
@given(sort=SORTS, after=cursors(labels, st.one_of(numbers, days), ids))
async def test_workbench_cursors_are_refused_with_their_own_code(
    graph_with_invoices: Graph, sort: dict[str, Any], after: str
) -> None:
    result = await graph_with_invoices.run(PAGE, OFFICER, {"sort": sort, "after": after})
    assert_coded(error_codes(result.errors), CURSOR_ERRORS)


@FUZZ
@given(after=cursors(days, ids))
async def test_page_cursors_of_buyers_and_sellers_are_refused_with_their_own_code(
    graph_with_invoices: Graph, after: str
) -> None:
    variables = {"person": AN, "seller": SELLERS[0], "after": after}
    result = await graph_with_invoices.run(BOUGHT_AND_SOLD, OFFICER, variables)
    assert_coded(error_codes(result.errors), CURSOR_ERRORS)


amounts: st.SearchStrategy[Any] = st.one_of(
    numbers,
    texts,
    st.floats(),
    st.integers(),
    st.booleans(),
    st.none(),
)


@FUZZ
@given(bound=st.sampled_from(["amountMin", "amountMax"]), value=amounts)
async def test_amount_filters_of_any_value_are_user_errors(
    graph_with_invoices: Graph, bound: str, value: Any
) -> None:
    variables = {"filter": {bound: value}, "by": ["MONTH"]}
    result = await graph_with_invoices.run(WORKBENCH, OFFICER, variables)
    assert_coded(error_codes(result.errors), frozenset({"BAD_USER_INPUT"}))


@FUZZ
@given(value=st.one_of(numbers, texts), quoted=st.booleans())
async def test_amount_literals_in_the_document_are_user_errors(
    graph_with_invoices: Graph, value: str, quoted: bool
) -> None:
    literal = json.dumps(value) if quoted else value
    query = f"{{ invoices(filter: {{amountMin: {literal}}}) {{ edges {{ cursor }} }} }}"
    result = await graph_with_invoices.run(query, OFFICER)
    assert_coded(error_codes(result.errors))


parties = st.one_of(st.sampled_from([p for p in (*SELLERS, *BUYERS) if p]), texts)
FIELDS = {
    "seller": parties,
    "buyer": parties,
    "issuedFrom": days,
    "issuedTo": days,
    "amountMin": numbers,
    "amountMax": numbers,
    "taxRate": st.one_of(st.sampled_from(["8%", "KCT", "0%"]), texts),
    "kind": st.sampled_from(["VAT", "SALES", "CASH_REGISTER", "vat"]),
    "status": st.sampled_from(["ACCEPTED", "REPLACED", "ADJUSTED"]),
    "series": st.one_of(st.sampled_from(["C26TAA", "C26MCC"]), texts),
    "flag": st.sampled_from(["NUMBERING_GAP", "numbering_gap"]),
}
# One hostile field alone reaches the database more often than several together, where the
# first refused one hides the rest; combinations are drawn too.
filters = st.one_of(
    *(st.fixed_dictionaries({name: values}) for name, values in FIELDS.items()),
    st.fixed_dictionaries({}, optional=FIELDS),
)
group_by = st.lists(st.sampled_from(["MONTH", "SELLER", "BUYER", "TAX_RATE", "KIND"]), max_size=3)


@FUZZ
@given(principal=PRINCIPALS, filter_=filters, sort=SORTS, by=group_by)
async def test_any_invoice_filter_is_answered_or_refused_with_a_code(
    graph_with_invoices: Graph,
    principal: Principal,
    filter_: dict[str, Any],
    sort: dict[str, Any],
    by: list[str],
) -> None:
    variables = {"filter": filter_, "sort": sort, "by": by}
    result = await graph_with_invoices.run(WORKBENCH, principal, variables)
    assert_coded(error_codes(result.errors))


LOOKUPS = """
query($id: ID!, $person: String!, $taxpayer: String!) {
  invoice(id: $id) { id }
  personPurchases(idNumber: $person) { idNumber months { count } }
  merchantSales(taxCode: $taxpayer) { taxCode distinctBuyers }
}
"""


@FUZZ
@given(invoice_id=ids, person=parties, taxpayer=parties)
async def test_any_invoice_id_or_party_is_answered_or_refused_with_a_code(
    graph_with_invoices: Graph, invoice_id: str, person: str, taxpayer: str
) -> None:
    variables = {"id": invoice_id, "person": person, "taxpayer": taxpayer}
    result = await graph_with_invoices.run(LOOKUPS, OFFICER, variables)
    assert_coded(error_codes(result.errors))


SUBMIT = """
mutation($xml: String!) {
  submitInvoice(xml: $xml) { outcome invoice { id totalPayable } findings { code } }
}
"""
HOSTILE_VALUES = st.one_of(numbers, texts)


def _with_value(unsigned: bytes, position: int, value: str) -> bytes | None:
    """``unsigned`` with the text of its ``position``-th leaf element replaced by ``value``."""
    root = etree.fromstring(unsigned)
    leaves = [element for element in root.iter() if len(element) == 0 and element.text]
    try:
        leaves[position % len(leaves)].text = value
    except ValueError:  # text XML cannot carry, such as a NUL
        return None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@FUZZ
@given(
    how=st.sampled_from(["text", "value", "mutated"]),
    text=texts,
    position=st.integers(min_value=0, max_value=200),
    value=HOSTILE_VALUES,
)
async def test_any_submitted_text_is_answered_with_findings_or_a_code(
    graph: Graph,
    intake: Intake,
    intake_keys: Keys,
    how: str,
    text: str,
    position: int,
    value: str,
) -> None:
    unsigned = compose_invoice(draft(position + 1))
    if how == "text":
        xml = text
    else:
        changed = _with_value(unsigned, position, value) if how == "value" else unsigned
        signed = sign_invoice(
            changed or unsigned, intake_keys.restaurant, signing_time=datetime.now(UTC)
        ).decode()
        # A signed invoice with a slice swapped for the text: the signature no longer holds.
        cut = position % len(signed)
        xml = signed if how == "value" else signed[:cut] + text + signed[cut + len(text) :]
    submitting = replace(graph, intake=intake)
    result = await submitting.run(SUBMIT, RESTAURANT_MERCHANT, {"xml": xml})
    assert_coded(error_codes(result.errors))
    if result.errors is None:
        findings = result.data["submitInvoice"]["findings"]
        assert_coded(finding["code"] for finding in findings)


async def test_a_submitted_unpaired_surrogate_is_a_user_error(graph: Graph, intake: Intake) -> None:
    submitting = replace(graph, intake=intake)

    result = await submitting.run(SUBMIT, RESTAURANT_MERCHANT, {"xml": "<HDon>\ud800</HDon>"})

    assert error_codes(result.errors) == ["BAD_USER_INPUT"]
    assert result.errors[0].message.startswith("xml holds an unpaired surrogate")
