from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli import SettingsContext
from gateway.commands.audit import commands
from integrations.access.audit import AuditLog, AuditRecord, Outcome
from integrations.store.database import open_database, sqlite_url

pytestmark = pytest.mark.usefixtures("clean_environ")


def run(data_dir: Path) -> Result:
    return CliRunner().invoke(
        commands, ["verify"], obj=SettingsContext(None), env={"GATEWAY_DATA_DIR": str(data_dir)}
    )


async def _record(url: str, count: int) -> None:
    async with open_database(url) as database:
        log = AuditLog(database)
        for n in range(count):
            record = AuditRecord(
                "officer:o",
                "officer",
                "079301000123",
                ("tax",),
                ("taxCode",),
                Outcome.ALLOWED,
                purpose="audit",
                case_ref=f"C-{n}",
            )
            await log.record(record)


def test_verify_reports_an_intact_log_and_then_the_changed_event(tmp_path: Path) -> None:
    assert "intact: 0 events" in run(tmp_path).output
    database = tmp_path / "gateway.sqlite3"
    asyncio.run(_record(sqlite_url(database), 3))
    intact = run(tmp_path)
    assert intact.exit_code == 0
    assert "intact: 3 events" in intact.output
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE audit_events SET case_ref = 'C-9' WHERE id = 2")
    broken = run(tmp_path)
    assert broken.exit_code == 1
    assert "broken at event 2" in broken.output
    assert "changed" in broken.output
