"""The access log: one hash-chained event per read of a person's data, and signed checkpoints.

Events are chained by hash (``integrations.access.chain``): changing, deleting or reordering one
breaks the chain where it happened. Appends are serialised (an asyncio lock in the process, the
store's chain lock across processes) so the chain never forks. ``record_many`` appends all of one
request's events under one lock, in one transaction and one multi-row insert: the lock and the
chain head are paid once per request, not once per person read. A write that fails raises
``AuditUnavailable`` and writes none of the events: callers refuse the read.

A chain that holds together may still have lost its newest events, or been rewritten whole with
recomputed hashes. ``checkpoint`` signs the head under the same lock, and ``verify`` holds the
chain to every checkpoint (``integrations.access.checkpoints``); events after the newest
checkpoint are covered by none until the next.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from integrations.access.chain import GENESIS, chain_hash, link_problem, payload_of
from integrations.access.checkpoints import (
    CheckpointKeys,
    CheckpointProblem,
    CheckpointRefused,
    CheckpointSigner,
    CheckpointWalk,
    sign,
    signed_body,
)
from integrations.access.errors import AuditUnavailable, InvalidCursor
from integrations.access.policy import Decision
from integrations.access.principal import Principal
from integrations.store.audit import (
    AuditStore,
    ChainedEvent,
    ChainWriter,
    Checkpoint,
    Head,
    StoredEvent,
)
from integrations.store.database import Database

MAX_PAGE: Final = 100
MAX_EVENT_ID: Final = 2**63 - 1
"""The largest id of a BIGINT column; a cursor past it was never issued."""
MAX_CURSOR_CHARS: Final = 64


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
class VerifyReport:
    """The result of walking the chain and its checkpoints.

    ``first_bad_id`` is the event where the chain first breaks; ``bad_checkpoint_id`` the
    checkpoint the chain no longer matches (cut or rewritten) or that is not as signed.
    ``latest_checkpoint`` is the newest checkpoint confirmed, and ``unprotected`` counts the
    events after it: deleting those would not show.
    """

    ok: bool
    checked: int
    head_hash: str
    first_bad_id: int | None = None
    problem: str = ""
    bad_checkpoint_id: int | None = None
    checkpoints: int = 0
    latest_checkpoint: Checkpoint | None = None
    unprotected: int = 0


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: tuple[StoredEvent, ...]
    end_cursor: str | None
    has_next_page: bool


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """Append to, read, checkpoint and check the access log of one database.

    ``await log.record(AuditRecord.of_read(principal, subject, domains, fields, decision))``
    before returning the data, or ``record_many`` with every record of one request; on
    ``AuditUnavailable`` refuse the read.
    """

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.database = database
        self.clock = clock
        self.store = AuditStore(database)
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
            async with self._lock, self.store.chain() as chain:
                head = await chain.head()
                return await chain.insert(_chain(pending, now, head.hash if head else GENESIS))
        # Whatever stopped the write, the events are not in the log and the reads must not happen.
        except Exception as exc:
            raise AuditUnavailable(f"audit events not written: {exc}") from exc

    async def checkpoint(
        self, signer: CheckpointSigner, *, reuse_within: timedelta = timedelta(0)
    ) -> Checkpoint:
        """Sign the chain's head, its event count and hash, under the chain lock.

        The last checkpoint is returned instead when the head has not moved since, or when it
        is younger than ``reuse_within`` (so that several workers on one interval sign about
        once per interval). Raises ``CheckpointRefused`` when the chain no longer extends it.
        """
        async with self._lock, self.store.chain() as chain:
            head = await chain.head() or Head(0, GENESIS)
            last = await chain.last_checkpoint()
            at = self.clock()
            if last is not None:
                await _check_extends(chain, last, head)
                if last.head_id == head.id or at - last.at < reuse_within:
                    return last
            since = 0 if last is None else last.head_id
            count = (0 if last is None else last.count) + await chain.count_after(since)
            body = signed_body(
                at=at, head_id=head.id, count=count, head_hash=head.hash, previous=last
            )
            return await chain.add_checkpoint(
                at=at,
                head_id=head.id,
                count=count,
                head_hash=head.hash,
                key_id=signer.key_id,
                signature=sign(signer, body),
            )

    async def verify(
        self, *, keys: CheckpointKeys | None = None, batch: int = 1000
    ) -> VerifyReport:
        """Walk the whole chain in id order, holding it to every checkpoint on the way.

        Reports the first event that does not fit, or the first checkpoint the chain does not
        match or that ``keys`` (the gateway's certificates) do not show as signed by it.
        """
        walk = CheckpointWalk(self._checkpoints(batch), keys)
        prev_hash, checked, last_id = GENESIS, 0, 0
        broken = await walk.start()
        while broken is None and (events := await self.store.events_after(last_id, batch)):
            for event in events:
                if problem := link_problem(event, prev_hash):
                    return VerifyReport(False, checked, prev_hash, event.id, problem)
                prev_hash, checked = event.hash, checked + 1
                if walk.due(event.id) and (broken := await walk.reached(event, checked)):
                    break
            last_id = events[-1].id
        broken = broken or walk.end(last_id, checked)
        if broken is not None:
            return _broken(broken, checked, prev_hash)
        latest = walk.latest
        return VerifyReport(
            True,
            checked,
            prev_hash,
            checkpoints=walk.confirmed,
            latest_checkpoint=latest,
            unprotected=checked - (latest.count if latest else 0),
        )

    async def _checkpoints(self, batch: int) -> AsyncIterator[Checkpoint]:
        last_id = 0
        while checkpoints := await self.store.checkpoints_after(last_id, batch):
            for checkpoint in checkpoints:
                yield checkpoint
            last_id = checkpoints[-1].id

    async def for_subject(
        self, subject: str, first: int = 20, after: str | None = None
    ) -> AuditPage:
        """Events about one person, newest first; ``first`` is capped at ``MAX_PAGE``."""
        size = max(1, min(first, MAX_PAGE))
        before = None if after is None else decode_cursor(after)
        rows = await self.store.events_about(subject, before=before, limit=size + 1)
        events = tuple(rows[:size])
        end_cursor = encode_cursor(events[-1].id) if events else None
        return AuditPage(events, end_cursor, len(rows) > size)


async def _check_extends(chain: ChainWriter, last: Checkpoint, head: Head) -> None:
    """Refuse to sign a head that does not extend ``last``: that would sign over a cut."""
    if head.id < last.head_id:
        raise CheckpointRefused(
            f"the log ends at event {head.id}, behind checkpoint #{last.id} (event "
            f"{last.head_id}): its newest events were cut"
        )
    if last.head_id and await chain.hash_of(last.head_id) != last.head_hash:
        raise CheckpointRefused(
            f"event {last.head_id} is gone or no longer has the hash checkpoint #{last.id} "
            "signed: the log was rewritten"
        )


def _broken(problem: CheckpointProblem, checked: int, head_hash: str) -> VerifyReport:
    return VerifyReport(
        False,
        checked,
        head_hash,
        problem=problem.message,
        bad_checkpoint_id=problem.checkpoint_id,
    )


def _chain(events: Iterable[AuditRecord], now: datetime, prev_hash: str) -> list[ChainedEvent]:
    chained = []
    for event in events:
        unhashed = ChainedEvent(
            at=event.at or now,
            principal=event.principal,
            role=event.role,
            subject=event.subject,
            domains=tuple(sorted(set(event.domains))),
            fields=tuple(sorted(set(event.fields))),
            purpose=event.purpose,
            case_ref=event.case_ref,
            consent_id=event.consent_id,
            outcome=str(event.outcome),
            prev_hash=prev_hash,
            hash="",
        )
        prev_hash = chain_hash(payload_of(unhashed), prev_hash)
        chained.append(replace(unhashed, hash=prev_hash))
    return chained


def encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{event_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The event id in ``cursor``; ``InvalidCursor`` for anything ``encode_cursor`` never made,
    before the id reaches a query (one past 64 bits would overflow the column there)."""
    if len(cursor) <= MAX_CURSOR_CHARS:
        try:
            kind, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        except (ValueError, UnicodeError):
            kind, number = "", ""
        if kind == "audit" and number.isascii() and number.isdigit():
            event_id = int(number)
            if event_id <= MAX_EVENT_ID:
                return event_id
    shown = cursor if len(cursor) <= MAX_CURSOR_CHARS else cursor[:MAX_CURSOR_CHARS] + "…"
    raise InvalidCursor(f"cursor {shown!r} was not issued by the access log")
