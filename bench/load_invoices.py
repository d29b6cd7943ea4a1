"""Fill a database with realistic invoices for the officer query benchmark.

PostgreSQL is loaded with COPY (asyncpg ``copy_records_to_table``), SQLite with ``executemany``
in large transactions. Sellers are the known demo merchants plus thousands of synthetic valid
tax codes, a few of them selling most invoices; buyers are valid personal ID numbers across all
provinces, some businesses, and anonymous walk-in customers. Each invoice gets lines whose
amounts add up to its totals, identity links for both parties, and a small share of risk flags.
Original XML and receipts are not generated: the officer queries never read them. The bulk
load bypasses the intake, so the summaries' roll-ups are rebuilt over every invoice at the end.

    python bench/load_invoices.py postgres://postgres@127.0.0.1/gateway_bench --count 1000000
    python bench/load_invoices.py sqlite:///tmp/bench.sqlite3 --count 100000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
from tortoise.transactions import in_transaction

from integrations.identity import PROVINCES, tax_check_digit
from integrations.risk.flags import FlagCode
from integrations.simulators.known import MERCHANTS, PEOPLE
from integrations.store import dialect, partitions, rollups
from integrations.store.classify import invoice_kind, province_of
from integrations.store.database import backend_of, migrate, open_database

INVOICE_COLUMNS = (
    "id", "seller_tax_code", "template", "series", "number", "sha256", "tax_authority_code",
    "version", "name", "issued_on", "currency", "exchange_rate", "seller_name", "buyer_name",
    "buyer_tax_code", "buyer_personal_id", "total_before_tax", "total_tax", "total_payable",
    "is_cash_register", "relation", "status", "submitter", "message_id", "received_at",
    "related_id", "kind", "seller_province", "buyer_province",
)  # fmt: skip
LINE_COLUMNS = (
    "invoice_id", "position", "nature", "item_code", "name", "unit", "quantity", "unit_price",
    "discount_amount", "amount", "tax_rate", "tax_percent",
)  # fmt: skip
LINK_COLUMNS = (
    "invoice_id", "role", "kind", "value", "subject", "state", "attempts", "updated_at",
)  # fmt: skip
FLAG_COLUMNS = ("invoice_id", "code", "detail", "raised_at", "cleared_at")

RATES = (("8%", 8), ("10%", 10), ("5%", 5), ("0%", 0), ("KCT", None))
RATE_WEIGHTS = (50, 30, 10, 5, 5)
ITEMS = ("Phở bò", "Cà phê sữa", "Phòng đôi", "Gạo ST25", "Nước mắm", "Bia", "Sữa tươi", "Bánh mì")
FLAG_RATES = {
    FlagCode.BUYER_UNKNOWN: 0.004,
    FlagCode.CERT_NEAR_EXPIRY: 0.01,
    FlagCode.NUMBERING_GAP: 0.005,
    FlagCode.ISSUED_AFTER_CEASED: 0.001,
    FlagCode.DUPLICATE_ATTEMPT: 0.001,
}
FIRST_DAY = date(2025, 1, 1)
DAYS = 697
BATCH = 20_000


@dataclass(slots=True)
class Seller:
    tax_code: str
    name: str
    series: list[tuple[str, str, bool]]
    numbers: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(slots=True)
class Batch:
    invoices: list[tuple[object, ...]] = field(default_factory=list)
    lines: list[tuple[object, ...]] = field(default_factory=list)
    links: list[tuple[object, ...]] = field(default_factory=list)
    flags: list[tuple[object, ...]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.invoices) + len(self.lines) + len(self.links) + len(self.flags)


def synthetic_tax_codes(rng: random.Random, count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        first = rng.choice(("01", "02", "03", "04", "06", "18", "23", "31", "37", "56"))
        nine = first + "".join(rng.choices("0123456789", k=7))
        check = tax_check_digit(nine)
        if check is not None:
            codes.add(f"{nine}{check}")
    return sorted(codes)


def personal_ids(rng: random.Random, count: int) -> list[str]:
    provinces = sorted(PROVINCES)
    made = set()
    while len(made) < count:
        century = rng.randint(0, 3)
        year = rng.randint(50, 99) if century < 2 else rng.randint(0, 5)
        made.add(f"{rng.choice(provinces)}{century}{year:02d}{rng.randint(0, 999_999):06d}")
    return sorted(made | set(PEOPLE))


def sellers(rng: random.Random, count: int) -> list[Seller]:
    codes = [code for code in MERCHANTS] + synthetic_tax_codes(rng, count)
    made = []
    for code in codes:
        shapes = [("1", "C{yy}TAA", False)]
        if rng.random() < 0.3:
            shapes.append(("2", "C{yy}TBB", False))
        if rng.random() < 0.2:
            shapes.append(("1", "K{yy}MCC", True))
        name = MERCHANTS[code].name if code in MERCHANTS else f"Công ty TNHH Bench {code}"
        made.append(Seller(code, name, shapes))
    return made


class Generator:
    def __init__(self, seed: int, seller_count: int, buyer_count: int) -> None:
        self.rng = random.Random(seed)
        self.sellers = sellers(self.rng, seller_count)
        # A few sellers issue most invoices, as supermarkets and chains do.
        weights = [1 / (rank + 1) ** 0.9 for rank in range(len(self.sellers))]
        self.cum_weights = [sum(weights[: i + 1]) for i in range(len(weights))]
        self.buyers = personal_ids(self.rng, buyer_count)
        self.businesses = [s.tax_code for s in self.sellers]
        self.now = datetime.now(UTC)

    def batches(self, count: int, postgres: bool) -> Iterator[Batch]:
        done = 0
        while done < count:
            size = min(BATCH, count - done)
            picks = self.rng.choices(self.sellers, cum_weights=self.cum_weights, k=size)
            days = sorted(self.rng.randrange(DAYS) for _ in range(size))
            batch = Batch()
            for seller, day in zip(picks, days, strict=True):
                self._invoice(batch, seller, FIRST_DAY + timedelta(days=day), postgres)
            done += size
            yield batch

    def _invoice(self, batch: Batch, seller: Seller, issued: date, postgres: bool) -> None:
        rng = self.rng
        template, pattern, cash = rng.choice(seller.series)
        series = pattern.format(yy=f"{issued.year % 100:02d}")
        number = seller.numbers[template, series] = seller.numbers.get((template, series), 0) + 1
        invoice_id = uuid.uuid4()
        before, tax = self._lines(batch, invoice_id, postgres)
        inconsistent = rng.random() < 0.003
        if inconsistent:
            before += 1
        buyer_pid, buyer_tax, buyer_name = self._buyer()
        received = datetime(issued.year, issued.month, issued.day, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(86_400)
        )
        coded = series.startswith("C") and not cash
        row = (
            invoice_id, seller.tax_code, template, series, number,
            hashlib.sha256(invoice_id.bytes).hexdigest(),
            f"00{invoice_id.hex.upper()}" if coded else None,
            "2.1.0", "Hóa đơn giá trị gia tăng" if template == "1" else "Hóa đơn bán hàng",
            issued, "VND", None, seller.name, buyer_name, buyer_tax, buyer_pid,
            _money(before, postgres), _money(tax, postgres), _money(before + tax, postgres),
            cash, None, "accepted", seller.tax_code, None, received, None,
            invoice_kind(template, series, is_cash_register=cash).value,
            province_of(seller.tax_code), province_of(buyer_pid or buyer_tax),
        )  # fmt: skip
        batch.invoices.append(row if postgres else _sqlite_row(row))
        self._links(batch, invoice_id, seller.tax_code, buyer_pid or buyer_tax, received, postgres)
        codes = [code for code, share in FLAG_RATES.items() if rng.random() < share]
        if inconsistent:
            codes.append(FlagCode.TOTALS_INCONSISTENT)
        for code in codes:
            flag = (invoice_id, code.value, "loaded", received, None)
            batch.flags.append(flag if postgres else _sqlite_row(flag))

    def _lines(self, batch: Batch, invoice_id: uuid.UUID, postgres: bool) -> tuple[int, int]:
        rng = self.rng
        before = tax = 0
        for position in range(1, rng.choice((1, 1, 2, 2, 3, 4)) + 1):
            label, percent = rng.choices(RATES, weights=RATE_WEIGHTS)[0]
            quantity = rng.randint(1, 5)
            price = rng.randint(2, 400) * 1000
            amount = quantity * price
            before += amount
            tax += amount * percent // 100 if percent else 0
            line = (
                invoice_id, position, 1, "", rng.choice(ITEMS), "",
                _money(quantity, postgres), _money(price, postgres), None,
                _money(amount, postgres), label,
                None if percent is None else _percent(percent, postgres),
            )  # fmt: skip
            batch.lines.append(line if postgres else _sqlite_row(line))
        return before, tax

    def _buyer(self) -> tuple[str | None, str | None, str]:
        draw = self.rng.random()
        if draw < 0.7:
            return self.rng.choice(self.buyers), None, "Khách hàng cá nhân"
        if draw < 0.8:
            return None, self.rng.choice(self.businesses), "Khách hàng doanh nghiệp"
        return None, None, ""

    def _links(
        self,
        batch: Batch,
        invoice_id: uuid.UUID,
        seller: str,
        buyer: str | None,
        at: datetime,
        postgres: bool,
    ) -> None:
        parties = [("seller", seller)] + ([("buyer", buyer)] if buyer else [])
        for role, value in parties:
            kind = "personal_id" if len(value) == 12 else "tax_code"
            link = (invoice_id, role, kind, value, value, "resolved", 0, at)
            batch.links.append(link if postgres else _sqlite_row(link))


def _money(value: int, postgres: bool) -> Decimal | str:
    return Decimal(value) if postgres else f"{value}.000000"


def _percent(value: int, postgres: bool) -> Decimal | str:
    return Decimal(value) if postgres else f"{value}.0000"


def _sqlite_row(row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(_sqlite_value(value) for value in row)


def _sqlite_value(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


async def load_postgres(url: str, generator: Generator, count: int) -> int:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    rows = 0
    try:
        for batch in generator.batches(count, postgres=True):
            async with conn.transaction():
                for table, columns, records in _tables(batch):
                    await conn.copy_records_to_table(table, records=records, columns=columns)
            rows += batch.rows
    finally:
        await conn.close()
    return rows


async def make_partitions(url: str) -> None:
    """On PostgreSQL, the monthly partitions of every month loaded, before the load: COPY
    into a month without one would fill the default partition instead."""
    async with open_database(url):
        await partitions.ensure(dialect.connection(), today=date.today(), since=FIRST_DAY)


async def analyse(url: str) -> None:
    """Statistics for the planner, once the roll-ups are in too; on PostgreSQL the visibility
    map as well, which index-only scans (a seller's summaries) need."""
    if backend_of(url) == "sqlite":
        db = sqlite3.connect(url.removeprefix("sqlite://"))
        try:
            db.execute("ANALYZE")
        finally:
            db.close()
        return
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def roll_up(url: str) -> float:
    """Rebuild the summaries' roll-ups over every invoice, which COPY and ``executemany``
    bypass; the seconds it took."""
    started = time.perf_counter()
    async with open_database(url), in_transaction():
        await rollups.rebuild()
    return time.perf_counter() - started


def load_sqlite(path: str, generator: Generator, count: int) -> int:
    db = sqlite3.connect(path)
    rows = 0
    try:
        for batch in generator.batches(count, postgres=False):
            with db:
                for table, columns, records in _tables(batch):
                    marks = ", ".join("?" for _ in columns)
                    names = ", ".join(columns)
                    db.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", records)
            rows += batch.rows
    finally:
        db.close()
    return rows


def _tables(batch: Batch) -> list[tuple[str, tuple[str, ...], list[tuple[object, ...]]]]:
    return [
        ("invoices", INVOICE_COLUMNS, batch.invoices),
        ("invoice_lines", LINE_COLUMNS, batch.lines),
        ("identity_links", LINK_COLUMNS, batch.links),
        ("invoice_flags", FLAG_COLUMNS, batch.flags),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="postgres://… or sqlite:///path (migrated first)")
    parser.add_argument("--count", type=int, help="invoices (default 1M PostgreSQL, 100k SQLite)")
    parser.add_argument("--sellers", type=int, default=5000)
    parser.add_argument("--buyers", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    postgres = backend_of(args.url) == "postgres"
    count = args.count or (1_000_000 if postgres else 100_000)
    await migrate(args.url)
    await make_partitions(args.url)
    generator = Generator(args.seed, args.sellers, args.buyers)
    started = time.perf_counter()
    if postgres:
        rows = await load_postgres(args.url, generator, count)
    else:
        rows = load_sqlite(args.url.removeprefix("sqlite://"), generator, count)
    elapsed = time.perf_counter() - started
    print(
        f"{count:,} invoices, {rows:,} rows in {elapsed:.1f} s: "
        f"{count / elapsed:,.0f} invoices/s, {rows / elapsed:,.0f} rows/s"
    )
    print(f"roll-ups rebuilt over every invoice in {await roll_up(args.url):.1f} s")
    await analyse(args.url)


if __name__ == "__main__":
    asyncio.run(main())
