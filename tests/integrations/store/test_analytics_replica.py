"""Officer analytics on a database of their own (``open_database(analytics_url=...)``).

No replica can be set up here: the analytics database is a second database of each backend
holding invoices the primary lacks, so every answer shows which of the two it came from. On
PostgreSQL ``as_of`` runs its real query (a primary there, so the current time).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrations.errors import StoreError
from integrations.store import dialect
from integrations.store.analytics import GroupBy, InvoiceAnalytics, InvoiceFilter
from integrations.store.database import open_database
from integrations.store.invoices import InvoiceStore
from integrations.store.models import Invoice
from tests.integrations.store.invoice_factory import generate

UNREACHABLE = "postgres://postgres@127.0.0.1:1/gateway"
"""A PostgreSQL URL nothing listens on."""


async def test_analytics_read_their_own_database_and_the_primary_stays_the_orms(
    database_url: str, migrated_sqlite: Path, tmp_path: Path
) -> None:
    made = generate(12, seed=3)
    async with open_database(database_url):
        for invoice in made:
            await InvoiceStore().insert(invoice.record)
    primary = tmp_path / "primary.sqlite3"
    shutil.copyfile(migrated_sqlite, primary)
    before = datetime.now(UTC)

    async with open_database(f"sqlite://{primary}", analytics_url=database_url):
        analytics = InvoiceAnalytics()
        page = await analytics.search(InvoiceFilter(), first=100)
        summary = await analytics.summarise(InvoiceFilter(), (GroupBy.MONTH,))
        buyers = await analytics.count_buyers(InvoiceFilter())
        on_primary = await Invoice.all().count()
        as_of, again = await analytics.as_of(), await analytics.as_of()
    assert not dialect.has_replica(), "closed with the database"

    assert {row.id for row in page.items} == {g.record.id for g in made}
    assert sum(row.count for row in summary) == len(made)
    assert buyers > 0
    assert on_primary == 0
    assert as_of is not None
    assert as_of == again
    assert before - timedelta(seconds=5) <= as_of <= datetime.now(UTC)


async def test_without_an_analytics_database_they_read_the_primary(database_url: str) -> None:
    made = generate(5, seed=4)
    async with open_database(database_url):
        for invoice in made:
            await InvoiceStore().insert(invoice.record)
        analytics = InvoiceAnalytics()
        page = await analytics.search(InvoiceFilter(), first=100)
        replica = dialect.has_replica()
        as_of = await analytics.as_of()

    assert len(page.items) == len(made)
    assert not replica
    assert as_of is not None
    assert datetime.now(UTC) - as_of < timedelta(minutes=1)


async def test_an_unreachable_analytics_database_fails_only_the_analytics(
    migrated_sqlite: Path, tmp_path: Path
) -> None:
    primary = tmp_path / "primary.sqlite3"
    shutil.copyfile(migrated_sqlite, primary)
    made = generate(1, seed=6)

    async with open_database(f"sqlite://{primary}", analytics_url=UNREACHABLE):
        await InvoiceStore().insert(made[0].record)
        stored = await Invoice.all().count()
        with pytest.raises(StoreError, match="analytics database cannot be reached"):
            await InvoiceAnalytics().search(InvoiceFilter())

    assert stored == 1
