"""Time the officer queries against a loaded database (see ``load_invoices.py``).

Runs filtered list pages, summaries and the CSV export through ``InvoiceAnalytics`` exactly as
the gateway does, prints p50 and p99 per query and the ratio to the targets (a page or a summary
at p50 under 200 ms, an export of at least 20,000 rows a second), next to the round trip of
``SELECT 1`` measured in the same run as the floor. A summary the roll-ups can answer is timed
both ways in the same run: summed from the invoices (as before the roll-ups) and read from them
(as the gateway answers it); the others read the invoices either way. The machine's load
average is printed with the figures, which are upper bounds on a shared machine.
``--explain FILE`` writes the plan of every statement (PostgreSQL: ``EXPLAIN (ANALYZE,
BUFFERS)``).

    python bench/officer_queries.py postgres://postgres@127.0.0.1/gateway_bench --explain plans.txt
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time
from calendar import monthrange
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from integrations.store import dialect
from integrations.store.analytics import (
    GroupBy,
    InvoiceAnalytics,
    InvoiceFilter,
    InvoiceSort,
    SortKey,
    csv_chunks,
)
from integrations.store.database import open_database
from integrations.store.models import InvoiceKind

PAGE_TARGET_MS = 200.0
EXPORT_TARGET_ROWS = 20_000.0


@dataclass(frozen=True)
class Subjects:
    """Real values from the loaded data, so every query has something to find."""

    big_seller: str
    small_seller: str
    buyer: str
    month: tuple[date, date]


class StatementLog(logging.Handler):
    """Keeps the statements tortoise sends, to explain them afterwards."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], str):
            self.statements.append((args[0], list(args[1] or [])))


async def subjects() -> Subjects:
    connection = dialect.connection()
    sellers = await connection.execute_query_dict(
        "SELECT seller_tax_code, COUNT(*) AS n FROM invoices "
        "GROUP BY seller_tax_code ORDER BY n DESC LIMIT 200"
    )
    buyers = await connection.execute_query_dict(
        "SELECT buyer_personal_id FROM invoices WHERE buyer_personal_id IS NOT NULL "
        "ORDER BY issued_on DESC LIMIT 1"
    )
    latest = await connection.execute_query_dict("SELECT MAX(issued_on) AS day FROM invoices")
    latest_day = dialect.read_date(latest[0]["day"])
    # The whole calendar month of the latest invoice: the same invoices as up to that day.
    first = latest_day.replace(day=1)
    last = latest_day.replace(day=monthrange(first.year, first.month)[1])
    return Subjects(
        sellers[0]["seller_tax_code"],
        sellers[-1]["seller_tax_code"],
        buyers[0]["buyer_personal_id"],
        (first, last),
    )


def pages(s: Subjects) -> dict[str, InvoiceFilter | tuple[InvoiceFilter, InvoiceSort]]:
    first, last = s.month
    return {
        "newest": InvoiceFilter(),
        "seller": InvoiceFilter(seller=s.big_seller),
        "small seller, 3 months": InvoiceFilter(
            seller=s.small_seller, issued_from=date(last.year, max(last.month - 2, 1), 1)
        ),
        "buyer": InvoiceFilter(buyer=s.buyer),
        "month + rate 5%": InvoiceFilter(issued_from=first, issued_to=last, tax_rate="5%"),
        "flag NUMBERING_GAP": InvoiceFilter(flag="NUMBERING_GAP"),
        "amount 1M-2M by total": (
            InvoiceFilter(amount_min=Decimal(1_000_000), amount_max=Decimal(2_000_000)),
            InvoiceSort(SortKey.TOTAL_PAYABLE),
        ),
        "sales kind": InvoiceFilter(kind=InvoiceKind.SALES),
    }


def summaries(s: Subjects) -> dict[str, tuple[InvoiceFilter, tuple[GroupBy, ...]]]:
    first, last = s.month
    month = InvoiceFilter(issued_from=first, issued_to=last)
    return {
        "seller by month": (InvoiceFilter(seller=s.big_seller), (GroupBy.MONTH,)),
        "seller by month + distinct buyers": (InvoiceFilter(seller=s.big_seller), (GroupBy.MONTH,)),
        "seller by tax rate": (InvoiceFilter(seller=s.big_seller), (GroupBy.TAX_RATE,)),
        "small seller by month": (InvoiceFilter(seller=s.small_seller), (GroupBy.MONTH,)),
        "buyer by month": (InvoiceFilter(buyer=s.buyer), (GroupBy.MONTH,)),
        "month by seller province": (month, (GroupBy.SELLER_PROVINCE,)),
        "month by kind": (month, (GroupBy.KIND,)),
        "everything by month": (InvoiceFilter(), (GroupBy.MONTH,)),
        "month by seller": (month, (GroupBy.SELLER,)),
        "everything by tax rate": (InvoiceFilter(), (GroupBy.TAX_RATE,)),
        "everything by month and tax rate": (InvoiceFilter(), (GroupBy.MONTH, GroupBy.TAX_RATE)),
    }


