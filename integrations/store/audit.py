"""The access log's tables: each writer's chain of events, the chains, and the signed checkpoints.

Hashing and signing belong to ``integrations.access``; this module stores and reads their rows.
Each writer appends to a chain of its own (``AuditStore.append``) and takes no lock but its
transaction's: the unique (chain, seq) refuses a second event at one place of a chain, so a
chain never forks even if two processes shared a writer id. Checkpoints are serialised among
themselves by a lock that appends never take (``AuditStore.checkpointing``: a PostgreSQL
advisory lock, or SQLite's single write lock taken up front), so each one follows the last.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from integrations.store.database import Database
from integrations.store.models import AuditChain, AuditCheckpoint, AuditEvent

# Any fixed 64-bit number; it names the checkpoints among PostgreSQL advisory locks.
CHECKPOINT_LOCK_KEY: Final = 0x6761_7465_6175_6469
# A no-op write takes SQLite's single write lock before the heads are read, so a second
# process waits (busy timeout) instead of signing after the same checkpoint.
SQLITE_WRITE_LOCK: Final = "UPDATE audit_checkpoints SET id = id WHERE id < 0"
# Written out rather than built per append: pypika's build costs more than the query.
HEAD_OF_CHAIN: Final = (
    "SELECT seq, id, hash FROM audit_events WHERE chain = $1 ORDER BY seq DESC LIMIT 1"
)
# Each chain's newest event, found through the (chain, seq) index: one lookup per chain.
HEADS: Final = (
    "SELECT e.chain, e.seq, e.id, e.hash FROM audit_chains c JOIN audit_events e"
    " ON e.chain = c.chain"
    " AND e.seq = (SELECT MAX(m.seq) FROM audit_events m WHERE m.chain = c.chain)"
)
HASH_AT: Final = "SELECT hash FROM audit_events WHERE chain = $1 AND seq = $2"
REGISTER: Final = (
    "INSERT INTO audit_chains (chain, started_at, signed_seq, signed_hash)"
    " VALUES ($1, $2, 0, '') ON CONFLICT (chain) DO NOTHING"
)
MARK_SIGNED: Final = "UPDATE audit_chains SET signed_seq = $1, signed_hash = $2 WHERE chain = $3"
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
    "chain",
    "seq",
)
# 14 parameters a row keeps one statement well under both backends' limit of 32,766 or 32,767.
ROWS_PER_INSERT: Final = 1000


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """One read of a person's data with its place in its chain, before it has an id."""

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
    chain: str
    seq: int


@dataclass(frozen=True, slots=True)
class StoredEvent(ChainedEvent):
    id: int


