"""Officer reads checked against an independent computation over a generated invoice set."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from integrations.errors import IdentityError
from integrations.store.analytics import (
    CSV_COLUMNS,
    NO_RATE,
    GroupBy,
    InvoiceAnalytics,
    InvoiceFilter,
    InvoiceRow,
    InvoiceSort,
    SortKey,
    csv_chunks,
)
from integrations.store.cursors import CursorInvalid
from integrations.store.invoices import InvoiceRecord, InvoiceStore, LinkRecord
from integrations.store.models import Invoice, InvoiceFlag, InvoiceKind, InvoiceStatus, LinkState
from tests.integrations.store.invoice_factory import (
    Generated,
    Line,
    buyer_of,
    expected_summary,
    generate,
    kind_of,
    make_record,
)

pytestmark = pytest.mark.usefixtures("db")

REPLACED_EVERY = 9
FLAGGED_EVERY = 7


async def _load(count: int = 160, *, foreign: float = 0.0) -> list[Generated]:
    made = generate(count, foreign=foreign)
    await InvoiceStore().insert_all([item.record for item in made])
    replaced = [g.record.id for g in made[::REPLACED_EVERY]]
    await Invoice.filter(id__in=replaced).update(status=InvoiceStatus.REPLACED)
    for g in made[::FLAGGED_EVERY]:
        await InvoiceFlag.create(invoice_id=g.record.id, code="NUMBERING_GAP", raised_at=_now())
    return made


def _now() -> datetime:
    return datetime.now(UTC)


def _status(made: list[Generated], g: Generated) -> InvoiceStatus:
    replaced = made.index(g) % REPLACED_EVERY == 0
    return InvoiceStatus.REPLACED if replaced else InvoiceStatus.ACCEPTED


def _cases(made: list[Generated]) -> list[tuple[InvoiceFilter, Callable[[Generated], bool]]]:
    return [
        (InvoiceFilter(), lambda g: True),
        (InvoiceFilter(seller="0313032391001"),
         lambda g: g.record.key.seller_tax_code == "0313032391-001"),
        (InvoiceFilter(buyer="079301000123"), lambda g: buyer_of(g.record) == "079301000123"),
        (InvoiceFilter(buyer="0401234566"), lambda g: buyer_of(g.record) == "0401234566"),
        (InvoiceFilter(issued_from=date(2026, 9, 10), issued_to=date(2026, 10, 5)),
         lambda g: date(2026, 9, 10) <= g.record.issued_on <= date(2026, 10, 5)),
        (InvoiceFilter(amount_min=Decimal("500000.5"), amount_max=Decimal(1500000)),
         lambda g: Decimal("500000.5") <= g.record.total_payable <= 1500000),
        (InvoiceFilter(tax_rate="KCT"), lambda g: any(line.rate == "KCT" for line in g.lines)),
        (InvoiceFilter(kind=InvoiceKind.CASH_REGISTER), lambda g: g.record.is_cash_register),
        (InvoiceFilter(kind=InvoiceKind.SALES), lambda g: g.record.key.template == "2"),
        (InvoiceFilter(status=InvoiceStatus.REPLACED),
         lambda g: _status(made, g) is InvoiceStatus.REPLACED),
        (InvoiceFilter(series="C26TBB"), lambda g: g.record.key.series == "C26TBB"),
        (InvoiceFilter(flag="NUMBERING_GAP"), lambda g: made.index(g) % FLAGGED_EVERY == 0),
        (InvoiceFilter(seller="0100109106", tax_rate="8%", issued_from=date(2026, 9, 1)),
         lambda g: g.record.key.seller_tax_code == "0100109106"
         and any(line.rate == "8%" for line in g.lines) and g.record.issued_on >= date(2026, 9, 1)),
    ]  # fmt: skip


async def _all_pages(
    analytics: InvoiceAnalytics, where: InvoiceFilter, sort: InvoiceSort, first: int
) -> list[InvoiceRow]:
    rows: list[InvoiceRow] = []
    after = None
    while True:
        page = await analytics.search(where, sort, first=first, after=after)
        rows += page.items
        if not page.has_next:
            return rows
        after = page.end_cursor


def _sort_key(sort: InvoiceSort) -> Callable[[InvoiceRecord], tuple[object, str]]:
    def key(record: InvoiceRecord) -> tuple[object, str]:
        value = record.issued_on if sort.key is SortKey.ISSUED_ON else record.total_payable
        return value, str(record.id)

    return key


async def test_filters_and_sorts_match_an_independent_selection() -> None:
    made = await _load()
    analytics = InvoiceAnalytics()
    for where, keep in _cases(made):
        for sort in (InvoiceSort(), InvoiceSort(SortKey.TOTAL_PAYABLE, descending=False)):
            rows = await _all_pages(analytics, where, sort, first=23)
            expected = sorted(
                (g.record for g in made if keep(g)), key=_sort_key(sort), reverse=sort.descending
            )
            assert [row.id for row in rows] == [r.id for r in expected], (where, sort)
    assert len([g for g in made if buyer_of(g.record) == "0401234566"]) > 0


async def test_rows_carry_their_columns_and_active_flags() -> None:
    made = await _load(20)
    rows = await _all_pages(InvoiceAnalytics(), InvoiceFilter(), InvoiceSort(), first=50)
    by_id = {row.id: row for row in rows}
    for index, g in enumerate(made):
        row = by_id[g.record.id]
        assert row.total_payable == g.record.total_payable
        assert row.kind is kind_of(g.record)
        assert row.flags == (("NUMBERING_GAP",) if index % FLAGGED_EVERY == 0 else ())
    first = made[0].record.id
    await InvoiceFlag.filter(invoice_id=first).update(cleared_at=_now())
    page = await InvoiceAnalytics().search(InvoiceFilter(flag="NUMBERING_GAP"), first=50)
    assert first not in {row.id for row in page.items}


async def test_buyer_matches_a_link_subject_as_well_as_the_buyer_columns() -> None:
    legacy = make_record(
        number=1,
        buyer="8012345677",
        links=(LinkRecord("buyer", "tax_code", "8012345677", "001099012345", LinkState.RESOLVED),),
    )
    direct = make_record(number=2, buyer="001099012345")
    other = make_record(number=3, buyer="079301000123")
    store = InvoiceStore()
    for record in (legacy, direct, other):
        await store.insert(record)
    page = await InvoiceAnalytics().search(InvoiceFilter(buyer="001099012345"), first=10)
    assert {row.id for row in page.items} == {legacy.id, direct.id}


GROUPINGS = [
    pytest.param((), id="total"),
    *(pytest.param((dim,), id=dim.value) for dim in GroupBy),
    pytest.param((GroupBy.MONTH, GroupBy.KIND), id="month-kind"),
    pytest.param((GroupBy.SELLER, GroupBy.TAX_RATE), id="seller-rate"),
]


async def test_summaries_match_an_independent_computation() -> None:
    """VND and USD invoices side by side: no group adds one currency to the other, and each
    group's sums in dong are exact against each invoice's own rate."""
    made = await _load(foreign=0.3)
    analytics = InvoiceAnalytics()
    for where, keep in _cases(made)[:8]:
        chosen = [g for g in made if keep(g)]
        for param in GROUPINGS:
            group_by = param.values[0]
            rows = await analytics.summarise(where, group_by, distinct_buyers=True)
            expected = expected_summary(chosen, group_by)
            assert {(row.key, row.currency): row for row in rows} == expected, (where, group_by)
            order = [(row.key, row.currency) for row in rows]
            assert order == sorted(order)
    both = await analytics.summarise(InvoiceFilter(), (GroupBy.MONTH, GroupBy.KIND))
    assert {row.currency for row in both} == {"USD", "VND"}
    assert len({row.key for row in both}) < len(both), "some group holds both currencies"


async def test_the_trial_case_keeps_dollars_and_dong_apart() -> None:
    """546.51 USD and 5,890,500 VND in one month and kind were once added up as 5,891,046.51."""
    store = InvoiceStore()
    usd = make_record(
        number=1,
        lines=(Line("KCT", Decimal("546.51")),),
        currency="USD",
        exchange_rate=Decimal("25430.5"),
    )
    await store.insert(usd)
    await store.insert(make_record(number=2, lines=(Line("KCT", Decimal(5890500)),)))
    rows = await InvoiceAnalytics().summarise(InvoiceFilter(), (GroupBy.MONTH, GroupBy.KIND))
    assert [
        (row.key, row.currency, row.count, row.total_payable, row.total_payable_vnd) for row in rows
    ] == [
        (("2026-09", "vat"), "USD", 1, Decimal("546.51"), Decimal("13898022.555")),
        (("2026-09", "vat"), "VND", 1, Decimal(5890500), Decimal(5890500)),
    ]


async def test_sums_in_dong_are_exact_at_the_largest_amounts_and_rates() -> None:
    """Amounts with six decimals at the largest rate TGia can state, summed many times."""
    store = InvoiceStore()
    amounts = [Decimal("9000000000.999999"), Decimal("0.000001"), Decimal("-123456.654321")]
    rates = [Decimal("99999.99"), Decimal("0.01"), Decimal("25430.5")]
    records = [
        make_record(number=n, lines=(Line("KCT", amount),), currency="USD", exchange_rate=rate)
        for n, (amount, rate) in enumerate(itertools.product(amounts * 4, rates), 1)
    ]
    for record in records:
        await store.insert(record)
    [row] = await InvoiceAnalytics().summarise(InvoiceFilter())
    expected = sum((r.total_payable * r.exchange_rate for r in records), Decimal(0))
    assert row.total_payable_vnd == expected == Decimal("4515436059582202.759238")
    assert row.total_before_tax_vnd == expected
    assert row.total_tax_vnd == 0
    [by_rate] = await InvoiceAnalytics().summarise(InvoiceFilter(), (GroupBy.TAX_RATE,))
    assert by_rate.total_payable_vnd == expected


async def test_a_foreign_invoice_without_a_rate_has_no_sum_in_dong() -> None:
    """Only older or hand-made rows lack one (the rules refuse it): the dong sum is unknown,
    never the sum of the others."""
    store = InvoiceStore()
    await store.insert(make_record(number=1, currency="USD", exchange_rate=Decimal(25000)))
    await store.insert(make_record(number=2, currency="USD", exchange_rate=None))
    for group_by in ((), (GroupBy.TAX_RATE,)):
        [row] = await InvoiceAnalytics().summarise(InvoiceFilter(), group_by)
        assert (row.currency, row.count, row.total_before_tax) == ("USD", 2, Decimal(200000))
        assert (row.total_before_tax_vnd, row.total_tax_vnd, row.total_payable_vnd) == (
            None,
            None,
            None,
        )


async def test_buyers_are_counted_once_across_currencies() -> None:
    store = InvoiceStore()
    await store.insert(make_record(number=1, buyer="001099012345"))
    await store.insert(
        make_record(number=2, buyer="001099012345", currency="USD", exchange_rate=Decimal(25000))
    )
    await store.insert(make_record(number=3, buyer="079301000123"))
    rows = await InvoiceAnalytics().summarise(InvoiceFilter(), distinct_buyers=True)
    assert [(row.currency, row.buyers) for row in rows] == [("USD", 1), ("VND", 2)]
    assert await InvoiceAnalytics().count_buyers(InvoiceFilter()) == 2
    assert await InvoiceAnalytics().summarise(InvoiceFilter(seller="0319303270")) == []


async def test_sums_are_exact_to_the_last_fraction_digit() -> None:
    store = InvoiceStore()
    amounts = [Decimal("0.000001"), Decimal("123456789012.345678"), Decimal("0.1")]
    for number, amount in enumerate(amounts * 3, 1):
        await store.insert(make_record(number=number, lines=(Line("KCT", amount),)))
    [row] = await InvoiceAnalytics().summarise(InvoiceFilter())
    assert row.total_payable == sum(amounts) * 3 == Decimal("370370367037.337037")
    assert row.buyers is None
    [rate] = await InvoiceAnalytics().summarise(InvoiceFilter(), (GroupBy.TAX_RATE,))
    assert rate.total_before_tax == row.total_before_tax
    assert rate.total_tax == 0


async def test_lines_without_a_rate_are_summed_and_found_under_a_name() -> None:
    """A sales invoice's lines carry no TSuat: the group is named, never the empty string."""
    store = InvoiceStore()
    sales = make_record(number=1, template="2", lines=(Line("KCT", Decimal(50000)),))
    lines = tuple(replace(line, tax_rate="", tax_percent=None) for line in sales.lines)
    await store.insert(replace(sales, lines=lines))
    await store.insert(make_record(number=2, lines=(Line("KCT", Decimal(7000)),)))
    rows = await InvoiceAnalytics().summarise(InvoiceFilter(), (GroupBy.TAX_RATE,))
    assert [(row.key, row.total_before_tax) for row in rows] == [
        (("KCT",), Decimal(7000)),
        ((NO_RATE,), Decimal(50000)),
    ]
    page = await InvoiceAnalytics().search(InvoiceFilter(tax_rate=NO_RATE))
    assert [row.number for row in page.items] == [1]


