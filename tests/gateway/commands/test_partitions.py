"""``gateway partitions``: the maintenance run and the listing, on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli import SettingsContext
from gateway.commands.partitions import commands
from integrations.store import partitions
from integrations.store.database import open_database
from integrations.store.invoices import InvoiceStore
from tests.conftest import EMPTIER
from tests.integrations.store.invoice_factory import make_record

pytestmark = pytest.mark.usefixtures("clean_environ")


def run(tmp_path: Path, url: str, *args: str) -> Result:
    return CliRunner().invoke(
        commands,
        list(args),
        obj=SettingsContext(None),
        env={"GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_DATABASE_URL": url},
    )


async def _store_old_invoice(url: str) -> None:
    async with open_database(url):
        await InvoiceStore().insert(make_record(issued_on=date(2018, 7, 9), series="C18TAA"))


@pytest.mark.postgres
def test_ensure_moves_a_waiting_month_out_of_default_then_has_nothing_to_do(
    tmp_path: Path, postgres_database: str
) -> None:
    EMPTIER.empty(postgres_database)
    asyncio.run(_store_old_invoice(postgres_database))

    first = run(tmp_path, postgres_database, "ensure", "--ahead", "5")
    assert first.exit_code == 0, first.output
    this_month = datetime.now(UTC).date().replace(day=1)
    fifth = partitions.month_name(partitions.add_months(this_month, 5))
    assert "invoices_2018_07" in first.output
    assert fifth in first.output

    again = run(tmp_path, postgres_database, "ensure")
    assert again.output.strip() == "every partition was already there"
    listed = run(tmp_path, postgres_database, "list").output.splitlines()
    assert listed[0].startswith(
        "invoices_2018_07  FOR VALUES FROM ('2018-07-01') TO ('2018-08-01')"
    )
    assert listed[-1].startswith("invoices_default  DEFAULT")


def test_sqlite_has_no_partitions_to_make(tmp_path: Path) -> None:
    result = run(tmp_path, f"sqlite://{tmp_path / 'gateway.sqlite3'}", "ensure")
    assert result.exit_code == 2
    assert "partitioned on PostgreSQL only" in result.output
