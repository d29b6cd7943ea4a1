"""Monthly roll-ups of accepted invoices, which officer summaries read instead of every invoice.

Two tables (``InvoiceRollup``, ``InvoiceRateRollup``) hold, per month, seller and currency (and
per rate label and percent), the very measures ``analytics.summarise`` computes over the invoice
tables: counts, exact sums in the currency and the sums in dong as ``Sql.exchanged`` writes them.
Summing them again over months and sellers gives the same answer as summing the invoices, since
each invoice lies in exactly one month and seller. Two more (``InvoiceStripeRollup``,
``InvoiceStripeRateRollup``) hold the same per stripe of sellers instead of per seller: a
hundred rows a month and currency (by rate, times the rates) where the sellers are thousands,
for summaries over every seller. Sellers, not a single row per month, so that the intakes of
different sellers seldom wait for each other's row.

A distinct count of buyers cannot be added up from counts, so a fifth (``InvoiceBuyerRollup``)
holds each identified buyer of a seller, month and currency once, as ``analytics`` counts them
(``BUYER``, every invoice whatever its kind or status). Counting its distinct buyers over months
and sellers gives the invoices' count. It stays exact: an invoice is never deleted, and a
correction changes only the status of the one it corrects, never its buyer or month.

``add`` runs in the transaction that stores the invoices, so a summary never sees an invoice
without its totals or the reverse. Its upserts take the rows in key order: two transactions
touching the same rows lock them in the same order and cannot deadlock; on PostgreSQL they go
as one statement (``Sql.together``), the same in every transaction. ``rebuild`` recomputes
everything from the invoice tables (the migration's backfill, and bulk loads that bypass the
intake).

    >>> await add([(invoice.id, invoice.issued_on)])   # inside the intake's transaction
    >>> statement = summary_statement(sql, RollupQuery(seller="0100109106"), ("month",))
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient

from integrations.store import dialect
from integrations.store.dialect import Sql

TOTALS = "invoice_rollups"
RATES = "invoice_rate_rollups"
STRIPE_TOTALS = "invoice_stripe_rollups"
STRIPE_RATES = "invoice_stripe_rate_rollups"
BUYERS = "invoice_buyer_rollups"
SUMS = (TOTALS, RATES, STRIPE_TOTALS, STRIPE_RATES)
"""The roll-ups of counts and sums (migration 0006); ``BUYERS`` came with 0008."""
TABLES = (*SUMS, BUYERS)
BUYER = "COALESCE(i.buyer_personal_id, i.buyer_tax_code)"
"""An invoice's identified buyer: the personal ID, else the tax code; NULL when neither."""
STRIPE = "substr(i.seller_tax_code, 9, 2)"
"""A seller's stripe: the last two digits of the ten-digit tax code (or as many digits of a
personal ID), spread evenly by the check digit."""
NO_RATE = "none"
"""The rate label of lines that carry no ``TSuat`` (sales and cash-register invoices): the
format has no value for them, and KCT or KKKNT would say something else of the goods."""
VND = "VND"
EXCHANGED_PARTS = 4
"""The dong columns per sum: ``Sql.exchanged`` writes four partial products on SQLite."""
NO_PERCENT = -1
"""The percent stored for lines without one: a key column cannot be null and stay unique."""
_INVOICE_SUMS = ("total_before_tax", "total_tax", "total_payable")
# Goods (1), trade discount (3, written positive) and special goods (5) carry amounts.
LINE_NATURES = "(1, 3, 5)"
SIGNED_AMOUNT = "CASE WHEN l.nature = 3 THEN -({amount}) ELSE {amount} END"
RATE_LABEL = f"COALESCE(NULLIF(l.tax_rate, ''), '{NO_RATE}')"
"""How a line's rate label is grouped: lines without one as ``none``."""
DIMENSIONS = {"month": "r.month", "seller": "r.seller_tax_code", "tax_rate": "r.tax_rate"}
"""What a roll-up can group by, named as ``analytics.GroupBy`` names them."""


@dataclass(frozen=True, slots=True)
class RollupQuery:
    """The filters a roll-up answers: a seller and whole months (``YYYY-MM``, inclusive)."""

    seller: str | None = None
    first_month: str | None = None
    last_month: str | None = None


