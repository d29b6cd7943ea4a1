"""The officer workbench's reads: filtered invoice pages, summaries and streamed exports.

Everything is one SQL statement over the invoice tables, written here for both backends
(``dialect.Sql``), because the ORM cannot express the keyset comparison on row values, month
grouping or exact decimal sums on SQLite. Pages are keyset pages on (sort key, id): a cursor
names a position, not an offset, so invoices that arrive while an officer pages never shift,
repeat or hide the ones still to come. Summaries are ``GROUP BY`` in the database; Python only
turns the sums into Decimals. Summaries by month, seller and rate over a seller and whole
months read the monthly roll-ups (``store/rollups.py``) instead of the invoices.

They read the ``analytics`` connection: a read replica where ``GATEWAY_ANALYTICS_DATABASE_URL``
names one, else the primary. ``as_of`` says how current the answers are (``docs/analytics.md``).

    >>> analytics = InvoiceAnalytics()
    >>> page = await analytics.search(InvoiceFilter(seller="0100109106"), first=50)
    >>> rows = await analytics.summarise(InvoiceFilter(), (GroupBy.MONTH, GroupBy.KIND))
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from calendar import monthrange
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import partial
from typing import Any

from integrations.errors import GatewayError, StoreError
from integrations.identity import parse_taxpayer_id
from integrations.money import decimal_text, shown
from integrations.store import cursors, dialect, partitions, rollups
from integrations.store.dialect import (
    Sql,
    read_date,
    read_datetime,
    read_decimal,
    read_optional_decimal,
    read_optional_int,
    read_uuid,
)
from integrations.store.models import InvoiceKind, InvoiceStatus
from integrations.store.rollups import (
    BUYER,
    EXCHANGED_PARTS,
    LINE_NATURES,
    NO_RATE,
    RATE_LABEL,
    SIGNED_AMOUNT,
    VND,
    RollupQuery,
)


class AnalyticsError(GatewayError, ValueError):
    """A filter or sort an officer query cannot be run with (bad cursors are ``CursorInvalid``)."""

    code = "ANALYTICS_INVALID"
    hint = "Check the filter values."


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    """Which invoices an officer query covers; every field given narrows the set.

    ``seller`` and ``buyer`` take a tax code or a personal ID number, normalised here. The
    buyer matches the invoice's buyer columns or a buyer identity link resolved to it (so a
    legacy personal tax code on the invoice still finds the person). ``amount_*`` bound the
    total payable, inclusive. ``tax_rate`` is a line's rate label (``8%``, ``KCT``; ``none``
    for lines without one): an invoice matches when any of its lines carries it. ``flag`` is an
    active risk flag code.
    """

    seller: str | None = None
    buyer: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    tax_rate: str | None = None
    kind: InvoiceKind | None = None
    status: InvoiceStatus | None = None
    series: str | None = None
    flag: str | None = None

    def __post_init__(self) -> None:
        for name in ("seller", "buyer"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(parse_taxpayer_id(value)))
        for name, label in (("tax_rate", "tax rate"), ("series", "series")):
            value = getattr(self, name)
            if value is not None:
                filter_label(value, label)


def filter_label(text: str, label: str = "label") -> str:
    """``text`` if SQL can carry it as a label filter (a series, a tax rate), else
    ``AnalyticsError``.

    PostgreSQL text holds no NUL character and neither backend takes an unpaired surrogate
    (JSON can carry one, UTF-8 cannot); any other text is fine, and matches nothing if no label
    is spelt so.
    """
    if "\x00" in text:
        raise AnalyticsError(f"the {label} {shown(text)} holds a NUL character")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise AnalyticsError(f"the {label} {shown(text)} holds an unpaired surrogate") from None
    return text


class SortKey(StrEnum):
    ISSUED_ON = "issued_on"
    TOTAL_PAYABLE = "total_payable"


@dataclass(frozen=True, slots=True)
class InvoiceSort:
    key: SortKey = SortKey.ISSUED_ON
    descending: bool = True

    @property
    def label(self) -> str:
        return f"{self.key.value}:{'desc' if self.descending else 'asc'}"


class GroupBy(StrEnum):
    MONTH = "month"
    SELLER = "seller"
    BUYER = "buyer"
    TAX_RATE = "tax_rate"
    SELLER_PROVINCE = "seller_province"
    BUYER_PROVINCE = "buyer_province"
    KIND = "kind"


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    """One listed invoice: the columns an officer sees, and its active risk flags."""

    id: uuid.UUID
    seller_tax_code: str
    seller_name: str
    template: str
    series: str
    number: int
    issued_on: date
    buyer_name: str
    buyer_tax_code: str | None
    buyer_personal_id: str | None
    currency: str
    total_before_tax: Decimal
    total_tax: Decimal
    total_payable: Decimal
    kind: InvoiceKind
    status: InvoiceStatus
    tax_authority_code: str | None
    received_at: datetime
    version: str
    exchange_rate: Decimal | None
    payment_method: str | None
    buyer_passport: str | None
    buyer_budget_unit_code: str | None
    total_trade_discount: Decimal | None
    total_fees: Decimal | None
    cash_register_code: str | None
    signer_subject: str | None
    signer_serial: str | None
    signer_issuer: str | None
    signing_provider_tax_code: str | None
    related_template: str | None
    related_series: str | None
    related_number: int | None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InvoicePage:
    items: list[InvoiceRow]
    end_cursor: str | None
    has_next: bool


PageHook = Callable[[Sequence[InvoiceRow]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One group in one currency: ``key`` holds the group values in the order of ``group_by``.

    Amounts are in ``currency``; the ``*_vnd`` sums are the same amounts in dong, each
    invoice's at its own rate (``TGia``; 1 for VND), or None when an invoice of the group
    states no rate. Grouped by tax rate, amounts come from the lines at that rate (trade
    discount lines subtracted) and the tax is their amount times the rate, exact; otherwise
    they are the invoices' own totals. ``buyers`` counts distinct identified buyers when asked
    for, else is None. Grouped by buyer, invoices without an identified buyer share the key "".
    """

    key: tuple[str, ...]
    currency: str
    count: int
    total_before_tax: Decimal
    total_tax: Decimal
    total_payable: Decimal
    total_before_tax_vnd: Decimal | None
    total_tax_vnd: Decimal | None
    total_payable_vnd: Decimal | None
    buyers: int | None = None


