"""The officer workbench in the graph, checked against sums computed here from the records."""

from __future__ import annotations

import base64
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from integrations.access import Principal, Role
from integrations.store.analytics import GroupBy, SummaryRow
from integrations.store.database import Database
from integrations.store.invoices import InvoiceRecord, InvoiceStore
from integrations.store.risk import FlagView, RiskStore
from resolvers import build_context
from tests.integrations.store.invoice_factory import (
    BUYERS,
    PERCENTS,
    SELLERS,
    Generated,
    buyer_of,
    expected_summary,
    generate,
    line_tax,
    signed,
)
from tests.resolvers.conftest import AN, CITIZEN_AN, OFFICER, RESTAURANT, Graph, codes

TAX_CODE_BUYER = BUYERS[4]
RAISED_AT = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
MERCHANT = Principal("sen-ho-tay", Role.MERCHANT, tax_code=SELLERS[0])
APP = Principal("u-1", Role.APP, app_id="budget-app", purpose="budgeting")

Check = Callable[[InvoiceRecord], bool]


@pytest.fixture
def database(db: None, database_url: str) -> Database:
    """The invoice store and the access log on each backend."""
    return Database(database_url)


@pytest.fixture
async def made(graph: Graph) -> list[Generated]:
    invoices = generate(60, seed=11)
    await InvoiceStore().insert_all([invoice.record for invoice in invoices])
    return invoices


def kind_of(record: InvoiceRecord) -> str:
    if record.key.series[3] == "M":
        return "CASH_REGISTER"
    return {"1": "VAT", "2": "SALES"}[record.key.template]


def newest_first(records: list[InvoiceRecord]) -> list[str]:
    ordered = sorted(records, key=lambda r: (r.issued_on, str(r.id)), reverse=True)
    return [str(r.id) for r in ordered]


