"""Invoices partitioned by month on PostgreSQL: identity unique across partitions, rows moved
out of the default partition without loss, and an existing table converted in place."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from integrations.store import dialect, partitions
from integrations.store.analytics import GroupBy, InvoiceAnalytics, InvoiceFilter
from integrations.store.database import migrate, open_database
from integrations.store.dialect import Sql
from integrations.store.invoices import DuplicateInvoice, InvoiceStore
from integrations.store.models import Invoice, InvoiceStatus
from tests.conftest import EMPTIER
from tests.integrations.store.invoice_factory import BUYERS, SELLERS, Line, make_record
from tests.integrations.store.test_database import _migrate_to, empty_database

__all__ = ["empty_database"]  # the fixture of the schema's own tests, a database per backend

pytestmark = pytest.mark.postgres
TODAY = date(2026, 12, 6)


@pytest.fixture
async def postgres(postgres_database: str) -> AsyncIterator[None]:
    EMPTIER.empty(postgres_database)
    async with open_database(postgres_database):
        yield


async def where_is(invoice_id: uuid.UUID) -> str:
    rows = await dialect.connection().execute_query_dict(
        "SELECT tableoid::regclass::text AS name FROM invoices WHERE id = $1", [invoice_id]
    )
    return str(rows[0]["name"])


async def ensure() -> list[str]:
    return await partitions.ensure(dialect.connection(), today=TODAY)


@pytest.mark.usefixtures("postgres")
async def test_migrate_makes_this_month_and_the_next_ones() -> None:
    names = [p.name for p in await partitions.partitions(dialect.connection())]
    first = date.today().replace(day=1)
    ahead = [partitions.month_name(partitions.add_months(first, n)) for n in range(4)]
    assert set(ahead) <= set(names)
    assert names[-1] == partitions.DEFAULT


@pytest.mark.usefixtures("postgres")
async def test_a_bulk_load_has_every_month_made_from_its_first() -> None:
    await partitions.ensure(dialect.connection(), today=TODAY, since=date(2026, 8, 31))
    names = {p.name for p in await partitions.partitions(dialect.connection())}
    assert {f"invoices_2026_{month:02d}" for month in range(8, 13)} <= names


@pytest.mark.usefixtures("postgres")
async def test_an_invoice_of_a_month_not_yet_made_waits_in_default_then_moves() -> None:
    store = InvoiceStore()
    record = make_record(issued_on=date(2019, 3, 14), series="C19TAA", lines=(
        Line("8%", Decimal(100_000)), Line("10%", Decimal(50_000)),
    ))  # fmt: skip
    await store.insert(record)
    assert await where_is(record.id) == partitions.DEFAULT

    assert await ensure() == ["invoices_2019_03"]
    assert await where_is(record.id) == "invoices_2019_03"
    stored = await store.get(record.id, with_lines=True)
    assert stored is not None
    assert [line.tax_rate for line in stored.lines] == ["8%", "10%"]
    assert await store.find_by_sha(record.sha256) == await store.get(record.id)
    assert await ensure() == []


@pytest.mark.usefixtures("postgres")
async def test_the_business_key_is_unique_across_months() -> None:
    store = InvoiceStore()
    first = make_record(number=5, issued_on=date(2026, 1, 20))
    await store.insert(first)
    with pytest.raises(DuplicateInvoice) as raised:
        await store.insert(make_record(number=5, issued_on=date(2026, 12, 1)))
    assert raised.value.existing.id == first.id
    assert not raised.value.same_bytes
    assert await Invoice.filter(number=5).count() == 1


@pytest.mark.usefixtures("postgres")
async def test_the_sha256_and_the_authority_code_are_unique_across_months() -> None:
    await _insert_raw(1, date(2026, 1, 20), sha256="a" * 64, code="00ABC")
    with pytest.raises(IntegrityError):
        await _insert_raw(2, date(2026, 11, 3), sha256="a" * 64)
    with pytest.raises(IntegrityError):
        await _insert_raw(3, date(2026, 12, 3), code="00ABC")
    assert await Invoice.all().count() == 1


@pytest.mark.usefixtures("postgres")
async def test_an_invoice_keeps_its_identity_but_not_its_status() -> None:
    record = make_record(issued_on=date(2026, 12, 2))
    await InvoiceStore().insert(record)
    connection = dialect.connection()
    await connection.execute_query(
        "UPDATE invoices SET status = 'replaced' WHERE id = $1", [record.id]
    )
    for change in ("number = 99", "issued_on = '2026-11-02'", "sha256 = repeat('d', 64)"):
        with pytest.raises(IntegrityError, match="identity cannot change"):
            await connection.execute_query(
                f"UPDATE invoices SET {change} WHERE id = $1", [record.id]
            )
    stored = await InvoiceStore().get(record.id)
    assert stored is not None
    assert stored.key.number == 1
    assert stored.status == InvoiceStatus.REPLACED


@pytest.mark.usefixtures("postgres")
async def test_deleting_a_key_deletes_its_invoice_and_every_row_of_it() -> None:
    record = make_record(issued_on=date(2026, 12, 2))
    await InvoiceStore().insert(record)
    connection = dialect.connection()
    await connection.execute_query("DELETE FROM invoice_keys WHERE id = $1", [record.id])
    for table in ("invoices", "invoice_lines", "identity_links", "receipts", "invoice_documents"):
        column = "id" if table == "invoices" else "invoice_id"
        rows = await connection.execute_query_dict(
            f"SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1", [record.id]
        )
        assert rows[0]["n"] == 0, table


@pytest.mark.usefixtures("postgres")
async def test_an_officer_s_month_reads_that_month_s_partition_alone() -> None:
    """The gateway's own SQL for a month's page and summary, as sent, prunes the others."""
    store = InvoiceStore()
    for number, issued in enumerate((date(2026, 10, 5), date(2026, 11, 5), date(2026, 12, 5))):
        await store.insert(make_record(number=number + 1, issued_on=issued))
    await ensure()
    month = InvoiceFilter(issued_from=date(2026, 11, 1), issued_to=date(2026, 11, 30))
    with statements_sent() as sent:
        page = await InvoiceAnalytics().search(month, first=10)
        by_kind = await InvoiceAnalytics(use_rollups=False).summarise(month, (GroupBy.KIND,))
    assert [item.issued_on for item in page.items] == [date(2026, 11, 5)]
    assert [row.count for row in by_kind] == [1]
    reads = [(query, values) for query, values in sent if "FROM invoices" in query]
    assert len(reads) >= 2
    for query, values in reads:
        plan = await dialect.connection().execute_query_dict(f"EXPLAIN {query}", values)
        text = "\n".join(row["QUERY PLAN"] for row in plan)
        assert set(re.findall(r" on (invoices_\w+)", text)) == {"invoices_2026_11"}, text


@pytest.mark.usefixtures("postgres")
async def test_a_buyer_s_invoices_are_read_back_from_their_own_months_alone() -> None:
    """Ids found by buyer carry their month, so each probe runs in one partition."""
    store = InvoiceStore()
    for number, issued in enumerate((date(2026, 10, 5), date(2026, 12, 5))):
        await store.insert(make_record(number=number + 1, issued_on=issued))
    await ensure()
    with statements_sent() as sent:
        page = await InvoiceAnalytics().search(InvoiceFilter(buyer=BUYERS[0]), first=10)
    assert len(page.items) == 2
    (query, values) = next((q, v) for q, v in sent if "FROM invoices" in q)
    async with dialect.connection()._in_transaction() as tx:
        # The nested loop PostgreSQL picks at scale, not the hash join a handful of rows gets.
        await tx.execute_script(
            "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;"
            "SET LOCAL enable_seqscan = off"
        )
        plan = await tx.execute_query_dict(f"EXPLAIN ANALYZE {query}", values)
    probes = [
        row["QUERY PLAN"] for row in plan if re.search(r" on invoices_\w+ i_", row["QUERY PLAN"])
    ]
    assert len(probes) > 2
    assert [p for p in probes if "never executed" not in p] == [
        p for p in probes if re.search(r"invoices_2026_1[02] ", p)
    ]


@contextmanager
def statements_sent() -> Iterator[list[tuple[str, list[Any]]]]:
    """The statements tortoise sends inside the block, with their values."""
    sent: list[tuple[str, list[Any]]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if isinstance(record.args, tuple) and len(record.args) == 2:
                query, values = record.args
                if isinstance(query, str):
                    sent.append((query, list(values or [])))

    logger, keep = logging.getLogger("tortoise.db_client"), Keep()
    level = logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.DEBUG)
    try:
        yield sent
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)


@pytest.mark.parametrize("empty_database", ["postgres"], indirect=True)
async def test_the_migration_partitions_the_invoices_already_held(empty_database: str) -> None:
    """0009 moves every invoice into its month's partition and keeps what hangs from it."""
    await _migrate_to(empty_database, "0008_invoice_buyer_rollups")
    held = [(1, date(2025, 1, 31)), (2, date(2025, 2, 1)), (3, date(2026, 11, 30))]
    async with open_database(empty_database):
        ids = [await _insert_raw(number, issued, line=True) for number, issued in held]
    await migrate(empty_database)
    async with open_database(empty_database):
        assert [await where_is(i) for i in ids] == [
            "invoices_2025_01", "invoices_2025_02", "invoices_2026_11",
        ]  # fmt: skip
        store = InvoiceStore()
        for invoice_id, (number, _) in zip(ids, held, strict=True):
            stored = await store.get(invoice_id, with_lines=True)
            assert stored is not None
            assert (stored.key.number, len(stored.lines)) == (number, 1)
        with pytest.raises(IntegrityError):
            await _insert_raw(1, date(2026, 12, 1))
        assert await partitions.is_partitioned(dialect.connection())


