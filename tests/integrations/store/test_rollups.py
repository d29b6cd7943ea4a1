"""The monthly roll-ups answer summaries exactly as the invoices do, and move with them.

Hypothesis draws invoices (sellers, months across a year's end, VND and USD with or without a
rate, lines of every rate, nature and six-digit amount, lines without a rate label) and a
summary the roll-ups can answer; the property is that it equals the same summary summed from
the invoices. Invoices pile up across the examples of a test, so later examples compare
over larger sets.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from integrations.errors import StoreError
from integrations.store import dialect, rollups
from integrations.store.analytics import GroupBy, InvoiceAnalytics, InvoiceFilter
from integrations.store.invoices import InvoiceRecord, InvoiceStore, ReceiptRecord
from tests.integrations.store.invoice_factory import (
    BUYERS,
    PERCENTS,
    SELLERS,
    USD_RATES,
    Line,
    make_record,
)
from tests.support.fuzz import fuzz_divided

pytestmark = pytest.mark.usefixtures("db")

ROLLED_UP = (GroupBy.MONTH, GroupBy.SELLER, GroupBy.TAX_RATE)
MONTHS = tuple(date(2025 + (10 + n) // 12, (10 + n) % 12 + 1, 1) for n in range(5))
"""November 2025 to March 2026: months on both sides of a year's end."""
NUMBERS = itertools.count(1)
"""Invoice numbers, unique across every example of the run."""

amounts = st.decimals(min_value=0, max_value=10**11, places=6, allow_nan=False)
lines = st.builds(
    Line,
    rate=st.sampled_from(sorted(PERCENTS)),
    amount=amounts,
    nature=st.sampled_from([1, 1, 1, 2, 3, 4, 5]),
)
currencies = st.one_of(
    st.just(("VND", None)),
    st.tuples(st.just("USD"), st.sampled_from(USD_RATES)),
    st.just(("USD", None)),
)


@st.composite
def invoices(draw: st.DrawFn) -> InvoiceRecord:
    currency, rate = draw(currencies)
    record = make_record(
        seller=draw(st.sampled_from(SELLERS)),
        buyer=draw(st.sampled_from(BUYERS)),
        number=next(NUMBERS),
        issued_on=draw(st.sampled_from(MONTHS)).replace(day=draw(st.integers(1, 28))),
        lines=tuple(draw(st.lists(lines, min_size=1, max_size=4))),
        currency=currency,
        exchange_rate=rate,
    )
    if draw(st.booleans()):
        # A sales invoice's lines carry no rate label at all.
        unlabelled = tuple(replace(line, tax_rate="", tax_percent=None) for line in record.lines)
        record = replace(record, lines=unlabelled)
    return record


@st.composite
def rolled_up_filters(draw: st.DrawFn) -> InvoiceFilter:
    """A seller or none, and whole months or no bound on either side."""
    first = draw(st.none() | st.sampled_from(MONTHS))
    last = draw(st.none() | st.sampled_from(MONTHS))
    return InvoiceFilter(
        seller=draw(st.none() | st.sampled_from(SELLERS)),
        issued_from=first,
        issued_to=None if last is None else _last_day(last),
    )


