"""``gateway audit``: check the access log's hash chain."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from integrations.access.audit import AuditLog, VerifyReport
from integrations.store.database import open_database

if TYPE_CHECKING:
    from gateway.cli import SettingsContext


@click.group(name="audit")
def commands() -> None:
    """The access log of reads of personal data."""


@commands.command()
@click.pass_obj
def verify(ctx: SettingsContext) -> None:
    """Walk the hash chain; exit 1 at the first event changed, deleted or reordered."""
    report = asyncio.run(_verify(ctx.load().resolved_database_url))
    if not report.ok:
        click.echo(
            f"audit log broken at event {report.first_bad_id}: {report.problem} "
            f"({report.checked} events before it are intact)",
            err=True,
        )
        raise SystemExit(1)
    click.echo(f"audit log intact: {report.checked} events, head {report.head_hash}")


async def _verify(url: str) -> VerifyReport:
    async with open_database(url, migrate_first=True) as database:
        return await AuditLog(database).verify()
