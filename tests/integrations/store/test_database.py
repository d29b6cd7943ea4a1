from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api import migrate as run_migrations

from integrations.store import dialect
from integrations.store.database import migrate, open_database, tortoise_config
from integrations.store.dialect import Sql
from integrations.store.invoices import InvoiceKey, InvoiceStore
from integrations.store.models import Invoice, Merchant
from tests.conftest import POSTGRES_URL


def _invoice(number: int, sha: str) -> Invoice:
    return Invoice(
        id=uuid.uuid4(),
        seller_tax_code="0100109106",
        template="1",
        series="C26TAA",
        number=number,
        sha256=sha,
        version="2.1.0",
        issued_on=date(2026, 11, 2),
        currency="VND",
        seller_name="Nhà hàng Phở Hà Nội",
        total_before_tax=Decimal("1200000.000001"),
        total_tax=Decimal("96000"),
        total_payable=Decimal("1296000.000001"),
    )


@pytest.mark.usefixtures("db")
async def test_money_round_trips_exactly() -> None:
    await _invoice(1, "a" * 64).save()
    stored = await Invoice.get(number=1)
    assert stored.total_payable == Decimal("1296000.000001")
    assert isinstance(stored.total_tax, Decimal)


@pytest.mark.usefixtures("db")
async def test_invoice_key_is_unique_in_the_database() -> None:
    await _invoice(7, "b" * 64).save()
    with pytest.raises(IntegrityError):
        await _invoice(7, "c" * 64).save()


@pytest.mark.usefixtures("db")
async def test_concurrent_inserts_of_one_key_store_exactly_one() -> None:
    results = await asyncio.gather(
        *(_invoice(9, f"{i:064x}").save() for i in range(8)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, IntegrityError) for r in results if r is not None)
    assert await Invoice.filter(number=9).count() == 1


async def test_migrate_again_keeps_the_data(database_url: str) -> None:
    async with open_database(database_url):
        await Merchant.create(tax_code="0319303270", name="Khách sạn Sài Gòn")
    await migrate(database_url)
    async with open_database(database_url):
        assert await Merchant.filter(tax_code="0319303270").count() == 1


async def test_a_connection_taken_up_after_an_outside_close_ends_with_the_block(
    database_url: str,
) -> None:
    """tortoise reconnects on a client's next query, so one closed from outside the block and
    used again must still be closed when the block ends: an open SQLite connection is a thread
    that keeps the process from exiting, an open pool connections the server keeps."""
    async with open_database(database_url):
        primary = dialect.connection()
        await Tortoise.close_connections()
        await primary.execute_query("SELECT 1")
        assert _holds_connection(primary)
    assert not _holds_connection(primary)


def _holds_connection(client: BaseDBAsyncClient) -> bool:
    return (getattr(client, "_connection", None) or getattr(client, "_pool", None)) is not None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of each backend with no schema yet, so a test can migrate it in steps."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'steps.sqlite3'}"
        return
    request.getfixturevalue("postgres_database")  # skips or fails as the suite requires
    name = f"gateway_steps_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_URL.replace("postgres://", "postgresql://", 1)
    await _admin(admin, f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _migrate_to(url: str, target: str) -> None:
    async def run() -> None:
        try:
            await run_migrations(config=tortoise_config(url), target=f"gateway.{target}")
        finally:
            await Tortoise.close_connections()

    await asyncio.create_task(run())


async def test_invoice_fidelity_migration_keeps_what_older_invoices_said(
    empty_database: str,
) -> None:
    """0005 copies a correction's original key and reads the dong's symbol as VND."""
    await _migrate_to(empty_database, "0004_pinning_and_checkpoints")
    original, correction, symbol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with open_database(empty_database):
        sql = Sql(dialect.connection().capabilities.dialect)
        rows = [
            (original, 1, "VND", None, "a"),
            (correction, 2, "VND", original, "b"),
            (symbol, 3, "đ", None, "c"),
        ]
        for invoice_id, number, currency, related, sha in rows:
            sql.values.clear()
            values = (
                invoice_id, "0100109106", "1", "C26TAA", number, sha * 64, "2.1.0",
                date(2026, 11, 2), currency, "Nhà hàng", Decimal(100), Decimal(8), Decimal(108),
                related,
            )  # fmt: skip
            marks = ", ".join(sql.param(value) for value in values)
            await dialect.connection().execute_query(
                "INSERT INTO invoices (id, seller_tax_code, template, series, number, sha256, "
                "version, issued_on, currency, seller_name, total_before_tax, total_tax, "
                "total_payable, related_id, name, buyer_name, is_cash_register, status, "
                "submitter, received_at, kind, seller_province, buyer_province) VALUES "
                f"({marks}, '', '', FALSE, 'accepted', '', CURRENT_TIMESTAMP, 'vat', '', '')",
                sql.values,
            )
    await migrate(empty_database)
    async with open_database(empty_database):
        store = InvoiceStore()
        corrected = await store.get(correction)
        assert corrected is not None
        assert corrected.related_key == InvoiceKey("0100109106", "1", "C26TAA", 1)
        assert (corrected.signer, corrected.fees, corrected.payment_method) == (None, None, None)
        assert [(await store.get(i)).currency for i in (original, symbol)] == ["VND", "VND"]


@pytest.mark.postgres
async def test_an_invoices_bytes_are_compressed_with_lz4_on_postgresql(
    postgres_database: str,
) -> None:
    async with open_database(postgres_database):
        rows = await dialect.connection().execute_query_dict(
            "SELECT attname::text, attcompression::text FROM pg_attribute "
            "WHERE attrelid = 'invoice_documents'::regclass AND attname IN ('original', 'stamped')"
        )
    assert {row["attname"]: row["attcompression"] for row in rows} == {
        "original": "l",
        "stamped": "l",
    }
