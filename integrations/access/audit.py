"""The access log: one hash-chained event per read of a person's data.

Each event's ``hash`` is SHA-256 over a canonical JSON of its fields and the previous event's
hash, so changing, deleting or reordering a stored event breaks the chain where it happened.
Appends are serialised (an asyncio lock in the process, a database lock across processes) so
the chain never forks. ``record_many`` appends all of one request's events under one lock, in one
transaction and one multi-row insert: the lock and the chain head are paid once per request, not
once per person read. A write that fails raises ``AuditUnavailable`` and writes none of the
events: callers refuse the read.

Rewriting the tail of the log together with every later hash is not detectable from the table
alone; ``VerifyReport.head_hash`` is what an operator anchors elsewhere to close that gap.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from integrations.access.errors import AuditUnavailable, InvalidCursor
from integrations.access.policy import Decision
from integrations.access.principal import Principal
from integrations.store.database import Database
from integrations.store.models import AuditEvent

GENESIS: Final = "0" * 64
MAX_PAGE: Final = 100
# Any fixed 64-bit number; it names the audit chain among PostgreSQL advisory locks.
ADVISORY_LOCK_KEY: Final = 0x6761_7465_6175_6469
# A no-op write takes SQLite's single write lock before the chain head is read, so a second
# process waits (busy timeout) instead of reading the same head and forking the chain.
SQLITE_WRITE_LOCK: Final = "UPDATE audit_events SET id = id WHERE id < 0"
# Written out rather than built per append: pypika's build costs more than the query.
HEAD: Final = "SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1"
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


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What happened, before it is chained: who read which domains and fields of whom, why."""

    principal: str
    role: str
    subject: str
    domains: tuple[str, ...]
    fields: tuple[str, ...]
    outcome: Outcome
    purpose: str = ""
    case_ref: str = ""
    consent_id: str | None = None
    at: datetime | None = None

    @classmethod
    def of_read(
        cls,
        principal: Principal,
        subject: str,
        domains: Iterable[str],
        fields: Iterable[str],
        decision: Decision,
    ) -> AuditRecord:
        """The record of one decided read, as the GraphQL layer reports it."""
        return cls(
            principal=principal.actor,
            role=principal.role.value,
            subject=subject,
            domains=tuple(domains),
            fields=tuple(fields),
            outcome=Outcome.ALLOWED if decision.allowed else Outcome.DENIED,
            purpose=principal.purpose,
            case_ref=principal.case_ref,
            consent_id=decision.consent_id,
        )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
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
class VerifyReport:
    """The result of walking the chain; ``first_bad_id`` is where it first breaks."""

    ok: bool
    checked: int
    head_hash: str
    first_bad_id: int | None = None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: tuple[StoredEvent, ...]
    end_cursor: str | None
    has_next_page: bool


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """Append to, read and check the access log of one database.

    ``await log.record(AuditRecord.of_read(principal, subject, domains, fields, decision))``
    before returning the data, or ``record_many`` with every record of one request; on
    ``AuditUnavailable`` refuse the read.
    """

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.database = database
        self.clock = clock
        self._lock = asyncio.Lock()

    async def record(self, event: AuditRecord) -> StoredEvent:
        """Append one event; see ``record_many``."""
        (stored,) = await self.record_many([event])
        return stored

    async def record_many(self, events: Iterable[AuditRecord]) -> list[StoredEvent]:
        """Append ``events`` to the chain in order, all or none; events without a time of
        their own get the same one. Raises ``AuditUnavailable`` when nothing was written."""
        pending = list(events)
        if not pending:
            return []
        now = self.clock()
        try:
            async with self._lock:
                return await self._append(pending, now)
        # Whatever stopped the write, the events are not in the log and the reads must not happen.
        except Exception as exc:
            raise AuditUnavailable(f"audit events not written: {exc}") from exc

    async def _append(self, events: list[AuditRecord], now: datetime) -> list[StoredEvent]:
        async with in_transaction(self.database.backend) as connection:
            await self._lock_chain(connection)
            head = await connection.execute_query_dict(HEAD)
            links = _chain(events, now, head[0]["hash"] if head else GENESIS)
            ids: dict[str, int] = {}
            for start in range(0, len(links), ROWS_PER_INSERT):
                chunk = links[start : start + ROWS_PER_INSERT]
                ids.update(await _insert(connection, self.database.backend, chunk))
            # Inside the transaction: an event the insert did not return is rolled back too.
            return [link.stored(ids[link.hash]) for link in links]

    async def _lock_chain(self, connection: BaseDBAsyncClient) -> None:
        if self.database.backend == "postgres":
            await connection.execute_query("SELECT pg_advisory_xact_lock($1)", [ADVISORY_LOCK_KEY])
        else:
            await connection.execute_query(SQLITE_WRITE_LOCK)

    async def verify(self, *, batch: int = 1000) -> VerifyReport:
        """Walk the whole chain in id order and report the first event that does not fit."""
        prev_hash, checked, last_id = GENESIS, 0, 0
        while rows := await AuditEvent.filter(id__gt=last_id).order_by("id").limit(batch):
            for row in rows:
                if row.prev_hash != prev_hash:
                    problem = "does not follow the event before it (one deleted or reordered)"
                    return VerifyReport(False, checked, prev_hash, row.id, problem)
                if chain_hash(_row_payload(row), row.prev_hash) != row.hash:
                    problem = "content does not match its hash (changed)"
                    return VerifyReport(False, checked, prev_hash, row.id, problem)
                prev_hash, checked = row.hash, checked + 1
            last_id = rows[-1].id
        return VerifyReport(True, checked, prev_hash)

    async def for_subject(
        self, subject: str, first: int = 20, after: str | None = None
    ) -> AuditPage:
        """Events about one person, newest first; ``first`` is capped at ``MAX_PAGE``."""
        size = max(1, min(first, MAX_PAGE))
        query = AuditEvent.filter(subject=subject)
        if after is not None:
            query = query.filter(id__lt=decode_cursor(after))
        rows = await query.order_by("-id").limit(size + 1)
        events = tuple(_stored(row) for row in rows[:size])
        end_cursor = encode_cursor(events[-1].id) if events else None
        return AuditPage(events, end_cursor, len(rows) > size)


