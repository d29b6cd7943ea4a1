"""The access log's tables: events appended under one chain lock, read in order or per person,
and the signed checkpoints of the chain's head.

Hashing and signing belong to ``integrations.access``; this module stores and reads their rows.
Appends and checkpoints go through ``AuditStore.chain()``, one transaction holding the chain
lock (a PostgreSQL advisory lock, or SQLite's single write lock taken up front), so the head
one of them reads is still the head when it writes, even across processes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from integrations.store.database import Database
from integrations.store.models import AuditCheckpoint, AuditEvent

# Any fixed 64-bit number; it names the audit chain among PostgreSQL advisory locks.
ADVISORY_LOCK_KEY: Final = 0x6761_7465_6175_6469
# A no-op write takes SQLite's single write lock before the chain head is read, so a second
# process waits (busy timeout) instead of reading the same head and forking the chain.
SQLITE_WRITE_LOCK: Final = "UPDATE audit_events SET id = id WHERE id < 0"
# Written out rather than built per append: pypika's build costs more than the query.
HEAD: Final = "SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1"
# Model fields in the order of the insert's columns.
COLUMNS: Final = (
    "at",
    "principal",
    "role",
    "subject",
    "domains",
    "fields_read",
    "purpose",
    "case_ref",
    "consent_id",
    "outcome",
    "prev_hash",
    "hash",
)
# 12 parameters a row keeps one statement well under both backends' limit of 32,766 or 32,767.
ROWS_PER_INSERT: Final = 1000


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """One read of a person's data with its place in the chain, before it has an id."""

    at: datetime
    principal: str
    role: str
    subject: str
    domains: tuple[str, ...]
    fields: tuple[str, ...]
    purpose: str
    case_ref: str
    consent_id: str | None
    outcome: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class StoredEvent(ChainedEvent):
    id: int


@dataclass(frozen=True, slots=True)
class Head:
    """The newest event of the chain: its id and hash."""

    id: int
    hash: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of the chain's head: ``count`` events up to ``head_id``, whose hash
    is ``head_hash``. ``signature`` is the compact JWS over all of it, made with ``key_id``."""

    id: int
    at: datetime
    head_id: int
    count: int
    head_hash: str
    key_id: str
    signature: str


class AuditStore:
    """The access log's rows in one database."""

    def __init__(self, database: Database) -> None:
        self.backend = database.backend

    @asynccontextmanager
    async def chain(self) -> AsyncIterator[ChainWriter]:
        """One transaction holding the chain lock: everything written in it commits or none."""
        async with in_transaction(self.backend) as connection:
            if self.backend == "postgres":
                await connection.execute_query(
                    "SELECT pg_advisory_xact_lock($1)", [ADVISORY_LOCK_KEY]
                )
            else:
                await connection.execute_query(SQLITE_WRITE_LOCK)
            yield ChainWriter(connection, self.backend)

    async def events_after(self, event_id: int, limit: int) -> list[StoredEvent]:
        """The next ``limit`` events after ``event_id``, oldest first."""
        query = AuditEvent.filter(id__gt=event_id).using_db(self._connection())
        return [_event(row) for row in await query.order_by("id").limit(limit)]

    async def events_about(
        self, subject: str, *, before: int | None, limit: int
    ) -> list[StoredEvent]:
        """Up to ``limit`` events about one person, newest first, older than ``before``."""
        query = AuditEvent.filter(subject=subject).using_db(self._connection())
        if before is not None:
            query = query.filter(id__lt=before)
        return [_event(row) for row in await query.order_by("-id").limit(limit)]

    async def checkpoints_after(self, checkpoint_id: int, limit: int) -> list[Checkpoint]:
        """The next ``limit`` checkpoints after ``checkpoint_id``, oldest first."""
        query = AuditCheckpoint.filter(id__gt=checkpoint_id).using_db(self._connection())
        return [_checkpoint(row) for row in await query.order_by("id").limit(limit)]

    def _connection(self) -> BaseDBAsyncClient:
        return get_connection(self.backend)