PAGE = """
query($filter: InvoiceSearch, $sort: InvoiceOrder, $after: String) {
  invoices(filter: $filter, sort: $sort, first: 7, after: $after) {
    edges { cursor node { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def every_page(
    graph: Graph, principal: Principal, variables: dict[str, Any]
) -> tuple[list[str], Any]:
    ids: list[str] = []
    after = None
    while True:
        result = await graph.run(PAGE, principal, {**variables, "after": after})
        if result.errors:
            return ids, result
        connection = result.data["invoices"]
        ids += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return ids, result
        after = connection["pageInfo"]["endCursor"]


FILTERS: list[Any] = [
    pytest.param({}, lambda r: True, id="everything"),
    pytest.param(
        {"seller": SELLERS[2]}, lambda r: r.key.seller_tax_code == SELLERS[2], id="seller"
    ),
    pytest.param({"buyer": AN}, lambda r: r.buyer_personal_id == AN, id="buyer-person"),
    pytest.param(
        {"buyer": TAX_CODE_BUYER},
        lambda r: r.buyer_tax_code == TAX_CODE_BUYER,
        id="buyer-tax-code",
    ),
    pytest.param(
        {"issuedFrom": "2026-09-01", "issuedTo": "2026-09-30"},
        lambda r: date(2026, 9, 1) <= r.issued_on <= date(2026, 9, 30),
        id="dates",
    ),
    pytest.param(
        {"amountMin": "500000", "amountMax": "1200000.5"},
        lambda r: Decimal(500000) <= r.total_payable <= Decimal("1200000.5"),
        id="amounts",
    ),
    pytest.param(
        {"taxRate": "KCT"}, lambda r: any(x.tax_rate == "KCT" for x in r.lines), id="rate"
    ),
    pytest.param({"kind": "SALES"}, lambda r: kind_of(r) == "SALES", id="kind"),
    pytest.param(
        {"series": "C26MCC", "seller": SELLERS[0]},
        lambda r: r.key.series == "C26MCC" and r.key.seller_tax_code == SELLERS[0],
        id="series-and-seller",
    ),
]


@pytest.mark.parametrize(("filter_", "check"), FILTERS)
async def test_officer_lists_match_the_records(
    graph: Graph, made: list[Generated], filter_: dict[str, str], check: Check
) -> None:
    expected = newest_first([g.record for g in made if check(g.record)])
    assert expected or filter_ == {}, "the data set must exercise the filter"

    ids, last = await every_page(graph, OFFICER, {"filter": filter_})

    assert last.errors is None
    assert ids == expected


async def test_the_amount_order_pages_through_everything(
    graph: Graph, made: list[Generated]
) -> None:
    sort = {"key": "TOTAL_PAYABLE", "descending": False}
    ids, last = await every_page(graph, OFFICER, {"sort": sort})
    assert last.errors is None
    ordered = sorted(made, key=lambda g: (g.record.total_payable, str(g.record.id)))
    assert ids == [str(g.record.id) for g in ordered]


SUMMARY = """
query($filter: InvoiceSearch, $by: [InvoiceGroupBy!]) {
  invoiceSummary(filter: $filter, groupBy: $by) {
    key { by value } count totalBeforeTax totalTax totalPayable
  }
}
"""


def sums(rows: list[tuple[tuple[str, ...], Decimal, Decimal]]) -> dict[tuple[str, ...], Any]:
    """(key, before tax, tax) per invoice or line -> count and exact sums per key."""
    groups: dict[tuple[str, ...], list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for key, before, tax in rows:
        group = groups[key]
        group[0] += 1
        group[1] += before
        group[2] += tax
    return {key: (n, b, t, b + t) for key, (n, b, t) in groups.items()}


def answered(result: Any) -> dict[tuple[str, ...], Any]:
    assert result.errors is None
    return {
        tuple(part["value"] for part in row["key"]): (
            row["count"],
            Decimal(row["totalBeforeTax"]),
            Decimal(row["totalTax"]),
            Decimal(row["totalPayable"]),
        )
        for row in result.data["invoiceSummary"]
    }


async def test_summary_by_month_and_seller_matches_the_records(
    graph: Graph, made: list[Generated]
) -> None:
    result = await graph.run(SUMMARY, OFFICER, {"by": ["MONTH", "SELLER"]})
    expected = sums(
        [
            (
                (g.record.issued_on.strftime("%Y-%m"), g.record.key.seller_tax_code),
                g.record.total_before_tax,
                g.record.total_tax,
            )
            for g in made
        ]
    )
    assert answered(result) == expected
    assert [part["by"] for part in result.data["invoiceSummary"][0]["key"]] == ["MONTH", "SELLER"]


async def test_tax_by_rate_is_computed_from_the_lines(graph: Graph, made: list[Generated]) -> None:
    seller = {"seller": SELLERS[1]}
    result = await graph.run(SUMMARY, OFFICER, {"filter": seller, "by": ["TAX_RATE"]})
    per_rate: dict[str, list[Any]] = defaultdict(lambda: [set(), Decimal(0), Decimal(0)])
    for g in made:
        if g.record.key.seller_tax_code != SELLERS[1]:
            continue
        for line in g.lines:
            group = per_rate[line.rate]
            group[0].add(g.record.id)
            group[1] += signed(line)
            group[2] += line_tax(line)
    expected = {(rate,): (len(i), b, t, b + t) for rate, (i, b, t) in per_rate.items()}
    assert set(expected) <= {(rate,) for rate in PERCENTS}
    assert answered(result) == expected


async def test_person_and_merchant_views_sit_beside_the_registry(
    graph: Graph, made: list[Generated]
) -> None:
    query = """
    query($person: String!, $merchant: String!) {
      personPurchases(idNumber: $person) {
        idNumber months { key { value } count totalPayable } taxpayer { status }
      }
      merchantSales(taxCode: $merchant) {
        taxCode distinctBuyers taxpayer { name status }
        months { key { value } count buyers }
        taxByRate { key { value } totalTax }
      }
    }"""
    result = await graph.run(query, OFFICER, {"person": AN, "merchant": RESTAURANT})

    assert result.errors is None
    bought = [g.record for g in made if g.record.buyer_personal_id == AN]
    months = sums(
        [((r.issued_on.strftime("%Y-%m"),), r.total_before_tax, r.total_tax) for r in bought]
    )
    person = result.data["personPurchases"]
    assert {
        (m["key"][0]["value"],): (m["count"], Decimal(m["totalPayable"])) for m in person["months"]
    } == {key: (n, payable) for key, (n, _, _, payable) in months.items()}
    assert person["taxpayer"]["status"] == "ACTIVE"
    sold = [g.record for g in made if g.record.key.seller_tax_code == RESTAURANT]
    merchant = result.data["merchantSales"]
    buyers = {r.buyer_personal_id or r.buyer_tax_code for r in sold} - {None}
    assert merchant["distinctBuyers"] == len(buyers)
    assert merchant["taxpayer"]["status"] == "ACTIVE"
    assert sum(m["count"] for m in merchant["months"]) == len(sold)
    assert {row["key"][0]["value"] for row in merchant["taxByRate"]} == {
        line.tax_rate for r in sold for line in r.lines
    }


IN_CURRENCIES = """
query($by: [InvoiceGroupBy!]) {
  invoiceSummary(groupBy: $by) {
    key { value } currency count totalBeforeTax totalTax totalPayable
    totalBeforeTaxVnd totalTaxVnd totalPayableVnd
  }
}
"""


def in_dong(row: SummaryRow) -> tuple[Any, ...]:
    return (
        row.count,
        row.total_before_tax,
        row.total_tax,
        row.total_payable,
        row.total_before_tax_vnd,
        row.total_tax_vnd,
        row.total_payable_vnd,
    )


async def test_summaries_never_add_two_currencies_and_give_exact_dong(graph: Graph) -> None:
    """VND and USD invoices by every grouping: one group per currency, sums in dong exact."""
    made = generate(60, seed=13, foreign=0.4)
    await InvoiceStore().insert_all([invoice.record for invoice in made])
    assert {g.record.currency for g in made} == {"USD", "VND"}
    groupings = [(), *((dim,) for dim in GroupBy), (GroupBy.MONTH, GroupBy.KIND)]
    for group_by in groupings:
        names = [dim.name for dim in group_by]
        result = await graph.run(IN_CURRENCIES, OFFICER, {"by": names})
        assert result.errors is None
        answered = {
            (tuple(part["value"] for part in group["key"]), group["currency"]): (
                group["count"],
                *(Decimal(group[name]) for name in list(group)[3:]),
            )
            for group in result.data["invoiceSummary"]
        }
        expected = expected_summary(made, group_by)
        assert answered == {key: in_dong(row) for key, row in expected.items()}, group_by


async def test_the_person_and_merchant_views_sum_each_currency_apart(graph: Graph) -> None:
    made = generate(60, seed=13, foreign=0.4)
    await InvoiceStore().insert_all([invoice.record for invoice in made])
    query = """
    query($person: String!, $merchant: String!) {
      personPurchases(idNumber: $person) { months { key { value } currency totalPayableVnd } }
      merchantSales(taxCode: $merchant) {
        distinctBuyers months { key { value } currency count buyers }
        taxByRate { key { value } currency totalTaxVnd }
      }
    }"""
    result = await graph.run(query, OFFICER, {"person": AN, "merchant": RESTAURANT})
    assert result.errors is None
    bought = expected_summary([g for g in made if buyer_of(g.record) == AN], (GroupBy.MONTH,))
    assert {
        ((m["key"][0]["value"],), m["currency"]): Decimal(m["totalPayableVnd"])
        for m in result.data["personPurchases"]["months"]
    } == {key: row.total_payable_vnd for key, row in bought.items()}
    sold = [g for g in made if g.record.key.seller_tax_code == RESTAURANT]
    merchant = result.data["merchantSales"]
    by_month = expected_summary(sold, (GroupBy.MONTH,))
    assert {
        ((m["key"][0]["value"],), m["currency"]): (m["count"], m["buyers"])
        for m in merchant["months"]
    } == {key: (row.count, row.buyers) for key, row in by_month.items()}
    by_rate = expected_summary(sold, (GroupBy.TAX_RATE,))
    assert {
        ((m["key"][0]["value"],), m["currency"]): Decimal(m["totalTaxVnd"])
        for m in merchant["taxByRate"]
    } == {key: row.total_tax_vnd for key, row in by_rate.items()}
    assert {currency for _, currency in by_month} == {"USD", "VND"}
    assert merchant["distinctBuyers"] == len({buyer_of(g.record) for g in sold} - {None})


class CountingRisks(RiskStore):
    """The real flag store, noting how many invoices each call asked about."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def flags_of(self, invoice_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[FlagView]]:
        self.batches.append(len(invoice_ids))
        return await super().flags_of(invoice_ids)


