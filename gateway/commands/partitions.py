"""``gateway partitions``: the monthly partitions of the invoices table on PostgreSQL.

``ensure`` is the maintenance run, meant for a monthly timer: ``gateway migrate`` makes the
next months too, but a fleet that is not upgraded for a quarter still needs next month's table.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from integrations.store import dialect
from integrations.store import partitions as store
from integrations.store.database import backend_of, open_database

if TYPE_CHECKING:
    from gateway.cli import SettingsContext


@click.group(name="partitions")
def commands() -> None:
    """Monthly partitions of the invoices (PostgreSQL)."""


@commands.command()
@click.option(
    "--ahead",
    type=click.IntRange(0, 120),
    default=store.AHEAD,
    show_default=True,
    help="Months to make after the current one.",
)
@click.pass_obj
def ensure(ctx: SettingsContext, ahead: int) -> None:
    """Make this month's partition and the next ones, and one for every month whose invoices
    wait in the default partition, moving them there. Safe to run again, or on two machines."""
    url = _postgres_url(ctx)
    made = asyncio.run(_ensure(url, ahead))
    click.echo(f"made {', '.join(made)}" if made else "every partition was already there")


@commands.command(name="list")
@click.pass_obj
def list_(ctx: SettingsContext) -> None:
    """Print each partition, its range and its rows as of the last ANALYZE."""
    for partition in asyncio.run(_list(_postgres_url(ctx))):
        rows = "not analysed yet" if partition.rows < 0 else f"~{partition.rows:,} rows"
        click.echo(f"{partition.name}  {partition.bounds}  {rows}")


def _postgres_url(ctx: SettingsContext) -> str:
    url = ctx.load().resolved_database_url
    if backend_of(url) != "postgres":
        raise click.UsageError(
            "invoices are partitioned on PostgreSQL only; SQLite keeps one table"
        )
    return url


async def _ensure(url: str, ahead: int) -> list[str]:
    async with open_database(url):
        return await store.ensure(dialect.connection(), today=datetime.now(UTC).date(), ahead=ahead)


async def _list(url: str) -> list[store.Partition]:
    async with open_database(url):
        return await store.partitions(dialect.connection())