def _last_day(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


groupings = st.permutations(ROLLED_UP).flatmap(
    lambda order: st.integers(0, len(order)).map(lambda size: tuple(order[:size]))
)


async def both_ways(
    where: InvoiceFilter, group_by: tuple[GroupBy, ...], distinct_buyers: bool = False
) -> tuple[list, list]:
    rolled = await InvoiceAnalytics().summarise(where, group_by, distinct_buyers=distinct_buyers)
    summed = await InvoiceAnalytics(use_rollups=False).summarise(
        where, group_by, distinct_buyers=distinct_buyers
    )
    return rolled, summed


@fuzz_divided(3)
@given(
    made=st.lists(invoices(), max_size=6),
    where=rolled_up_filters(),
    group_by=groupings,
    distinct_buyers=st.booleans(),
)
async def test_rollups_answer_as_the_invoices_do(
    made: list[InvoiceRecord],
    where: InvoiceFilter,
    group_by: tuple[GroupBy, ...],
    distinct_buyers: bool,
) -> None:
    if made:
        await InvoiceStore().insert_all(made)
    rolled, summed = await both_ways(where, group_by, distinct_buyers)
    assert rolled == summed


async def test_a_summary_the_rollups_can_answer_reads_them_and_others_read_the_invoices() -> None:
    """Skewing the roll-ups shows which summaries read them: only those they can answer."""
    await InvoiceStore().insert(make_record(number=1, issued_on=date(2026, 9, 14)))
    for table, count in (
        (rollups.TOTALS, 5),
        (rollups.STRIPE_TOTALS, 5),
        (rollups.RATES, 6),
        (rollups.STRIPE_RATES, 6),
    ):
        await dialect.connection().execute_query(f"UPDATE {table} SET invoices = {count}")
    await dialect.connection().execute_query(
        f"INSERT INTO {rollups.BUYERS} (seller_tax_code, month, currency, buyer) "
        f"VALUES ('{SELLERS[0]}', '2026-09', 'VND', '0401234566')"
    )
    answered = {
        "nothing": (InvoiceFilter(), ()),
        "by seller and month": (InvoiceFilter(seller=SELLERS[0]), (GroupBy.MONTH,)),
        "whole month": (
            InvoiceFilter(issued_from=date(2026, 9, 1), issued_to=date(2026, 9, 30)),
            (GroupBy.SELLER,),
        ),
        "by rate": (InvoiceFilter(), (GroupBy.TAX_RATE, GroupBy.MONTH)),
    }
    for name, (where, group_by) in answered.items():
        [row] = await InvoiceAnalytics().summarise(where, group_by)
        assert row.count == (6 if GroupBy.TAX_RATE in group_by else 5), name
    summed = {
        "part of a month": (InvoiceFilter(issued_from=date(2026, 9, 2)), ()),
        "to mid-month": (InvoiceFilter(issued_to=date(2026, 9, 29)), ()),
        "buyer": (InvoiceFilter(buyer="001099012345"), (GroupBy.MONTH,)),
        "rate filter": (InvoiceFilter(tax_rate="8%"), (GroupBy.TAX_RATE,)),
        "by kind": (InvoiceFilter(), (GroupBy.KIND,)),
    }
    for name, (where, group_by) in summed.items():
        [row] = await InvoiceAnalytics().summarise(where, group_by)
        assert row.count == 1, name
    for group_by in ((), (GroupBy.SELLER, GroupBy.MONTH)):
        [row] = await InvoiceAnalytics().summarise(InvoiceFilter(), group_by, distinct_buyers=True)
        assert (row.count, row.buyers) == (5, 2), group_by
    [row] = await InvoiceAnalytics().summarise(
        InvoiceFilter(), (GroupBy.TAX_RATE,), distinct_buyers=True
    )
    assert (row.count, row.buyers) == (1, 1)


async def test_an_invoice_rolled_back_leaves_no_trace_in_the_rollups() -> None:
    """The roll-up rows change in the transaction that stores the invoice: when a later row
    of that transaction fails (here its receipt, already held), nothing of it stays."""
    store = InvoiceStore()
    first = await store.insert(make_record(number=1))
    clash = make_record(number=2, lines=(Line("5%", Decimal(777)),))
    clash = replace(clash, receipt=ReceiptRecord(first.receipt_id, "json", {}, b""))
    with pytest.raises(IntegrityError):
        await store.insert(clash)
    with pytest.raises(RuntimeError):
        await _insert_then_fail(store, make_record(number=3, lines=(Line("10%", Decimal(5)),)))
    rolled, summed = await both_ways(InvoiceFilter(), (GroupBy.TAX_RATE,))
    assert rolled == summed
    assert [(row.key, row.count) for row in rolled] == [(("8%",), 1)]


async def _insert_then_fail(store: InvoiceStore, record: InvoiceRecord) -> None:
    async with in_transaction():
        await store.insert(record)
        raise RuntimeError("the caller's transaction fails after the insert")


async def test_concurrent_invoices_of_one_seller_and_month_are_all_counted() -> None:
    """Every intake transaction adds to the same roll-up rows: none is lost to another."""
    store = InvoiceStore()
    singles = [make_record(number=n, lines=(Line("8%", Decimal(n)),)) for n in range(1, 21)]
    batches = [
        [make_record(number=n + k, lines=(Line("5%", Decimal(n)),)) for k in range(5)]
        for n in range(100, 200, 10)
    ]
    await asyncio.gather(
        *(store.insert(record) for record in singles),
        *(store.insert_all(batch) for batch in batches),
    )
    for group_by in ((), (GroupBy.TAX_RATE,)):
        rolled, summed = await both_ways(InvoiceFilter(), group_by)
        assert rolled == summed
    rolled, summed = await both_ways(InvoiceFilter(), (), distinct_buyers=True)
    assert rolled == summed
    [row] = await InvoiceAnalytics().summarise(InvoiceFilter(), distinct_buyers=True)
    assert (row.count, row.buyers) == (70, 1)


async def test_rebuild_recomputes_what_the_intake_kept() -> None:
    """The migration's backfill and the bulk loader's: from the invoices alone."""
    store = InvoiceStore()
    for number in range(1, 6):
        buyer = BUYERS[number % 2]
        await store.insert(make_record(number=number, issued_on=date(2026, number, 3), buyer=buyer))
    summary = partial(
        InvoiceAnalytics().summarise, InvoiceFilter(), (GroupBy.MONTH,), distinct_buyers=True
    )
    before = await summary()
    for table in (rollups.STRIPE_TOTALS, rollups.BUYERS):
        await dialect.connection().execute_query(f"DELETE FROM {table}")
    assert await summary() == []
    async with in_transaction():
        await rollups.rebuild()
    assert await summary() == before
    assert [row.buyers for row in before] == [1] * 5


async def test_a_sqlite_rollup_past_its_integers_fails_rather_than_rounds(
    database_url: str,
) -> None:
    """SQLite's + turns an overflowing sum into a float: the summary refuses it, as a sum over
    the invoices refuses to pass 2^63 millionths. PostgreSQL's numeric has no such bound."""
    store = InvoiceStore()
    huge = (Line("KCT", Decimal("5000000000000")),)
    for number in (1, 2):
        await store.insert(make_record(number=number, lines=huge))
    summary = InvoiceAnalytics().summarise(InvoiceFilter(), ())
    if database_url.startswith("sqlite"):
        with pytest.raises(StoreError):
            await summary
    else:
        [row] = await summary
        assert row.total_payable == Decimal("10000000000000")