async def test_flags_are_shown_in_one_batch_and_filter_the_list(
    graph: Graph, made: list[Generated]
) -> None:
    flagged = {g.record.id for g in made[:5]}
    for invoice_id in flagged:
        await RiskStore().settle(
            invoice_id,
            raised={"NUMBERING_GAP": "number 3 missing"},
            checked=["NUMBERING_GAP"],
            at=RAISED_AT,
        )
    risks = CountingRisks()
    context = build_context(
        principal=OFFICER,
        upstreams=graph.upstreams,
        store=graph.store,
        audit=graph.audit,
        risks=risks,
    )
    query = """{
      invoices(filter: {flag: NUMBERING_GAP}, first: 50) {
        edges { node { id flags { code description detail raisedAt } } }
      }
    }"""
    result = await graph.schema.execute(query, context_value=context)

    assert result.errors is None
    nodes = [edge["node"] for edge in result.data["invoices"]["edges"]]
    assert {uuid.UUID(node["id"]) for node in nodes} == flagged
    flag = nodes[0]["flags"][0]
    assert flag["code"] == "NUMBERING_GAP"
    assert flag["detail"] == "number 3 missing"
    assert flag["description"]
    assert datetime.fromisoformat(flag["raisedAt"]) == RAISED_AT
    assert risks.batches == [5]