_COLUMNS = (
    "i.id, i.seller_tax_code, i.seller_name, i.template, i.series, i.number, i.issued_on, "
    "i.buyer_name, i.buyer_tax_code, i.buyer_personal_id, i.currency, i.total_before_tax, "
    "i.total_tax, i.total_payable, i.kind, i.status, i.tax_authority_code, i.received_at, "
    "i.version, i.exchange_rate, i.payment_method, i.buyer_passport, i.buyer_budget_unit_code, "
    "i.total_trade_discount, i.total_fees, i.cash_register_code, i.signer_subject, "
    "i.signer_serial, i.signer_issuer, i.signing_provider_tax_code, i.related_template, "
    "i.related_series, i.related_number"
)
_TOTALS = ("total_before_tax", "total_tax", "total_payable")
_LINE_JOIN = f" JOIN invoice_lines l ON l.invoice_id = i.id AND l.nature IN {LINE_NATURES}"
_ROLLED_UP = {GroupBy.MONTH, GroupBy.SELLER, GroupBy.TAX_RATE}
"""The groups the roll-ups keep (``store/rollups.py``); other summaries read the invoices."""
_NOT_ROLLED_UP = (
    "buyer",
    "amount_min",
    "amount_max",
    "tax_rate",
    "kind",
    "status",
    "series",
    "flag",
)
"""The filters only the invoices can answer."""