async def test_pages_neither_skip_nor_repeat_while_invoices_arrive() -> None:
    store = InvoiceStore()
    made = generate(60, seed=11)
    for g in made:
        await store.insert(g.record)
    numbers = itertools.count(1)
    arrivals = (
        replace(g.record, key=replace(g.record.key, series="C26TZZ", number=next(numbers)))
        for g in generate(60, seed=12)
    )
    analytics = InvoiceAnalytics()
    for sort in (InvoiceSort(), InvoiceSort(SortKey.TOTAL_PAYABLE)):
        seen: list[uuid.UUID] = []
        after = None
        while True:
            # Each page is read while two invoices are being inserted, earlier and later ones.
            page, *_ = await asyncio.gather(
                analytics.search(InvoiceFilter(), sort, first=7, after=after),
                *(store.insert(next(arrivals)) for _ in range(2)),
            )
            seen += [row.id for row in page.items]
            if not page.has_next:
                break
            after = page.end_cursor
        assert len(seen) == len(set(seen))
        assert {g.record.id for g in made} <= set(seen)


async def test_a_cursor_only_works_with_the_sort_that_issued_it() -> None:
    store = InvoiceStore()
    for number in (1, 2, 3):
        await store.insert(make_record(number=number))
    analytics = InvoiceAnalytics()
    page = await analytics.search(InvoiceFilter(), first=1)
    with pytest.raises(CursorInvalid):
        await analytics.search(
            InvoiceFilter(), InvoiceSort(descending=False), after=page.end_cursor
        )
    with pytest.raises(CursorInvalid):
        await analytics.search(InvoiceFilter(), after="not-a-cursor")