async def test_merchants_list_their_own_sales_without_flags(
    graph: Graph, made: list[Generated]
) -> None:
    own = newest_first([g.record for g in made if g.record.key.seller_tax_code == SELLERS[0]])
    ids, last = await every_page(graph, MERCHANT, {})
    assert last.errors is None
    assert ids == own

    for filter_ in ({"seller": SELLERS[1]}, {"flag": "NUMBERING_GAP"}):
        _, refused = await every_page(graph, MERCHANT, {"filter": filter_})
        assert codes(refused) == [("FORBIDDEN", None)]

    result = await graph.run(
        "{ invoices(first: 1) { edges { node { flags { code } } } } }", MERCHANT
    )
    assert codes(result) == [("FORBIDDEN", None)]


async def test_citizens_list_their_own_purchases_only(graph: Graph, made: list[Generated]) -> None:
    ids, last = await every_page(graph, CITIZEN_AN, {})
    assert last.errors is None
    assert ids == newest_first([g.record for g in made if g.record.buyer_personal_id == AN])

    _, other = await every_page(graph, CITIZEN_AN, {"filter": {"buyer": BUYERS[1]}})
    assert codes(other) == [("FORBIDDEN", None)]
    _, anyone = await every_page(graph, APP, {})
    assert codes(anyone) == [("BAD_USER_INPUT", None)]


WORKBENCH = {
    "summary": ("{ invoiceSummary { count } }", "*"),
    "person": (f'{{ personPurchases(idNumber: "{AN}") {{ idNumber }} }}', AN),
    "merchant": (f'{{ merchantSales(taxCode: "{RESTAURANT}") {{ taxCode }} }}', RESTAURANT),
    "list": ("{ invoices { edges { cursor } } }", "*"),
}
REFUSED = {
    "no-purpose": (Principal("off-7", Role.OFFICER), "PURPOSE_REQUIRED"),
    "no-case": (Principal("off-7", Role.OFFICER, purpose="tax audit"), "CASE_REF_REQUIRED"),
    "merchant": (MERCHANT, "FORBIDDEN"),
}
REFUSALS = [
    pytest.param(*WORKBENCH[query], *REFUSED[who], id=f"{query}-{who}")
    for query in WORKBENCH
    for who in REFUSED
    # A merchant may list its own sales; that path is tested above.
    if (query, who) != ("list", "merchant")
]


@pytest.mark.parametrize(("query", "subject", "principal", "code"), REFUSALS)
async def test_workbench_refusals_are_audited(
    graph: Graph, query: str, subject: str, principal: Principal, code: str
) -> None:
    result = await graph.run(query, principal)

    assert codes(result) == [(code, None)]
    assert result.data is None
    assert (await graph.audit.verify()).checked == 1
    [event] = (await graph.audit.for_subject(subject)).events
    assert (event.outcome, event.principal) == ("denied", principal.actor)


async def test_officer_reads_name_their_subject_in_the_log(
    graph: Graph, made: list[Generated]
) -> None:
    await graph.run("{ invoiceSummary(groupBy: [KIND]) { count } }", OFFICER)
    await graph.run(SUMMARY, OFFICER, {"filter": {"buyer": AN}})

    [anyone] = (await graph.audit.for_subject("*")).events
    assert (anyone.fields, anyone.case_ref, anyone.outcome) == (
        ("invoiceSummary",),
        OFFICER.case_ref,
        "allowed",
    )
    [person] = (await graph.audit.for_subject(AN)).events
    assert person.purpose == OFFICER.purpose


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


ANY_ID = "0b7e5a3c-2d1f-4f6a-9c8e-1a2b3c4d5e6f"
BY_AMOUNT = {"key": "TOTAL_PAYABLE", "descending": True}
BY_DAY = {"key": "ISSUED_ON", "descending": True}