class InvoiceAnalytics:
    def __init__(self, *, use_rollups: bool = True) -> None:
        """``use_rollups=False`` sums every summary from the invoices themselves: the answer
        the roll-ups are checked against, and the benchmark's baseline."""
        self.use_rollups = use_rollups
        self._as_of: asyncio.Future[datetime | None] | None = None

    async def as_of(self) -> datetime | None:
        """How current this object's answers are: each holds every transaction the primary
        committed by then.

        Read once, before the first read, and kept: a replica only moves forward, so the one
        value bounds every later read too. Make one object per answer (a GraphQL request, an
        export), or the value only ages. None when a replica has replayed nothing since it
        started, so its age is unknown.
        """
        if self._as_of is None:
            self._as_of = asyncio.ensure_future(read_as_of())
        return await asyncio.shield(self._as_of)

    async def search(
        self,
        where: InvoiceFilter,
        sort: InvoiceSort | None = None,
        *,
        first: int = 50,
        after: str | None = None,
    ) -> InvoicePage:
        """One page of invoices in ``sort`` order, after the position ``after`` names."""
        if first < 1:
            raise AnalyticsError(f"first must be at least 1, not {first}")
        sort = sort or InvoiceSort()
        await self.as_of()
        sql = _sql()
        clauses = _clauses(sql, where)
        key = _sort_expression(sql, sort.key)
        if after is not None:
            clauses.append(_after(sql, key, sort, after))
        order = "DESC" if sort.descending else "ASC"
        statement = (
            f"SELECT {_COLUMNS} FROM invoices i{_where(clauses)} "
            f"ORDER BY {key} {order}, i.id {order} LIMIT {int(first) + 1}"
        )
        records = await _fetch(statement, sql.values)
        rows = [_row(record) for record in records[:first]]
        rows = await _with_flags(rows)
        end = _encode_cursor(rows[-1], sort) if rows else None
        return InvoicePage(rows, end, len(records) > first)

    async def summarise(
        self,
        where: InvoiceFilter,
        group_by: Sequence[GroupBy] = (),
        *,
        distinct_buyers: bool = False,
    ) -> list[SummaryRow]:
        """Counts and exact sums per group and currency, ordered by the group values, then
        the currency: amounts in different currencies are never added together.

        ``distinct_buyers`` also counts the distinct buyers of each group. It is opt-in: over
        the invoices, a distinct count keeps PostgreSQL from aggregating in parallel, about 4x
        slower over the whole table.

        Summaries grouped only by month, seller and tax rate, filtered only by seller and
        whole months, read the monthly roll-ups (``store/rollups.py``): same answer, a few
        rows per seller and month instead of every invoice. With distinct buyers, only those
        not by tax rate do (the buyers are kept per seller and month, not per rate). The rest
        read the invoices.
        """
        group_by = tuple(dict.fromkeys(group_by))
        await self.as_of()
        sql = _sql()
        by_rate = GroupBy.TAX_RATE in group_by
        rolled_up = self._rollup_query(where, group_by, distinct_buyers)
        if rolled_up is not None:
            statement = rollups.summary_statement(sql, rolled_up, group_by, distinct_buyers)
        else:
            statement = _summary_statement(sql, where, group_by, distinct_buyers)
        records = await _fetch(statement, sql.values)
        rows = _summaries(records, len(group_by), by_rate, sql.postgres)
        return _merge_percents(rows) if by_rate else rows

    def reads_rollups(
        self,
        where: InvoiceFilter,
        group_by: Sequence[GroupBy] = (),
        *,
        distinct_buyers: bool = False,
    ) -> bool:
        """Whether ``summarise`` answers these arguments from the roll-ups."""
        return self._rollup_query(where, tuple(group_by), distinct_buyers) is not None

    def _rollup_query(
        self, where: InvoiceFilter, group_by: tuple[GroupBy, ...], distinct_buyers: bool
    ) -> RollupQuery | None:
        if not self.use_rollups or (distinct_buyers and GroupBy.TAX_RATE in group_by):
            return None
        return _rollup_query(where, group_by)

    async def count_buyers(self, where: InvoiceFilter) -> int:
        """Distinct identified buyers of the matching invoices, whatever their currency."""
        await self.as_of()
        sql = _sql()
        statement = (
            f"SELECT COUNT(DISTINCT {BUYER}) AS buyers FROM invoices i"
            f"{_where(_clauses(sql, where))}"
        )
        records = await _fetch(statement, sql.values)
        return int(records[0]["buyers"])

    async def export_rows(
        self,
        where: InvoiceFilter,
        sort: InvoiceSort | None = None,
        *,
        chunk: int = 2000,
        on_page: PageHook | None = None,
    ) -> AsyncIterator[InvoiceRow]:
        """Every matching invoice, fetched a keyset page at a time: memory stays constant.

        ``on_page`` sees each page before any of its rows is yielded (the export logs the
        people on a page before their rows leave)."""
        after: str | None = None
        while True:
            page = await self.search(where, sort, first=chunk, after=after)
            if on_page is not None:
                await on_page(page.items)
            for row in page.items:
                yield row
            if not page.has_next:
                return
            after = page.end_cursor