class ChainWriter:
    """Reads and writes inside ``AuditStore.chain()``'s transaction."""

    def __init__(self, connection: BaseDBAsyncClient, backend: str) -> None:
        self.connection = connection
        self.backend = backend

    async def head(self) -> Head | None:
        rows = await self.connection.execute_query_dict(HEAD)
        return Head(rows[0]["id"], rows[0]["hash"]) if rows else None

    async def hash_of(self, event_id: int) -> str | None:
        row = await AuditEvent.get_or_none(id=event_id, using_db=self.connection)
        return None if row is None else row.hash

    async def count_after(self, event_id: int) -> int:
        return await AuditEvent.filter(id__gt=event_id).using_db(self.connection).count()

    async def insert(self, events: Sequence[ChainedEvent]) -> list[StoredEvent]:
        """Insert ``events`` with one statement per ``ROWS_PER_INSERT``; each with its id."""
        ids: dict[str, int] = {}
        for start in range(0, len(events), ROWS_PER_INSERT):
            chunk = events[start : start + ROWS_PER_INSERT]
            values = [value for event in chunk for value in _values(event)]
            rows = await self.connection.execute_query_dict(
                _insert_sql(self.backend, len(chunk)), values
            )
            ids.update((row["hash"], row["id"]) for row in rows)
        # Inside the transaction: an event the insert did not return rolls the append back.
        return [_with_id(event, ids[event.hash]) for event in events]

    async def last_checkpoint(self) -> Checkpoint | None:
        query = AuditCheckpoint.all().using_db(self.connection)
        row = await query.order_by("-id").first()
        return None if row is None else _checkpoint(row)

    async def add_checkpoint(
        self, *, at: datetime, head_id: int, count: int, head_hash: str, key_id: str, signature: str
    ) -> Checkpoint:
        row = await AuditCheckpoint.create(
            using_db=self.connection,
            at=at,
            head_id=head_id,
            count=count,
            head_hash=head_hash,
            key_id=key_id,
            signature=signature,
        )
        return _checkpoint(row)


def _values(event: ChainedEvent) -> list[Any]:
    """The row's values in the order of ``COLUMNS``, lists as the model stores JSON."""
    as_json = AuditEvent._meta.fields_map["domains"]
    row = {
        **{f.name: getattr(event, f.name) for f in fields(ChainedEvent)},
        "domains": as_json.to_db_value(list(event.domains), AuditEvent),
        "fields_read": as_json.to_db_value(list(event.fields), AuditEvent),
    }
    return [row[name] for name in COLUMNS]


def _insert_sql(backend: str, rows: int) -> str:
    """The multi-row INSERT ... RETURNING, written out: pypika takes longer to build one of a
    hundred rows than the database takes to run it."""
    width = len(COLUMNS)
    if backend == "postgres":
        groups = [
            "(" + ",".join(f"${row * width + n}" for n in range(1, width + 1)) + ")"
            for row in range(rows)
        ]
    else:
        groups = ["(" + ",".join("?" * width) + ")"] * rows
    columns = ",".join(f'"{AuditEvent._meta.fields_db_projection[name]}"' for name in COLUMNS)
    table = AuditEvent._meta.db_table
    return f'INSERT INTO "{table}" ({columns}) VALUES {",".join(groups)} RETURNING "id","hash"'


def _with_id(event: ChainedEvent, event_id: int) -> StoredEvent:
    return StoredEvent(id=event_id, **{f.name: getattr(event, f.name) for f in fields(event)})


def _event(row: AuditEvent) -> StoredEvent:
    return StoredEvent(
        id=row.id,
        at=row.at,
        principal=row.principal,
        role=row.role,
        subject=row.subject,
        domains=tuple(row.domains),
        fields=tuple(row.fields_read),
        purpose=row.purpose,
        case_ref=row.case_ref,
        consent_id=row.consent_id,
        outcome=row.outcome,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _checkpoint(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(**{f.name: getattr(row, f.name) for f in fields(Checkpoint)})