@pytest.mark.parametrize(
    ("sort", "after"),
    [
        *(
            pytest.param(BY_AMOUNT, cursor(f"total_payable:desc|{value}|{ANY_ID}"), id=value[:12])
            for value in ("NaN", "sNaN", "Infinity", "-Infinity", "1e999999999", "9" * 40)
        ),
        pytest.param(BY_AMOUNT, cursor(f"total_payable:desc|1E+5|{ANY_ID}"), id="exponent"),
        pytest.param(BY_DAY, cursor(f"issued_on:desc|2026-02-30|{ANY_ID}"), id="no-such-day"),
        pytest.param(BY_DAY, cursor(f"issued_on:desc|20260201|{ANY_ID}"), id="basic-date"),
        pytest.param(BY_DAY, cursor("issued_on:desc|2026-02-01|not-a-uuid"), id="bad-uuid"),
        pytest.param(
            BY_DAY, cursor(f"total_payable:desc|108000.000000|{ANY_ID}"), id="wrong-order"
        ),
        pytest.param(BY_DAY, "", id="empty"),
        pytest.param(BY_DAY, "%%%", id="not-base64"),
    ],
)
async def test_cursors_the_gateway_did_not_issue_are_cursor_errors(
    graph: Graph, made: list[Generated], sort: dict[str, Any], after: str
) -> None:
    result = await graph.run(PAGE, OFFICER, {"sort": sort, "after": after})

    assert codes(result) == [("CURSOR_INVALID", None)]
    assert result.errors[0].message.startswith("after: cursor ")


async def test_a_cursor_the_gateway_issued_pages_on_by_amount(
    graph: Graph, made: list[Generated]
) -> None:
    first = await graph.run(PAGE, OFFICER, {"sort": BY_AMOUNT})
    after = first.data["invoices"]["pageInfo"]["endCursor"]
    assert base64.urlsafe_b64decode(after).decode().split("|")[1].endswith(".000000")

    second = await graph.run(PAGE, OFFICER, {"sort": BY_AMOUNT, "after": after})

    assert second.errors is None
    assert second.data["invoices"]["edges"]


@pytest.mark.parametrize(
    ("bound", "value"),
    [
        pytest.param("amountMin", "9" * 40, id="forty-digits"),
        pytest.param("amountMax", "100000000000000000", id="eighteen-digits"),
        pytest.param("amountMin", "0.0000001", id="seven-decimals"),
        pytest.param("amountMin", "1e999999999", id="exponent"),
        pytest.param("amountMax", "NaN", id="nan"),
        pytest.param("amountMax", "Infinity", id="infinity"),
    ],
)
async def test_amount_filters_the_store_cannot_hold_are_user_errors(
    graph: Graph, made: list[Generated], bound: str, value: str
) -> None:
    result = await graph.run(PAGE, OFFICER, {"filter": {bound: value}})

    assert codes(result) == [("BAD_USER_INPUT", None)]
    assert f"$filter' has invalid value at .{bound}:" in result.errors[0].message


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "1e999999999", '"NaN"', f'"{"9" * 40}"'])
async def test_amounts_written_in_the_document_are_user_errors(graph: Graph, literal: str) -> None:
    query = f"{{ invoices(filter: {{amountMin: {literal}}}) {{ edges {{ cursor }} }} }}"

    result = await graph.run(query, OFFICER)

    assert codes(result) == [("BAD_USER_INPUT", None)]


@pytest.mark.parametrize("value", ["9223372036855", "99999999999999999.999999"])
async def test_amounts_past_64_bit_millionths_are_compared_not_refused(
    graph: Graph, made: list[Generated], value: str
) -> None:
    above = await graph.run(PAGE, OFFICER, {"filter": {"amountMin": value}})
    below = await graph.run(PAGE, OFFICER, {"filter": {"amountMax": value}, "sort": BY_AMOUNT})

    assert (above.errors, below.errors) == (None, None)
    assert above.data["invoices"]["edges"] == []
    assert len(below.data["invoices"]["edges"]) == 7


@pytest.mark.parametrize(
    "filter_",
    [
        pytest.param({"series": "C26\x00TAA"}, id="series-nul"),
        pytest.param({"taxRate": "\x00"}, id="rate-nul"),
        pytest.param({"taxRate": "8%\ud800"}, id="rate-surrogate"),
    ],
)
async def test_labels_sql_cannot_carry_are_filter_errors(
    graph: Graph, made: list[Generated], filter_: dict[str, str]
) -> None:
    result = await graph.run(SUMMARY, OFFICER, {"filter": filter_})

    assert codes(result) == [("ANALYTICS_INVALID", None)]
    assert ("series" if "series" in filter_ else "tax rate") in result.errors[0].message