@dataclass(frozen=True, slots=True)
class Head:
    """A chain's newest event: its place ``seq`` (so also the chain's count), id and hash."""

    seq: int
    id: int
    hash: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of the log's heads: ``count`` events in all, the newest ``head_id``
    with ``head_hash``, and ``heads``, the head of each chain that moved since the checkpoint
    before (``None`` for a checkpoint of the one chain before 0007, whose head is the row's).
    ``signature`` is the compact JWS over all of it, made with ``key_id``."""

    id: int
    at: datetime
    head_id: int
    count: int
    head_hash: str
    key_id: str
    signature: str
    heads: Mapping[str, Head] | None = None


class AuditStore:
    """The access log's rows in one database."""

    def __init__(self, database: Database) -> None:
        self.backend = database.backend

    async def head_of(self, chain: str) -> Head | None:
        """The newest event of ``chain``, or ``None`` while it has none."""
        rows = await self._connection().execute_query_dict(self._sql(HEAD_OF_CHAIN), [chain])
        return _head(rows[0]) if rows else None

    async def append(
        self, chain: str, events: Sequence[ChainedEvent], *, started_at: datetime | None = None
    ) -> list[StoredEvent]:
        """Insert ``events`` in one transaction, one statement per ``ROWS_PER_INSERT``; with
        ``started_at``, first add the chain's row, for a writer's first events.

        One statement is a transaction of its own, so the usual append (a registered chain, up
        to ``ROWS_PER_INSERT`` events) sends just that: no BEGIN and COMMIT around it, which on
        SQLite are three more hand-overs to its thread and on PostgreSQL two more round trips.
        """
        if started_at is None and len(events) <= ROWS_PER_INSERT:
            return await self._insert(self._connection(), events)
        async with in_transaction(self.backend) as connection:
            if started_at is not None:
                at = AuditChain._meta.fields_map["started_at"].to_db_value(started_at, AuditChain)
                await connection.execute_query(self._sql(REGISTER), [chain, at])
            return await self._insert(connection, events)

    @asynccontextmanager
    async def checkpointing(self) -> AsyncIterator[CheckpointWriter]:
        """One transaction holding the checkpoint lock: everything written in it commits or none."""
        async with in_transaction(self.backend) as connection:
            if self.backend == "postgres":
                await connection.execute_query(
                    "SELECT pg_advisory_xact_lock($1)", [CHECKPOINT_LOCK_KEY]
                )
            else:
                await connection.execute_query(SQLITE_WRITE_LOCK)
            yield CheckpointWriter(connection, self._sql)

    async def events_in_chains(self, after: tuple[str, int], limit: int) -> list[StoredEvent]:
        """The next ``limit`` events after (chain, seq) ``after``, chain by chain in order."""
        chain, seq = after
        later = Q(chain__gt=chain) | Q(chain=chain, seq__gt=seq)
        query = AuditEvent.filter(later).using_db(self._connection())
        return [_event(row) for row in await query.order_by("chain", "seq").limit(limit)]

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

    async def _insert(
        self, connection: BaseDBAsyncClient, events: Sequence[ChainedEvent]
    ) -> list[StoredEvent]:
        ids: dict[str, int] = {}
        for start in range(0, len(events), ROWS_PER_INSERT):
            chunk = events[start : start + ROWS_PER_INSERT]
            values = [value for event in chunk for value in _values(event)]
            rows = await connection.execute_query_dict(
                _insert_sql(self.backend, len(chunk)), values
            )
            ids.update((row["hash"], row["id"]) for row in rows)
        # An event the insert did not return fails the append; inside a transaction it also
        # rolls it back. (A plain multi-row INSERT returns every row it inserts.)
        return [_with_id(event, ids[event.hash]) for event in events]

    def _sql(self, statement: str) -> str:
        """``statement`` with SQLite's placeholders where it runs on SQLite."""
        return statement if self.backend == "postgres" else re.sub(r"\$\d+", "?", statement)

    def _connection(self) -> BaseDBAsyncClient:
        return get_connection(self.backend)


class CheckpointWriter:
    """Reads and writes inside ``AuditStore.checkpointing()``'s transaction."""

    def __init__(self, connection: BaseDBAsyncClient, sql: Callable[[str], str]) -> None:
        self.connection = connection
        self._sql = sql

    async def heads(self) -> dict[str, Head]:
        """The newest event of every chain."""
        rows = await self.connection.execute_query_dict(HEADS)
        return {row["chain"]: _head(row) for row in rows}

    async def signed(self) -> dict[str, tuple[int, str]]:
        """The (seq, hash) of every chain's head the last checkpoint signing it signed."""
        query = AuditChain.filter(signed_seq__gt=0).using_db(self.connection)
        return {row.chain: (row.signed_seq, row.signed_hash) for row in await query}

    async def hash_at(self, chain: str, seq: int) -> str | None:
        rows = await self.connection.execute_query_dict(self._sql(HASH_AT), [chain, seq])
        return rows[0]["hash"] if rows else None

    async def last_checkpoint(self) -> Checkpoint | None:
        query = AuditCheckpoint.all().using_db(self.connection)
        row = await query.order_by("-id").first()
        return None if row is None else _checkpoint(row)

    async def add_checkpoint(
        self,
        *,
        at: datetime,
        head: Head,
        count: int,
        heads: Mapping[str, Head],
        key_id: str,
        signature: str,
    ) -> Checkpoint:
        """Store the checkpoint and remember each of ``heads`` as its chain's signed head."""
        row = await AuditCheckpoint.create(
            using_db=self.connection,
            at=at,
            head_id=head.id,
            count=count,
            head_hash=head.hash,
            heads={chain: [h.seq, h.id, h.hash] for chain, h in heads.items()},
            key_id=key_id,
            signature=signature,
        )
        for chain, signed in heads.items():
            await self.connection.execute_query(
                self._sql(MARK_SIGNED), [signed.seq, signed.hash, chain]
            )
        return _checkpoint(row)


def _head(row: Mapping[str, Any]) -> Head:
    return Head(row["seq"], row["id"], row["hash"])


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
        chain=row.chain,
        seq=row.seq,
    )


def _checkpoint(row: AuditCheckpoint) -> Checkpoint:
    heads = None if row.heads is None else {c: Head(*h) for c, h in row.heads.items()}
    return Checkpoint(
        id=row.id,
        at=row.at,
        head_id=row.head_id,
        count=row.count,
        head_hash=row.head_hash,
        key_id=row.key_id,
        signature=row.signature,
        heads=heads,
    )