async def _insert_raw(
    number: int,
    issued: date,
    *,
    sha256: str | None = None,
    code: str | None = None,
    line: bool = False,
) -> uuid.UUID:
    """An invoice row written in SQL, as a bulk load or an older intake would."""
    connection = dialect.connection()
    invoice_id = uuid.uuid4()
    sql = Sql("postgres")
    values = (
        invoice_id, SELLERS[0], "1", "C26TAA", number, sha256 or f"{number:064x}", code,
        "2.1.0", "Hóa đơn", issued, "VND", "Nhà hàng", Decimal(100), Decimal(8), Decimal(108),
    )  # fmt: skip
    await connection.execute_query(
        "INSERT INTO invoices (id, seller_tax_code, template, series, number, sha256,"
        " tax_authority_code, version, name, issued_on, currency, seller_name, total_before_tax,"
        " total_tax, total_payable, is_cash_register, status, submitter, received_at, kind,"
        " seller_province, buyer_province, buyer_name) VALUES ("
        + ", ".join(sql.param(value) for value in values)
        + ", false, 'accepted', '', now(), 'vat', '', '', '')",
        sql.values,
    )
    if line:
        await connection.execute_query(
            "INSERT INTO invoice_lines (invoice_id, position, nature, item_code, name, unit,"
            " amount, tax_rate, tax_percent) VALUES ($1, 1, 1, '', 'Phở', '', 100, '8%', 8)",
            [invoice_id],
        )
    return invoice_id


def test_month_arithmetic_crosses_years() -> None:
    assert partitions.add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert partitions.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert partitions.month_name(date(2027, 2, 1)) == "invoices_2027_02"