_REPLAYED = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_xact_replay_timestamp() "
    "ELSE clock_timestamp() END AS as_of"
)


async def read_as_of() -> datetime | None:
    """How current the analytics connection is now: on a PostgreSQL standby the commit time of
    the last transaction it replayed (None before the first), else the current time, since the
    primary (or a SQLite file) is never stale."""
    if not dialect.has_replica() or not _sql().postgres:
        return datetime.now(UTC)
    records = await _fetch(_REPLAYED)
    as_of: datetime | None = records[0]["as_of"]
    return as_of


async def _fetch(statement: str, values: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of a read on the analytics connection; one that cannot be reached (a replica
    down) is a ``StoreError``, answered 503, never an internal error."""
    try:
        return await dialect.analytics_connection().execute_query_dict(statement, list(values))
    except OSError as exc:
        raise StoreError(f"the analytics database cannot be reached: {exc}") from exc


def _summary_statement(
    sql: Sql, where: InvoiceFilter, group_by: tuple[GroupBy, ...], distinct_buyers: bool
) -> str:
    """The summary computed over the invoice tables themselves."""
    by_rate = GroupBy.TAX_RATE in group_by
    dims = [*(_dimension(sql, dim) for dim in group_by), "i.currency"]
    if by_rate:
        # The percent rides along so the tax of each group is amount x rate, exact.
        dims.append("l.tax_percent")
    clauses = _clauses(sql, where)
    select = [f"{dim} AS g{index}" for index, dim in enumerate(dims)]
    ordinals = ", ".join(str(n) for n in range(1, len(dims) + 1))
    return (
        f"SELECT {', '.join([*select, *_measures(sql, by_rate, distinct_buyers)])} "
        f"FROM invoices i{_LINE_JOIN if by_rate else ''}{_where(clauses)} "
        f"GROUP BY {ordinals} ORDER BY {ordinals}"
    )


def _rollup_query(where: InvoiceFilter, group_by: tuple[GroupBy, ...]) -> RollupQuery | None:
    """The roll-up filter answering ``where``, or None when only the invoices can: a filter
    other than the seller, or dates that cut a month."""
    if not _ROLLED_UP.issuperset(group_by):
        return None
    if any(getattr(where, name) is not None for name in _NOT_ROLLED_UP):
        return None
    start, end = where.issued_from, where.issued_to
    if start is not None and start.day != 1:
        return None
    if end is not None and end.day != monthrange(end.year, end.month)[1]:
        return None
    return RollupQuery(where.seller, _month(start), _month(end))


def _month(day: date | None) -> str | None:
    """The month as ``Sql.month`` writes it."""
    return None if day is None else f"{day.year:04d}-{day.month:02d}"


def _sql() -> Sql:
    return Sql(dialect.analytics_connection().capabilities.dialect)


def _where(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def _clauses(sql: Sql, where: InvoiceFilter) -> list[str]:
    clauses: list[str] = []
    equal = (
        ("i.seller_tax_code", where.seller),
        ("i.kind", where.kind.value if where.kind else None),
        ("i.status", where.status.value if where.status else None),
        ("i.series", where.series),
    )
    clauses += [f"{column} = {sql.param(value)}" for column, value in equal if value is not None]
    if where.buyer is not None:
        clauses.append(_buyer_clause(sql, where.buyer))
    if where.issued_from is not None:
        clauses.append(f"i.issued_on >= {sql.param(where.issued_from)}")
    if where.issued_to is not None:
        clauses.append(f"i.issued_on <= {sql.param(where.issued_to)}")
    payable = sql.money("i.total_payable")
    if where.amount_min is not None:
        clauses.append(f"{payable} >= {sql.money_param(where.amount_min, round_up=True)}")
    if where.amount_max is not None:
        clauses.append(f"{payable} <= {sql.money_param(where.amount_max, round_up=False)}")
    if where.tax_rate is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM invoice_lines r WHERE r.invoice_id = i.id "
            f"AND r.tax_rate = {sql.param('' if where.tax_rate == NO_RATE else where.tax_rate)})"
        )
    if where.flag is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM invoice_flags f WHERE f.invoice_id = i.id "
            f"AND f.code = {sql.param(where.flag)} AND f.cleared_at IS NULL)"
        )
    return clauses


def _buyer_clause(sql: Sql, buyer: str) -> str:
    """A union of three index lookups: an OR across them would scan every invoice. Each id
    comes with its issue date, so on PostgreSQL reading the invoice back probes its month's
    partition alone rather than every month's (``store/partitions.py``); a link's date comes
    from ``partitions.identities``, one probe."""
    keys = partitions.identities(postgres=sql.postgres)
    return (
        "(i.id, i.issued_on) IN (SELECT b.id, b.issued_on FROM invoices b "
        f"WHERE b.buyer_personal_id = {sql.param(buyer)} "
        "UNION SELECT b.id, b.issued_on FROM invoices b "
        f"WHERE b.buyer_tax_code = {sql.param(buyer)} "
        f"UNION SELECT k.invoice_id, j.issued_on FROM identity_links k JOIN {keys} j "
        f"ON j.id = k.invoice_id WHERE k.role = 'buyer' AND k.subject = {sql.param(buyer)})"
    )


def _sort_expression(sql: Sql, key: SortKey) -> str:
    return "i.issued_on" if key is SortKey.ISSUED_ON else sql.money("i.total_payable")


def _after(sql: Sql, key: str, sort: InvoiceSort, cursor: str) -> str:
    value, invoice_id = _decode_cursor(cursor, sort)
    if isinstance(value, Decimal):
        bound = sql.money_param(value, round_up=False)
    else:
        bound = sql.param(value)
    operator = "<" if sort.descending else ">"
    return f"({key}, i.id) {operator} ({bound}, {sql.param(invoice_id)})"


def _dimension(sql: Sql, dim: GroupBy) -> str:
    return {
        GroupBy.MONTH: sql.month("i.issued_on"),
        GroupBy.SELLER: "i.seller_tax_code",
        GroupBy.BUYER: f"COALESCE({BUYER}, '')",
        GroupBy.TAX_RATE: RATE_LABEL,
        GroupBy.SELLER_PROVINCE: "i.seller_province",
        GroupBy.BUYER_PROVINCE: "i.buyer_province",
        GroupBy.KIND: "i.kind",
    }[dim]


def _measures(sql: Sql, by_rate: bool, distinct_buyers: bool) -> list[str]:
    """The count, the sums in the invoices' currency, the sums of amount x rate
    (``vnd_<measure>_<part>``, ``Sql.exchanged``) and the rows without a rate.

    A VND group's sums are already in dong: its rate is 1, whatever ``TGia`` says, so VND
    invoices are not multiplied at all.
    """
    measures = [
        "COUNT(DISTINCT i.id) AS n" if by_rate else "COUNT(*) AS n",
        "COUNT(*) - COUNT(i.exchange_rate) AS unrated",
    ]
    if distinct_buyers:
        measures.append(f"COUNT(DISTINCT {BUYER}) AS buyers")
    amounts = (
        [SIGNED_AMOUNT.format(amount=sql.money("l.amount"))]
        if by_rate
        else [sql.money(f"i.{column}") for column in _TOTALS]
    )
    for index, amount in enumerate(amounts):
        measures.append(f"SUM({amount}) AS sum_{index}")
        exchanged = sql.exchanged(amount, "i.exchange_rate", where=f"i.currency <> '{VND}'")
        measures += [f"{part} AS vnd_{index}_{n}" for n, part in enumerate(exchanged)]
    return measures


def _summaries(
    records: list[dict[str, Any]], width: int, by_rate: bool, postgres: bool
) -> list[SummaryRow]:
    """The rows of a summary's records (``_measures`` names their columns).

    A month by seller is thousands of records, and turning them into rows cost several times
    the statement; so the column names and readers are worked out once here, not per record,
    and each record makes its row directly, with no call per measure.
    """
    keys = [f"g{index}" for index in range(width)]
    currency_key, percent_key = f"g{width}", f"g{width + 1}"
    parts = 1 if postgres else EXCHANGED_PARTS
    measures = [
        (f"sum_{index}", [f"vnd_{index}_{n}" for n in range(parts)])
        for index in range(1 if by_rate else len(_TOTALS))
    ]
    unrated = [None] * len(measures)
    read_exchanged = partial(dialect.read_exchanged, postgres=postgres)
    read_sum = dialect.sum_reader(postgres=postgres)
    rows = []
    for record in records:
        currency = str(record[currency_key])
        amounts = [read_sum(record[name]) for name, _ in measures]
        if currency == VND:
            exchanged = amounts
        elif record["unrated"]:
            exchanged = unrated
        else:
            exchanged = [read_exchanged([record[part] for part in vnd]) for _, vnd in measures]
        if by_rate:
            totals = _at_rate(amounts[0], exchanged[0], record[percent_key])
        else:
            totals = (*amounts, *exchanged)
        buyers = record.get("buyers")
        rows.append(
            SummaryRow(
                tuple([str(record[key] or "") for key in keys]),
                currency,
                int(record["n"]),
                *totals,
                read_optional_int(buyers),
            )
        )
    return rows


def _at_rate(
    before: Decimal, before_vnd: Decimal | None, percent: Any
) -> tuple[Decimal, Decimal, Decimal, Decimal | None, Decimal | None, Decimal | None]:
    """A rate group's totals from its amount: the tax is the amount times the rate, exact."""
    rate = read_decimal(percent) / 100 if percent is not None else Decimal(0)
    tax = before * rate
    if before_vnd is None:
        return before, tax, before + tax, None, None, None
    tax_vnd = before_vnd * rate
    return before, tax, before + tax, before_vnd, tax_vnd, before_vnd + tax_vnd


def _merge_percents(rows: list[SummaryRow]) -> list[SummaryRow]:
    """Fold groups that differ only by percent (a label always carries one percent)."""
    merged: dict[tuple[tuple[str, ...], str], SummaryRow] = {}
    for row in rows:
        seen = merged.get((row.key, row.currency))
        merged[row.key, row.currency] = row if seen is None else _add(seen, row)
    return list(merged.values())


def _add(a: SummaryRow, b: SummaryRow) -> SummaryRow:
    return SummaryRow(
        a.key,
        a.currency,
        a.count + b.count,
        a.total_before_tax + b.total_before_tax,
        a.total_tax + b.total_tax,
        a.total_payable + b.total_payable,
        _add_optional(a.total_before_tax_vnd, b.total_before_tax_vnd),
        _add_optional(a.total_tax_vnd, b.total_tax_vnd),
        _add_optional(a.total_payable_vnd, b.total_payable_vnd),
        None if a.buyers is None or b.buyers is None else a.buyers + b.buyers,
    )


def _add_optional(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a + b


def _row(record: dict[str, Any]) -> InvoiceRow:
    return InvoiceRow(
        id=read_uuid(record["id"]),
        seller_tax_code=record["seller_tax_code"],
        seller_name=record["seller_name"],
        template=record["template"],
        series=record["series"],
        number=int(record["number"]),
        issued_on=read_date(record["issued_on"]),
        buyer_name=record["buyer_name"],
        buyer_tax_code=record["buyer_tax_code"],
        buyer_personal_id=record["buyer_personal_id"],
        currency=record["currency"],
        total_before_tax=read_decimal(record["total_before_tax"]),
        total_tax=read_decimal(record["total_tax"]),
        total_payable=read_decimal(record["total_payable"]),
        kind=InvoiceKind(record["kind"]),
        status=InvoiceStatus(record["status"]),
        tax_authority_code=record["tax_authority_code"],
        received_at=read_datetime(record["received_at"]),
        version=record["version"],
        exchange_rate=read_optional_decimal(record["exchange_rate"]),
        payment_method=record["payment_method"],
        buyer_passport=record["buyer_passport"],
        buyer_budget_unit_code=record["buyer_budget_unit_code"],
        total_trade_discount=read_optional_decimal(record["total_trade_discount"]),
        total_fees=read_optional_decimal(record["total_fees"]),
        cash_register_code=record["cash_register_code"],
        signer_subject=record["signer_subject"],
        signer_serial=record["signer_serial"],
        signer_issuer=record["signer_issuer"],
        signing_provider_tax_code=record["signing_provider_tax_code"],
        related_template=record["related_template"],
        related_series=record["related_series"],
        related_number=read_optional_int(record["related_number"]),
    )


async def _with_flags(rows: list[InvoiceRow]) -> list[InvoiceRow]:
    if not rows:
        return rows
    sql = _sql()
    records = await _fetch(
        "SELECT invoice_id, code FROM invoice_flags "
        f"WHERE cleared_at IS NULL AND invoice_id IN ({sql.params(row.id for row in rows)}) "
        "ORDER BY code",
        sql.values,
    )
    flags: dict[uuid.UUID, list[str]] = {}
    for record in records:
        flags.setdefault(read_uuid(record["invoice_id"]), []).append(record["code"])
    # Most rows have no flag; copying one (a dataclass ``replace``) is the export's main cost.
    return [replace(row, flags=tuple(flags[row.id])) if row.id in flags else row for row in rows]


def cursor_of(row: InvoiceRow, sort: InvoiceSort | None = None) -> str:
    """The cursor naming ``row``'s position in ``sort`` order, as ``search`` takes it."""
    return _encode_cursor(row, sort or InvoiceSort())


def _encode_cursor(row: InvoiceRow, sort: InvoiceSort) -> str:
    if sort.key is SortKey.ISSUED_ON:
        value = cursors.write_day(row.issued_on)
    else:
        value = cursors.write_amount(row.total_payable)
    return cursors.encode(sort.label, value, cursors.write_id(row.id))


def _decode_cursor(cursor: str, sort: InvoiceSort) -> tuple[date | Decimal, uuid.UUID]:
    label, value, invoice_id = cursors.decode(cursor, 3)
    if label != sort.label:
        raise cursors.invalid(cursor, f"was issued for another order than {sort.label}")
    if sort.key is SortKey.ISSUED_ON:
        position: date | Decimal = cursors.read_day(cursor, value)
    else:
        position = cursors.read_amount(cursor, value)
    return position, cursors.read_id(cursor, invoice_id)


CSV_COLUMNS = (
    "id", "seller_tax_code", "seller_name", "template", "series", "number", "issued_on",
    "buyer_tax_code", "buyer_personal_id", "buyer_name", "currency", "total_before_tax",
    "total_tax", "total_payable", "kind", "status", "tax_authority_code", "received_at", "flags",
    "format_version", "exchange_rate", "payment_method", "buyer_passport",
    "buyer_budget_unit_code", "total_trade_discount", "total_fees", "cash_register_code",
    "signer_subject", "signer_serial", "signer_issuer", "signing_provider_tax_code",
    "related_seller_tax_code", "related_template", "related_series", "related_number",
)  # fmt: skip
"""The export's columns; those after ``flags`` came later, so earlier positions never move."""
# Names come from merchants: a leading =, +, - or @ would run as a formula in a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


async def csv_chunks(
    rows: AsyncIterable[InvoiceRow], *, rows_per_chunk: int = 1000
) -> AsyncIterator[bytes]:
    """UTF-8 CSV (with a byte order mark, so spreadsheets read Vietnamese names) in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    pending = 0
    async for row in rows:
        writer.writerow(_csv_fields(row))
        pending += 1
        if pending >= rows_per_chunk:
            yield _drain(buffer)
            pending = 0
    yield _drain(buffer)


def _csv_fields(row: InvoiceRow) -> list[str]:
    return [
        str(row.id),
        row.seller_tax_code,
        _text(row.seller_name),
        row.template,
        row.series,
        str(row.number),
        row.issued_on.isoformat(),
        row.buyer_tax_code or "",
        row.buyer_personal_id or "",
        _text(row.buyer_name),
        row.currency,
        decimal_text(row.total_before_tax),
        decimal_text(row.total_tax),
        decimal_text(row.total_payable),
        row.kind.value,
        row.status.value,
        row.tax_authority_code or "",
        row.received_at.isoformat(),
        " ".join(row.flags),
        row.version,
        _amount(row.exchange_rate),
        _text(row.payment_method or ""),
        _text(row.buyer_passport or ""),
        _text(row.buyer_budget_unit_code or ""),
        _amount(row.total_trade_discount),
        _amount(row.total_fees),
        row.cash_register_code or "",
        _text(row.signer_subject or ""),
        row.signer_serial or "",
        _text(row.signer_issuer or ""),
        row.signing_provider_tax_code or "",
        row.seller_tax_code if row.related_number is not None else "",
        row.related_template or "",
        row.related_series or "",
        "" if row.related_number is None else str(row.related_number),
    ]


def _amount(value: Decimal | None) -> str:
    return "" if value is None else decimal_text(value)


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data