async def add(invoices: Sequence[tuple[uuid.UUID, date]]) -> None:
    """Add just-stored invoices, by id and issue date, to the roll-ups; call it in the
    transaction that stores them. With their dates PostgreSQL reads their months' partitions
    alone, and their lines by index: by id only, it could read every line held, twice a
    commit (0.65 ms each at 4,800 lines)."""
    connection = dialect.connection()
    sql = Sql(connection.capabilities.dialect)
    ids = sql.params(invoice_id for invoice_id, _ in invoices)
    days = sql.params(sorted({day for _, day in invoices}))
    await _upsert(connection, sql, f"i.id IN ({ids}) AND i.issued_on IN ({days})", TABLES)


async def rebuild(
    connection: BaseDBAsyncClient | None = None, tables: Sequence[str] = TABLES
) -> None:
    """Recompute the roll-ups ``tables`` from every stored invoice, in one transaction where
    the caller holds one (the migrations do, each for the tables it creates)."""
    connection = connection or dialect.connection()
    for table in tables:
        await connection.execute_query(f"DELETE FROM {table}")
    await _upsert(connection, Sql(connection.capabilities.dialect), "1 = 1", tables)


async def _upsert(
    connection: BaseDBAsyncClient, sql: Sql, where: str, tables: Sequence[str]
) -> None:
    month = sql.month("i.issued_on")
    totals = {"invoices": "COUNT(*)", "unrated": "COUNT(*) - COUNT(i.exchange_rate)"}
    for column in _INVOICE_SUMS:
        totals.update(_sums(sql, column, sql.money(f"i.{column}")))
    rates = {
        "invoices": "COUNT(DISTINCT i.id)",
        "unrated": "COUNT(*) - COUNT(i.exchange_rate)",
        **_sums(sql, "amount", SIGNED_AMOUNT.format(amount=sql.money("l.amount"))),
    }
    rate = {"tax_rate": RATE_LABEL, "tax_percent": f"COALESCE(l.tax_percent, {NO_PERCENT})"}
    invoices = f"invoices i WHERE {where}"
    lines = (
        "invoices i JOIN invoice_lines l ON l.invoice_id = i.id "
        f"AND l.nature IN {LINE_NATURES} WHERE {where}"
    )
    by_seller = {"seller_tax_code": "i.seller_tax_code", "month": month, "currency": "i.currency"}
    by_stripe = {"month": month, "stripe": STRIPE, "currency": "i.currency"}
    statements = {
        TOTALS: _statement(TOTALS, by_seller, totals, invoices),
        RATES: _statement(RATES, {**by_seller, **rate}, rates, lines),
        STRIPE_TOTALS: _statement(STRIPE_TOTALS, by_stripe, totals, invoices),
        STRIPE_RATES: _statement(STRIPE_RATES, {**by_stripe, **rate}, rates, lines),
        BUYERS: _buyers_statement({**by_seller, "buyer": BUYER}, where),
    }
    for statement in sql.together([statements[table] for table in tables]):
        await connection.execute_query(statement, sql.values)


def _buyers_statement(keys: dict[str, str], where: str) -> str:
    """An ``INSERT ... SELECT DISTINCT`` of the buyers not yet held, in key order; a buyer
    already there is left as it is."""
    ordinals = _ordinals(len(keys))
    return (
        f"INSERT INTO {BUYERS} ({', '.join(keys)}) "
        f"SELECT DISTINCT {', '.join(keys.values())} FROM invoices i "
        f"WHERE ({where}) AND {BUYER} IS NOT NULL ORDER BY {ordinals} "
        f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
    )


def _sums(sql: Sql, column: str, amount: str) -> dict[str, str]:
    """The sum of ``amount`` into ``column`` and its sums in dong into ``column_vnd_<n>``.

    A VND invoice's amounts are already dong and are not multiplied (``analytics``). Parts
    that ``Sql.exchanged`` does not write on this backend are 0 (the columns hold no default).
    """
    exchanged = sql.exchanged(amount, "i.exchange_rate", where=f"i.currency <> '{VND}'")
    parts = [f"COALESCE({part}, 0)" for part in exchanged]
    parts += ["0"] * (EXCHANGED_PARTS - len(parts))
    return {
        column: f"COALESCE(SUM({amount}), 0)",
        **{f"{column}_vnd_{n}": part for n, part in enumerate(parts)},
    }


def _statement(table: str, keys: dict[str, str], measures: dict[str, str], source: str) -> str:
    """An ``INSERT ... SELECT ... GROUP BY`` that adds to the rows already there, taking
    them in key order."""
    columns = ", ".join([*keys, *measures])
    ordinals = _ordinals(len(keys))
    added = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in measures)
    return (
        f"INSERT INTO {table} ({columns}) "
        f"SELECT {', '.join([*keys.values(), *measures.values()])} FROM {source} "
        f"GROUP BY {ordinals} ORDER BY {ordinals} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"
    )