def chain_hash(payload: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of payload + prev_hash."""
    canonical = json.dumps(
        {**payload, "prev_hash": prev_hash},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Link:
    """One event with its place in the chain, before the database gives it an id."""

    at: datetime
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def values(self) -> list[Any]:
        """The row's values in the order of ``COLUMNS``, lists as the model stores JSON."""
        payload, as_json = self.payload, AuditEvent._meta.fields_map["domains"]
        row = {
            **payload,
            "at": self.at,
            "domains": as_json.to_db_value(payload["domains"], AuditEvent),
            "fields_read": as_json.to_db_value(payload["fields"], AuditEvent),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
        return [row[name] for name in COLUMNS]

    def stored(self, event_id: int) -> StoredEvent:
        payload = self.payload
        return StoredEvent(
            id=event_id,
            at=self.at,
            principal=payload["principal"],
            role=payload["role"],
            subject=payload["subject"],
            domains=tuple(payload["domains"]),
            fields=tuple(payload["fields"]),
            purpose=payload["purpose"],
            case_ref=payload["case_ref"],
            consent_id=payload["consent_id"],
            outcome=payload["outcome"],
            prev_hash=self.prev_hash,
            hash=self.hash,
        )


def _chain(events: Iterable[AuditRecord], now: datetime, prev_hash: str) -> list[_Link]:
    links = []
    for event in events:
        at = event.at or now
        payload = _payload(event, at)
        link = _Link(at, payload, prev_hash, chain_hash(payload, prev_hash))
        links.append(link)
        prev_hash = link.hash
    return links


async def _insert(
    connection: BaseDBAsyncClient, backend: str, links: Sequence[_Link]
) -> dict[str, int]:
    """Insert ``links`` with one statement; the id of each, by its (unique) hash."""
    values = [value for link in links for value in link.values()]
    rows = await connection.execute_query_dict(_insert_sql(backend, len(links)), values)
    return {row["hash"]: row["id"] for row in rows}


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


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _payload(event: AuditRecord, at: datetime) -> dict[str, Any]:
    return {
        "at": _timestamp(at),
        "principal": event.principal,
        "role": event.role,
        "subject": event.subject,
        "domains": sorted(set(event.domains)),
        "fields": sorted(set(event.fields)),
        "purpose": event.purpose,
        "case_ref": event.case_ref,
        "consent_id": event.consent_id,
        "outcome": str(event.outcome),
    }


def _row_payload(row: AuditEvent) -> dict[str, Any]:
    return {
        "at": _timestamp(row.at),
        "principal": row.principal,
        "role": row.role,
        "subject": row.subject,
        "domains": row.domains,
        "fields": row.fields_read,
        "purpose": row.purpose,
        "case_ref": row.case_ref,
        "consent_id": row.consent_id,
        "outcome": row.outcome,
    }


def _stored(row: AuditEvent) -> StoredEvent:
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


def encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{event_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "audit" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeError):
        pass
    raise InvalidCursor(f"cursor {cursor!r} was not issued by the access log")
