"""Migrations 0006 and 0008 roll up the invoices stored before them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from integrations.store import dialect, rollups
from integrations.store.analytics import GroupBy, InvoiceFilter
from integrations.store.database import migrate, open_database
from integrations.store.dialect import Sql
from tests.integrations.store.invoice_factory import SELLERS
from tests.integrations.store.test_database import _migrate_to, empty_database
from tests.integrations.store.test_rollups import both_ways

__all__ = ["empty_database"]  # the fixture of the schema's own tests, a database per backend


@pytest.fixture
def postgres_first(request: pytest.FixtureRequest) -> None:
    """The session's PostgreSQL set up before ``empty_database`` asks for it from its loop,
    where the session fixture, which runs loops of its own, cannot start."""
    if "postgres" in request.node.callspec.id:
        request.getfixturevalue("postgres_database")


async def test_the_migration_rolls_up_the_invoices_already_held(
    postgres_first: None, empty_database: str
) -> None:
    """0006 fills the roll-ups from invoices stored before it, lines and currencies alike."""
    await _migrate_to(empty_database, "0005_invoice_fidelity")
    async with open_database(empty_database):
        for number, currency, rate in ((1, "VND", None), (2, "USD", Decimal("25430.5"))):
            await _insert_raw(number, currency, rate)
    await migrate(empty_database)
    async with open_database(empty_database):
        for group_by in ((), (GroupBy.TAX_RATE, GroupBy.MONTH)):
            rolled, summed = await both_ways(InvoiceFilter(), group_by)
            assert rolled == summed
            assert [row.count for row in rolled] == [1, 1]


async def test_the_migration_rolls_up_the_buyers_already_held(
    postgres_first: None, empty_database: str
) -> None:
    """0008 holds each buyer of the invoices stored before it once, per currency."""
    await _migrate_to(empty_database, "0007_audit_chain_per_writer")
    async with open_database(empty_database):
        for number, currency, rate, buyer in (
            (1, "VND", None, "001099012345"),
            (2, "VND", None, "001099012345"),
            (3, "VND", None, None),
            (4, "USD", Decimal("25430.5"), "079301000123"),
        ):
            await _insert_raw(number, currency, rate, buyer)
        # The intake of 0006 and 0007 kept the sums, not yet the buyers.
        await rollups.rebuild(tables=rollups.SUMS)
    await migrate(empty_database)
    async with open_database(empty_database):
        for group_by in ((), (GroupBy.MONTH, GroupBy.SELLER)):
            rolled, summed = await both_ways(InvoiceFilter(), group_by, distinct_buyers=True)
            assert rolled == summed
            assert [(row.count, row.buyers) for row in rolled] == [(1, 1), (3, 1)]


async def _insert_raw(
    number: int, currency: str, rate: Decimal | None, buyer: str | None = None
) -> None:
    """An invoice with one 8% line, written as the intake wrote it before 0006, its buyer by
    personal ID."""
    connection = dialect.connection()
    invoice_id = uuid.uuid4()
    sql = Sql(connection.capabilities.dialect)
    values = (
        invoice_id, SELLERS[0], "1", "C26TAA", number, f"{number:064x}", "2.1.0",
        date(2026, 11, 2), currency, rate, "Nhà hàng", Decimal(100), Decimal(8), Decimal(108),
        buyer,
    )  # fmt: skip
    await connection.execute_query(
        "INSERT INTO invoices (id, seller_tax_code, template, series, number, sha256, version, "
        "issued_on, currency, exchange_rate, seller_name, total_before_tax, total_tax, "
        "total_payable, buyer_personal_id, name, buyer_name, is_cash_register, status, submitter, "
        "received_at, kind, seller_province, buyer_province) VALUES "
        f"({', '.join(sql.param(v) for v in values)}, '', '', FALSE, 'accepted', '', "
        "CURRENT_TIMESTAMP, 'vat', '', '')",
        sql.values,
    )
    sql = Sql(connection.capabilities.dialect)
    values = (invoice_id, 1, 1, "Phở", Decimal(100), "8%", Decimal(8))
    await connection.execute_query(
        "INSERT INTO invoice_lines (invoice_id, position, nature, name, amount, tax_rate, "
        f"tax_percent, item_code, unit) VALUES ({', '.join(sql.param(v) for v in values)}, '', '')",
        sql.values,
    )
