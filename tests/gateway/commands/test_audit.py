from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner, Result

from gateway.cli import SettingsContext
from gateway.commands.audit import commands
from gateway.keys import DemoPki
from integrations.access.audit import AuditLog, AuditRecord, Outcome
from integrations.store.database import open_database, sqlite_url
from tests.support.invoices import Keys

pytestmark = pytest.mark.usefixtures("clean_environ")


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        commands,
        list(args),
        obj=SettingsContext(None),
        env={"GATEWAY_DATA_DIR": str(data_dir), **(env or {})},
    )


async def _record(url: str, count: int) -> None:
    async with open_database(url, migrate_first=True) as database:
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


def record(data_dir: Path, count: int) -> None:
    asyncio.run(_record(sqlite_url(data_dir / "gateway.sqlite3"), count))


def verify_after(data_dir: Path, statement: str) -> Result:
    """``gateway audit verify`` once ``statement`` has changed the database behind its back."""
    with sqlite3.connect(data_dir / "gateway.sqlite3") as connection:
        connection.execute(statement)
    return run(data_dir, "verify")


@pytest.fixture
def data_dir(migrated_data_dir: Path, demo_pki: DemoPki) -> Path:
    """A gateway's data folder after its first start: its database and its PKI."""
    shutil.copytree(demo_pki.folder, migrated_data_dir / "pki")
    return migrated_data_dir


def says(result: Result, exit_code: int, *phrases: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert [p for p in phrases if p not in result.output] == []


def test_verify_reports_an_intact_log_and_then_the_changed_event(data_dir: Path) -> None:
    says(run(data_dir, "verify"), 0, "intact: 0 events")
    record(data_dir, 3)
    says(
        run(data_dir, "verify"),
        0,
        "intact: 3 events",
        "no checkpoint: all 3 events are unprotected",
    )
    broken = verify_after(data_dir, "UPDATE audit_events SET case_ref = 'C-9' WHERE id = 2")
    says(broken, 1, "broken at event 2", "changed")


def test_verify_holds_the_log_to_the_checkpoint_the_command_signed(data_dir: Path) -> None:
    record(data_dir, 3)
    made = run(data_dir, "checkpoint")
    says(made, 0, "checkpoint #1: 3 events up to event 3")
    token = made.output.splitlines()[-1]
    assert jwt.api_jws.get_unverified_header(token)["alg"] == "RS256"
    record(data_dir, 2)
    intact = run(data_dir, "verify")
    says(
        intact,
        0,
        "intact: 5 events",
        "1 checkpoint confirmed",
        "2 events after the last checkpoint",
    )
    cut = verify_after(data_dir, "DELETE FROM audit_events WHERE id > 2")
    says(cut, 1, "broken at checkpoint #1", "newest events were cut")
    says(run(data_dir, "checkpoint"), 1, "no checkpoint signed")


def test_verify_takes_the_certificate_of_a_retired_key(data_dir: Path, intake_keys: Keys) -> None:
    record(data_dir, 1)
    says(run(data_dir, "checkpoint"), 0)
    retired = data_dir / "pki" / "gateway.cert.pem"
    rotated = {
        "GATEWAY_SIGNING_KEY": str(intake_keys.gateway_key),
        "GATEWAY_SIGNING_CERT": str(intake_keys.gateway_cert),
    }
    says(run(data_dir, "verify", env=rotated), 1, "not one of the gateway's certificates")
    kept = run(data_dir, "verify", "--certificate", str(retired), env=rotated)
    says(kept, 0, "1 checkpoint confirmed")


def test_verify_reports_each_chain_and_the_chain_that_broke(data_dir: Path) -> None:
    record(data_dir, 2)
    says(run(data_dir, "checkpoint"), 0, "checkpoint #1: 2 events up to event 2", "  chain ")
    record(data_dir, 3)
    intact = run(data_dir, "verify")
    says(intact, 0, "intact: 5 events in 2 chains", "1 checkpoint confirmed")
    chains = {
        line.split()[1].rstrip(":"): line.split(": ", 1)[1].split(", ")
        for line in intact.output.splitlines()
        if line.startswith("  chain ")
    }
    first, second = sorted(chains, key=lambda name: chains[name][0])
    assert [chains[first][0], *chains[first][2:]] == [
        "2 events",
        "2 signed",
        "0 after its last checkpoint",
    ]
    assert [chains[second][0], *chains[second][2:]] == [
        "3 events",
        "0 signed",
        "3 after its last checkpoint",
    ]
    broken = verify_after(data_dir, "UPDATE audit_events SET case_ref = 'C-9' WHERE id = 4")
    says(broken, 1, "broken at event 4", f"(chain {second})", "changed")
