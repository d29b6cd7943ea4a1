"""The access log: one hash-chained event per read of a person's data, and signed checkpoints.

Each ``AuditLog`` (one per process) writes a chain of its own, named by its writer id, so
appends from many processes and instances take no lock in common: they scale with the number
of writers. Events are chained by hash (``integrations.access.chain``): changing, deleting or
reordering one breaks its chain where it happened.

Appends go through group commit: one writer task per log takes every request's events that
arrived while the previous commit was in flight and writes them in one transaction, with
multi-row inserts, so one commit (and its fsync) serves many requests. ``record_many`` returns
only once the commit holding its events is done. When a group fails, each request's events are
tried again in a transaction of their own, so one bad request does not take its neighbours
down; a request whose events are not written gets ``AuditUnavailable``, and refuses the read.

A chain that holds together may still have lost its newest events, or been rewritten whole with
recomputed hashes. ``checkpoint`` signs the heads of all chains, and ``verify`` holds every
chain to every checkpoint (``integrations.access.checkpoints``); events after the newest
checkpoint are covered by none until the next.
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import islice
from typing import Final

from integrations.access.chain import GENESIS, ChainWalk, chain_hash, genesis_of, payload_of
from integrations.access.checkpoints import (
    CheckpointKeys,
    CheckpointLedger,
    CheckpointProblem,
    CheckpointRefused,
    CheckpointSigner,
    Due,
    sign,
    signed_body,
)
from integrations.access.errors import AuditUnavailable, InvalidCursor
from integrations.access.policy import Decision
from integrations.access.principal import Principal
from integrations.groupcommit import GroupCommit
from integrations.store.audit import (
    AuditStore,
    ChainedEvent,
    Checkpoint,
    CheckpointWriter,
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
class ChainReport:
    """One chain as the walk found it: ``events`` up to ``head_hash``, of which the newest
    checkpoint signing the chain covers ``signed``."""

    chain: str
    events: int
    head_hash: str
    signed: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of walking every chain and the checkpoints.

    ``first_bad_id`` is the event where a chain (``bad_chain``) first breaks;
    ``bad_checkpoint_id`` the checkpoint a chain no longer matches (cut or rewritten) or that is
    not as signed. ``chains`` are the chains walked, ``latest_checkpoint`` the newest checkpoint
    confirmed, and ``unprotected`` counts the events after it: deleting those would not show.
    """

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""
    bad_checkpoint_id: int | None = None
    bad_chain: str | None = None
    checkpoints: int = 0
    latest_checkpoint: Checkpoint | None = None
    unprotected: int = 0
    chains: tuple[ChainReport, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: tuple[StoredEvent, ...]
    end_cursor: str | None
    has_next_page: bool


def _utc_now() -> datetime:
    return datetime.now(UTC)


def new_writer_id() -> str:
    """A name for one process's chain: its host and process, made unique by random bits."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class _Request:
    """One caller's events, appended together, and the time given to those without one."""

    records: list[AuditRecord]
    at: datetime


class AuditLog:
    """Append to, read, checkpoint and check the access log of one database.

    ``await log.record(AuditRecord.of_read(principal, subject, domains, fields, decision))``
    before returning the data, or ``record_many`` with every record of one request; on
    ``AuditUnavailable`` refuse the read. One log per process: each writes a chain of its own.
    """

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime] = _utc_now,
        writer: str | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.store = AuditStore(database)
        self.writer = writer or new_writer_id()
        self._commits = GroupCommit(self._append, failed=_unavailable)
        self._head: Head | None = None
        self._registered = False

    async def record(self, event: AuditRecord) -> StoredEvent:
        """Append one event; see ``record_many``."""
        (stored,) = await self.record_many([event])
        return stored

    async def record_many(self, events: Iterable[AuditRecord]) -> list[StoredEvent]:
        """Append ``events`` to this log's chain in order, all or none, in the next commit;
        events without a time of their own get the same one. Returns once they are committed;
        raises ``AuditUnavailable`` when they were not written."""
        pending = list(events)
        if not pending:
            return []
        return await self._commits.submit(_Request(pending, self.clock()))

    async def _append(self, group: Sequence[_Request]) -> list[list[StoredEvent]]:
        """Chain ``group``'s events after this log's head and insert them in one transaction;
        each request's stored events, in order."""
        head = self._head
        if head is None:
            head = await self.store.head_of(self.writer) or Head(0, 0, genesis_of(self.writer))
        chained = _chain(self.writer, group, head)
        self._head = None
        started = None if self._registered else group[0].at
        stored = await self.store.append(self.writer, chained, started_at=started)
        self._head, self._registered = Head(stored[-1].seq, stored[-1].id, stored[-1].hash), True
        rows = iter(stored)
        return [list(islice(rows, len(request.records))) for request in group]

    async def checkpoint(
        self, signer: CheckpointSigner, *, reuse_within: timedelta = timedelta(0)
    ) -> Checkpoint:
        """Sign the heads of the chains that moved since the last checkpoint, with the count of
        all events, under the checkpoint lock (appends do not wait for it).

        The last checkpoint is returned instead when no chain has moved since, or when it is
        younger than ``reuse_within`` (so that several workers on one interval sign about once
        per interval). Raises ``CheckpointRefused`` when a chain no longer extends the head
        last signed of it.
        """
        async with self.store.checkpointing() as writer:
            heads = await writer.heads()
            signed = await writer.signed()
            await _check_extends(writer, heads, signed)
            moved = {c: h for c, h in heads.items() if h.seq != signed.get(c, (0, ""))[0]}
            last = await writer.last_checkpoint()
            at = self.clock()
            if last is not None and (not moved or at - last.at < reuse_within):
                return last
            count = sum(head.seq for head in heads.values())
            newest = max(heads.values(), key=lambda head: head.id, default=Head(0, 0, GENESIS))
            body = signed_body(at=at, head=newest, count=count, heads=moved, previous=last)
            return await writer.add_checkpoint(
                at=at,
                head=newest,
                count=count,
                heads=moved,
                key_id=signer.key_id,
                signature=sign(signer, body),
            )

    async def verify(
        self, *, keys: CheckpointKeys | None = None, batch: int = 1000
    ) -> VerifyReport:
        """Check every checkpoint, then walk every chain in order, holding it to every head the
        checkpoints signed of it.

        Reports the first checkpoint that ``keys`` (the gateway's certificates) do not show as
        signed by it, or the first event that does not fit its chain, or the first signed head
        a chain does not reach or reaches with another hash.
        """
        ledger = CheckpointLedger(keys)
        async for checkpoint in self._checkpoints(batch):
            if problem := ledger.add(checkpoint):
                return _broken(problem, 0)
        walk = _LogWalk(ledger)
        after = ("", 0)
        while events := await self.store.events_in_chains(after, batch):
            for event in events:
                if broken := walk.step(event):
                    return broken
            after = (events[-1].chain, events[-1].seq)
        if broken := walk.end():
            return broken
        latest = ledger.latest
        return VerifyReport(
            True,
            walk.checked,
            checkpoints=ledger.read,
            latest_checkpoint=latest,
            unprotected=walk.checked - (latest.count if latest else 0),
            chains=tuple(walk.chains),
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


class _LogWalk:
    """Walks the chains one after another, each event against its chain and the heads the
    checkpoints signed of it."""

    def __init__(self, ledger: CheckpointLedger) -> None:
        self.ledger = ledger
        self.checked = 0
        self.chains: list[ChainReport] = []
        self._chain: ChainWalk | None = None
        self._last_id = 0
        self._due: deque[Due] = deque()

    def step(self, event: StoredEvent) -> VerifyReport | None:
        if self._chain is None or event.chain != self._chain.chain:
            if broken := self._finish():
                return broken
            self._chain, self._due = ChainWalk(event.chain), deque(self.ledger.due(event.chain))
        if problem := self._chain.step(event):
            return VerifyReport(False, self.checked, event.id, problem, bad_chain=event.chain)
        self.checked, self._last_id = self.checked + 1, event.id
        while self._due and self._due[0].head.seq == self._chain.count:
            if problem := self._due.popleft().reached(event):
                return _broken(problem, self.checked)
        return None

    def end(self) -> VerifyReport | None:
        """After the last event: a signed head still waiting names events cut from its chain."""
        if broken := self._finish():
            return broken
        unreached = self.ledger.unreached()
        return _broken(unreached[0].cut(0, 0), self.checked) if unreached else None

    def _finish(self) -> VerifyReport | None:
        chain = self._chain
        if chain is None:
            return None
        if self._due:
            return _broken(self._due[0].cut(chain.count, self._last_id), self.checked)
        signed = self.ledger.signed(chain.chain)
        self.chains.append(ChainReport(chain.chain, chain.count, chain.head_hash, signed))
        return None


async def _check_extends(
    writer: CheckpointWriter, heads: Mapping[str, Head], signed: Mapping[str, tuple[int, str]]
) -> None:
    """Refuse to sign a chain that does not extend its head last signed: that would sign over
    a cut."""
    for chain, (seq, signed_hash) in signed.items():
        head = heads.get(chain)
        if head is None or head.seq < seq:
            raise CheckpointRefused(
                f"chain {chain} ends after {head.seq if head else 0} events, behind the {seq} "
                "a checkpoint signed: its newest events were cut"
            )
        now = head.hash if head.seq == seq else await writer.hash_at(chain, seq)
        if now != signed_hash:
            raise CheckpointRefused(
                f"event {seq} of chain {chain} is gone or no longer has the hash a checkpoint "
                "signed: the chain was rewritten"
            )


def _broken(problem: CheckpointProblem, checked: int) -> VerifyReport:
    return VerifyReport(
        False,
        checked,
        problem=problem.message,
        bad_checkpoint_id=problem.checkpoint_id,
        bad_chain=problem.chain,
    )


def _unavailable(exc: Exception) -> AuditUnavailable:
    return AuditUnavailable(f"audit events not written: {exc}")


def _chain(chain: str, group: Iterable[_Request], head: Head) -> list[ChainedEvent]:
    """Every request's events, in order, chained after ``head``."""
    chained = []
    prev_hash, seq = head.hash, head.seq
    for request in group:
        for event in request.records:
            seq += 1
            unhashed = ChainedEvent(
                at=event.at or request.at,
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
                chain=chain,
                seq=seq,
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