def summary_statement(
    sql: Sql, query: RollupQuery, group_by: Sequence[str], distinct_buyers: bool = False
) -> str:
    """The summary ``analytics.summarise`` would compute, read from the roll-ups, with its
    column names: ``g<n>`` for the groups, the currency (and percent, by rate), ``n``,
    ``unrated``, ``sum_<i>``, ``vnd_<i>_<part>`` and, with ``distinct_buyers`` (not by
    rate), ``buyers``."""
    ordinals = _ordinals(len(group_by) + 1 + ("tax_rate" in group_by))
    if distinct_buyers:
        return f"{_with_buyers(sql, query, group_by)} ORDER BY {ordinals}"
    return f"{_grouped_sums(sql, query, group_by)} ORDER BY {ordinals}"


def _ordinals(width: int) -> str:
    return ", ".join(str(n) for n in range(1, width + 1))


def _grouped_sums(sql: Sql, query: RollupQuery, group_by: Sequence[str]) -> str:
    """The counts and sums of ``summary_statement``, in no order."""
    by_rate = "tax_rate" in group_by
    dims = [DIMENSIONS[name] for name in group_by] + ["r.currency"]
    if by_rate:
        # Not NULLIF: on SQLite only a comparison applies the text column's affinity to -1.
        dims.append(f"CASE WHEN r.tax_percent = {NO_PERCENT} THEN NULL ELSE r.tax_percent END")
    parts = 1 if sql.postgres else EXCHANGED_PARTS
    select = [f"{dim} AS g{index}" for index, dim in enumerate(dims)]
    # Counts as integers, and no sums in dong where they go unread (a VND group's are its
    # sums, an unrated group has none): fewer numerics to decode in a thousand-row answer.
    select += [
        "CAST(SUM(r.invoices) AS BIGINT) AS n",
        "CAST(SUM(r.unrated) AS BIGINT) AS unrated",
    ]
    exchanged = f"r.currency <> '{VND}' AND SUM(r.unrated) = 0"
    for index, column in enumerate(("amount",) if by_rate else _INVOICE_SUMS):
        select.append(f"SUM(r.{column}) AS sum_{index}")
        select += [
            f"CASE WHEN {exchanged} THEN SUM(r.{column}_vnd_{n}) END AS vnd_{index}_{n}"
            for n in range(parts)
        ]
    return (
        f"SELECT {', '.join(select)} FROM {_table(query, group_by)} r"
        f"{_where(sql, query)} GROUP BY {_ordinals(len(dims))}"
    )


def _with_buyers(sql: Sql, query: RollupQuery, group_by: Sequence[str]) -> str:
    """The sums joined to each group's distinct buyers; a group none of whose invoices names
    a buyer has 0, as a distinct count over its invoices."""
    sums = _grouped_sums(sql, query, group_by)
    dims = [DIMENSIONS[name] for name in group_by] + ["r.currency"]
    select = [f"{dim} AS g{index}" for index, dim in enumerate(dims)]
    buyers = (
        f"SELECT {', '.join(select)}, COUNT(DISTINCT r.buyer) AS buyers FROM {BUYERS} r"
        f"{_where(sql, query)} GROUP BY {_ordinals(len(dims))}"
    )
    same = " AND ".join(f"s.g{index} = b.g{index}" for index in range(len(dims)))
    return (
        f"SELECT s.*, COALESCE(b.buyers, 0) AS buyers FROM ({sums}) s "
        f"LEFT JOIN ({buyers}) b ON {same}"
    )


def _table(query: RollupQuery, group_by: Sequence[str]) -> str:
    """The striped roll-ups where no seller is asked for, fewer rows to add up."""
    by_rate = "tax_rate" in group_by
    if query.seller is None and "seller" not in group_by:
        return STRIPE_RATES if by_rate else STRIPE_TOTALS
    return RATES if by_rate else TOTALS


def _where(sql: Sql, query: RollupQuery) -> str:
    clauses = []
    if query.seller is not None:
        clauses.append(f"r.seller_tax_code = {sql.param(query.seller)}")
    if query.first_month is not None:
        clauses.append(f"r.month >= {sql.param(query.first_month)}")
    if query.last_month is not None:
        clauses.append(f"r.month <= {sql.param(query.last_month)}")
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""
