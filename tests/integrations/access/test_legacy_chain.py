"""Migration 0007: the one chain written before it becomes the chain ``legacy``, and still
verifies with the checkpoints signed of it, beside the chains written after."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise.connection import get_connection

from integrations.access.audit import AuditLog, AuditRecord, ChainReport, Outcome
from integrations.access.chain import GENESIS, canonical_time, chain_hash
from integrations.access.checkpoints import CheckpointKeys, sign, signed_body
from integrations.einvoice.receipts import ReceiptSigner
from integrations.store.audit import Head
from integrations.store.database import migrate, open_database
from integrations.store.models import LEGACY_CHAIN, AuditCheckpoint, AuditEvent
from tests.conftest import POSTGRES_URL, _postgres_admin
from tests.integrations.store.test_database import _migrate_to
from tests.support.invoices import Keys

COLUMNS = ("at", "principal", "role", "subject", "domains", "fields_read", "purpose")
COLUMNS += ("case_ref", "consent_id", "outcome", "prev_hash", "hash")
AT = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def before_0007(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each backend migrated up to 0006, in loops of its own, before the test's."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'legacy.sqlite3'}"
        asyncio.run(_migrate_to(url, "0006_invoice_rollups"))
        yield url
        return
    request.getfixturevalue("postgres_database")  # skips or fails as the suite requires
    name = f"gateway_legacy_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
        asyncio.run(_migrate_to(url, "0006_invoice_rollups"))
        yield url
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def legacy_events(count: int) -> list[dict[str, Any]]:
    """Rows as the single chain stored them: chained from ``GENESIS``, with no chain name."""
    rows, prev_hash = [], GENESIS
    for n in range(count):
        at = AT + timedelta(seconds=n)
        payload = {
            "principal": "officer:o-1",
            "role": "officer",
            "subject": "079301000123",
            "domains": ["tax"],
            "fields": ["taxCode"],
            "purpose": "audit",
            "case_ref": f"C-{n}",
            "consent_id": None,
            "outcome": "allowed",
        }
        hashed = chain_hash({**payload, "at": canonical_time(at)}, prev_hash)
        row = {**payload, "at": at, "fields_read": payload["fields"], "prev_hash": prev_hash}
        rows.append({**row, "hash": hashed})
        prev_hash = hashed
    return rows


async def insert(backend: str, table: str, row: dict[str, Any], model: Any) -> None:
    """``row`` inserted as its model's fields store their values, by hand: the model of today
    has columns the table of before 0007 lacks."""
    marks = ", ".join(f"${n}" if backend == "postgres" else "?" for n in range(1, len(row) + 1))
    values = [model._meta.fields_map[name].to_db_value(v, model) for name, v in row.items()]
    await get_connection(backend).execute_query(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})", values
    )


async def test_the_chain_before_0007_verifies_as_the_legacy_chain_with_its_checkpoint(
    before_0007: str, intake_keys: Keys
) -> None:
    signer = ReceiptSigner(intake_keys.gateway)
    rows = legacy_events(3)
    async with open_database(before_0007) as database:
        for row in rows:
            await insert(database.backend, "audit_events", {c: row[c] for c in COLUMNS}, AuditEvent)
        head = Head(0, 3, rows[-1]["hash"])
        body = signed_body(at=AT, head=head, count=3, heads=None, previous=None)
        checkpoint = {"at": AT, "head_id": 3, "count": 3, "head_hash": head.hash}
        checkpoint |= {"key_id": signer.key_id, "signature": sign(signer, body)}
        await insert(database.backend, "audit_checkpoints", checkpoint, AuditCheckpoint)
    await migrate(before_0007)
    keys = CheckpointKeys.of([intake_keys.gateway.certificate])
    async with open_database(before_0007) as database:
        log = AuditLog(database)
        report = await log.verify(keys=keys)
        assert report.ok, report.problem
        assert report.chains == (ChainReport(LEGACY_CHAIN, 3, rows[-1]["hash"], 3),)
        assert (report.checkpoints, report.unprotected) == (1, 0)
        record = AuditRecord(
            "officer:o-2", "officer", "079301000123", ("tax",), (), Outcome.ALLOWED
        )
        await log.record_many([record, record])
        made = await log.checkpoint(ReceiptSigner(intake_keys.gateway))
        assert set(made.heads or {}) == {log.writer}
        assert made.count == 5
        report = await log.verify(keys=keys)
        assert report.ok, report.problem
        assert {(c.chain, c.events, c.signed) for c in report.chains} == {
            (LEGACY_CHAIN, 3, 3),
            (log.writer, 2, 2),
        }
        await AuditEvent.filter(chain=LEGACY_CHAIN, seq=3).delete()
        cut = await log.verify(keys=keys)
    assert not cut.ok
    assert cut.bad_chain == LEGACY_CHAIN
    assert "newest events were cut" in cut.problem