async def timed(call: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    await call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def report(name: str, samples: list[float]) -> float:
    p50 = statistics.median(samples)
    p99 = statistics.quantiles(samples, n=100)[98] if len(samples) > 1 else p50
    verdict = "ok" if p50 <= PAGE_TARGET_MS else "OVER"
    print(
        f"  {name:34} p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  "
        f"target/p50 {PAGE_TARGET_MS / p50:6.1f}x  {verdict}"
    )
    return p50


async def compare_summary(
    name: str, where: InvoiceFilter, group_by: tuple[GroupBy, ...], repeat: int
) -> float:
    """Time a summary summed from the invoices and, where they can answer it, read from the
    roll-ups, in turn in the same run; the p50 the gateway now gets."""
    distinct = "distinct" in name
    rolled = InvoiceAnalytics()
    summed = InvoiceAnalytics(use_rollups=False)

    def summary(analytics: InvoiceAnalytics) -> Callable[[], Awaitable[object]]:
        return partial(analytics.summarise, where, group_by, distinct_buyers=distinct)

    before = report(f"{name} [invoices]", await timed(summary(summed), repeat))
    if not rolled.reads_rollups(where, group_by, distinct_buyers=distinct):
        return before
    after = report(f"{name} [roll-ups]", await timed(summary(rolled), repeat))
    print(f"  {'':34} roll-ups {before / after:6.1f}x faster (load average {load_average()})")
    return after


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


async def export(analytics: InvoiceAnalytics, where: InvoiceFilter) -> tuple[int, float, int]:
    started = time.perf_counter()
    rows = size = 0
    async for chunk in csv_chunks(analytics.export_rows(where)):
        size += len(chunk)
        rows += chunk.count(b"\n")
    return rows - 1, time.perf_counter() - started, size


async def explain(log: StatementLog, path: Path) -> None:
    connection = dialect.connection()
    postgres = connection.capabilities.dialect == "postgres"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    seen: set[str] = set()
    with path.open("w") as out:
        for statement, values in log.statements:
            if statement in seen or not statement.lstrip().upper().startswith("SELECT"):
                continue
            seen.add(statement)
            plan = await connection.execute_query_dict(prefix + statement, values)
            out.write(f"-- {statement}\n-- values {values}\n")
            out.write("\n".join(str(list(row.values())[-1]) for row in plan) + "\n\n")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--explain", type=Path, help="write the query plans to this file")
    args = parser.parse_args()
    log = StatementLog()
    async with open_database(args.url):
        analytics = InvoiceAnalytics()
        s = await subjects()
        floor = await timed(lambda: dialect.connection().execute_query("SELECT 1"), args.repeat)
        print(f"floor: SELECT 1 round trip p50 {statistics.median(floor):.2f} ms")
        print(f"subjects: {s}")
        logging.getLogger("tortoise.db_client").addHandler(log)
        logging.getLogger("tortoise.db_client").setLevel(logging.DEBUG)
        print("list pages (first 50, then the next page by cursor)")
        medians = []
        for name, spec in pages(s).items():
            where, sort = spec if isinstance(spec, tuple) else (spec, InvoiceSort())
            search = partial(analytics.search, where, sort, first=50)
            medians.append(report(name, await timed(search, args.repeat)))
            after = (await search()).end_cursor
            next_page = partial(search, after=after)
            medians.append(report(f"{name}, page 2", await timed(next_page, args.repeat)))
        print(f"summaries (load average {load_average()})")
        for name, (where, group_by) in summaries(s).items():
            medians.append(await compare_summary(name, where, group_by, args.repeat))
        logging.getLogger("tortoise.db_client").removeHandler(log)
        print("export (CSV, one month)")
        rows, seconds, size = await export(
            analytics, InvoiceFilter(issued_from=s.month[0], issued_to=s.month[1])
        )
        rate = rows / seconds
        print(
            f"  {rows:,} rows, {size / 1e6:.1f} MB in {seconds:.2f} s: {rate:,.0f} rows/s, "
            f"{rate / EXPORT_TARGET_ROWS:.1f}x the {EXPORT_TARGET_ROWS:,.0f} rows/s target"
        )
        worst = max(medians)
        print(f"median of query p50s {statistics.median(medians):.1f} ms, worst {worst:.1f} ms")
        if args.explain:
            await explain(log, args.explain)
            print(f"plans written to {args.explain}")


if __name__ == "__main__":
    asyncio.run(main())