async def test_export_streams_the_same_rows_as_the_list_and_writes_them_as_csv() -> None:
    made = await _load(45)
    analytics = InvoiceAnalytics()
    where = InvoiceFilter(issued_from=date(2026, 9, 1))
    listed = await _all_pages(analytics, where, InvoiceSort(), first=50)
    exported = [row async for row in analytics.export_rows(where, chunk=4)]
    assert exported == listed
    assert len(listed) > 8
    chunks = [c async for c in csv_chunks(analytics.export_rows(where, chunk=4), rows_per_chunk=5)]
    assert len(chunks) > 2
    text = b"".join(chunks).decode()
    assert text.startswith("\ufeff")
    records = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert tuple(records[0]) == CSV_COLUMNS
    assert [uuid.UUID(r[0]) for r in records[1:]] == [row.id for row in listed]
    assert [Decimal(r[13]) for r in records[1:]] == [row.total_payable for row in listed]
    assert len(made) == 45


async def test_csv_defuses_names_that_a_spreadsheet_would_run_as_formulas() -> None:

    record = replace(make_record(), seller_name='=HYPERLINK("http://x")')
    await InvoiceStore().insert(record)
    chunks = [c async for c in csv_chunks(InvoiceAnalytics().export_rows(InvoiceFilter()))]
    row = list(csv.reader(io.StringIO(b"".join(chunks).decode())))[1]
    assert row[2] == '\'=HYPERLINK("http://x")'


def test_a_filter_normalises_identities_and_refuses_malformed_ones() -> None:
    assert InvoiceFilter(seller="0313032391001").seller == "0313032391-001"
    with pytest.raises(IdentityError, match="12345"):
        InvoiceFilter(buyer="12345")
