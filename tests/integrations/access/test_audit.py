from __future__ import annotations

import asyncio
import base64
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tortoise.connection import get_connection

from integrations.access.audit import (
    MAX_EVENT_ID,
    AuditLog,
    AuditRecord,
    ChainReport,
    Outcome,
    StoredEvent,
    decode_cursor,
    encode_cursor,
)
from integrations.access.chain import GENESIS, chain_hash, genesis_of
from integrations.access.errors import AuditUnavailable, InvalidCursor
from integrations.access.policy import ALLOW, Decision
from integrations.access.principal import Principal, Role
from integrations.store.audit import ROWS_PER_INSERT, ChainedEvent
from integrations.store.database import Database
from integrations.store.models import AuditEvent

CITIZEN = "079301000123"
OTHER = "001199000456"


@pytest.fixture
def log(database_url: str, db: None) -> AuditLog:
    return AuditLog(Database(database_url))


def read(subject: str = CITIZEN, purpose: str = "loan check", n: int = 0) -> AuditRecord:
    officer = Principal(f"officer-{n}", Role.OFFICER, purpose=purpose, case_ref=f"CASE-{n}")
    return AuditRecord.of_read(officer, subject, ["tax", "profile"], ["fullName"], ALLOW)


async def sql(log: AuditLog, statement: str, *values: object) -> None:
    if log.database.backend == "sqlite":
        statement = statement.replace("$1", "?").replace("$2", "?")
    await get_connection(log.database.backend).execute_query(statement, list(values))


async def test_events_are_chained_from_their_chains_genesis_hash(log: AuditLog) -> None:
    first = await log.record(read())
    second = await log.record(read(OTHER))
    assert first.prev_hash == genesis_of(log.writer) != GENESIS
    assert second.prev_hash == first.hash
    assert (first.chain, first.seq, second.chain, second.seq) == (log.writer, 1, log.writer, 2)
    assert first.domains == ("profile", "tax")
    report = await log.verify()
    assert report.ok
    assert report.checked == 2
    assert report.chains == (ChainReport(log.writer, 2, second.hash, 0),)


async def test_the_hash_covers_every_field_and_the_previous_hash(log: AuditLog) -> None:
    event = await log.record(read())
    payload = {
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "principal": "officer:officer-0",
        "role": "officer",
        "subject": CITIZEN,
        "domains": ["profile", "tax"],
        "fields": ["fullName"],
        "purpose": "loan check",
        "case_ref": "CASE-0",
        "consent_id": None,
        "outcome": "allowed",
    }
    genesis = genesis_of(log.writer)
    assert chain_hash(payload, genesis) == event.hash
    assert chain_hash({**payload, "purpose": "curiosity"}, genesis) != event.hash


async def test_a_changed_event_is_detected(log: AuditLog) -> None:
    events = [await log.record(read(n=n)) for n in range(4)]
    await sql(log, "UPDATE audit_events SET purpose = $1 WHERE id = $2", "nothing", events[2].id)
    report = await log.verify()
    assert not report.ok
    assert report.first_bad_id == events[2].id
    assert "changed" in report.problem
    assert report.checked == 2


async def test_a_deleted_event_is_detected(log: AuditLog) -> None:
    events = [await log.record(read(n=n)) for n in range(4)]
    await sql(log, "DELETE FROM audit_events WHERE id = $1", events[1].id)
    report = await log.verify()
    assert not report.ok
    assert report.first_bad_id == events[2].id
    assert "deleted or reordered" in report.problem


async def test_reordered_events_are_detected(log: AuditLog) -> None:
    events = [await log.record(read(n=n)) for n in range(4)]
    one, two = events[1], events[2]
    columns = ("at", "principal", "purpose", "case_ref", "prev_hash", "hash")
    await AuditEvent.filter(id=one.id).update(hash="swapping")
    await AuditEvent.filter(id=two.id).update(**{c: getattr(one, c) for c in columns})
    await AuditEvent.filter(id=one.id).update(**{c: getattr(two, c) for c in columns})
    report = await log.verify()
    assert not report.ok
    assert report.first_bad_id == one.id


async def test_two_logs_write_a_chain_each_and_both_verify(log: AuditLog) -> None:
    other = AuditLog(log.database)
    writers = [(log if n % 2 else other).record(read(n=n)) for n in range(50)]
    stored = await asyncio.gather(*writers)
    assert len({event.id for event in stored}) == 50
    assert {event.chain for event in stored} == {log.writer, other.writer}
    assert await AuditEvent.all().count() == 50
    report = await log.verify()
    assert report.ok
    assert report.checked == 50
    assert sorted((c.chain, c.events) for c in report.chains) == sorted(
        [(log.writer, 25), (other.writer, 25)]
    )


async def test_an_event_moved_to_another_chain_follows_nothing_there(log: AuditLog) -> None:
    other = AuditLog(log.database)
    await other.record(read(n=1))
    mine = await log.record(read(n=2))
    moved = await other.record(read(n=3))
    await sql(log, "DELETE FROM audit_events WHERE id = $1", moved.id)
    await AuditEvent.create(**{**_row(moved), "chain": log.writer, "seq": 2})
    report = await log.verify()
    assert not report.ok
    assert report.bad_chain == log.writer
    assert "does not follow" in report.problem
    assert mine.seq == 1


async def test_a_renumbered_event_is_detected(log: AuditLog) -> None:
    events = [await log.record(read(n=n)) for n in range(3)]
    await sql(log, "UPDATE audit_events SET seq = $1 WHERE id = $2", 7, events[2].id)
    report = await log.verify()
    assert not report.ok
    assert report.first_bad_id == events[2].id
    assert "renumbered" in report.problem


def _row(event: StoredEvent) -> dict[str, object]:
    """``event`` as the model's fields, to put it back by hand."""
    row = {f: getattr(event, f) for f in ("at", "principal", "role", "subject", "purpose")}
    row |= {f: getattr(event, f) for f in ("case_ref", "consent_id", "outcome", "prev_hash")}
    return row | {
        "domains": list(event.domains),
        "fields_read": list(event.fields),
        "hash": event.hash,
    }


WRITER = """
import asyncio, sys
from integrations.access.audit import AuditLog, AuditRecord, Outcome
from integrations.store.database import open_database

def read(name, n):
    return AuditRecord(name, "officer", "079301000123", ("tax",), ("fullName",),
                       Outcome.ALLOWED, purpose="p", case_ref=str(n))

async def main(url, name):
    async with open_database(url) as database:
        log = AuditLog(database)
        for n in range(5):
            await log.record(read(name, n))
        for n in range(5, 15, 2):
            await log.record_many([read(name, n), read(name, n + 1)])

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_two_processes_write_a_chain_each(log: AuditLog, database_url: str) -> None:
    root = Path(__file__).parents[3]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, database_url, f"worker-{n}", cwd=root
        )
        for n in range(2)
    ]
    assert [await p.wait() for p in processes] == [0, 0]
    report = await log.verify()
    assert report.ok
    assert report.checked == 30
    assert [chain.events for chain in report.chains] == [15, 15]


async def test_many_events_are_chained_in_order_after_the_head(log: AuditLog) -> None:
    first = await log.record(read())
    batch = await log.record_many([read(n=1), read(OTHER, n=2), read(n=3)])
    assert [event.prev_hash for event in batch] == [first.hash, batch[0].hash, batch[1].hash]
    assert [event.case_ref for event in batch] == ["CASE-1", "CASE-2", "CASE-3"]
    assert [event.subject for event in batch] == [CITIZEN, OTHER, CITIZEN]
    assert first.id < batch[0].id < batch[1].id < batch[2].id
    assert batch[1].domains == ("profile", "tax")
    assert len({event.at for event in batch}) == 1
    report = await log.verify()
    assert report.ok
    assert report.checked == 4
    assert report.chains[0].head_hash == batch[2].hash
    page = await log.for_subject(OTHER)
    assert page.events == (batch[1],)


async def test_an_event_given_its_own_time_keeps_it(log: AuditLog) -> None:
    then = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    own, now = await log.record_many([replace(read(), at=then), read(OTHER)])
    assert own.at == then
    assert now.at != then
    assert (await log.verify()).ok


async def test_a_batch_longer_than_one_insert_is_chained_whole(log: AuditLog) -> None:
    batch = await log.record_many([read(n=n) for n in range(ROWS_PER_INSERT + 1)])
    assert batch[-1].prev_hash == batch[-2].hash
    report = await log.verify()
    assert report.ok
    assert report.checked == ROWS_PER_INSERT + 1


async def test_nothing_to_record_writes_nothing(log: AuditLog) -> None:
    assert await log.record_many([]) == []
    assert await AuditEvent.all().count() == 0


async def test_a_changed_event_of_a_batch_is_detected(log: AuditLog) -> None:
    batch = await log.record_many([read(n=n) for n in range(4)])
    await sql(log, "UPDATE audit_events SET subject = $1 WHERE id = $2", OTHER, batch[2].id)
    report = await log.verify()
    assert not report.ok
    assert report.first_bad_id == batch[2].id
    assert "changed" in report.problem


async def test_concurrent_batches_are_each_chained_whole(log: AuditLog) -> None:
    other = AuditLog(log.database)
    sizes = [1 + n % 5 for n in range(20)]
    writers = [
        (log if n % 2 else other).record_many([read(n=100 * n + k) for k in range(size)])
        for n, size in enumerate(sizes)
    ]
    batches = await asyncio.gather(*writers)
    assert await AuditEvent.all().count() == sum(sizes)
    for batch in batches:
        # Each batch is appended whole to one chain: nothing lands between its events.
        assert [event.prev_hash for event in batch[1:]] == [event.hash for event in batch[:-1]]
        assert [event.seq for event in batch] == list(
            range(batch[0].seq, batch[0].seq + len(batch))
        )
        assert len({event.chain for event in batch}) == 1
    report = await log.verify()
    assert report.ok
    assert report.checked == sum(sizes)


REFUSE_OFFICER_7 = {
    "sqlite": [
        "CREATE TRIGGER refuse_officer_7 BEFORE INSERT ON audit_events "
        "WHEN NEW.principal = 'officer:officer-7' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse_officer_7() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.principal = 'officer:officer-7' THEN RAISE EXCEPTION 'refused'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER refuse_officer_7 BEFORE INSERT ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_officer_7()",
    ],
}
ALLOW_OFFICER_7 = {
    "sqlite": ["DROP TRIGGER refuse_officer_7"],
    "postgres": [
        "DROP TRIGGER refuse_officer_7 ON audit_events",
        "DROP FUNCTION refuse_officer_7()",
    ],
}


@pytest.mark.parametrize("size", [5, ROWS_PER_INSERT + 1], ids=["one-insert", "two-inserts"])
async def test_a_batch_that_fails_part_way_writes_none_of_it(log: AuditLog, size: int) -> None:
    """The refused event comes last: in the longer batch, after a whole insert went through."""
    before = await log.record(read(n=0))
    for statement in REFUSE_OFFICER_7[log.database.backend]:
        await sql(log, statement)
    try:
        with pytest.raises(AuditUnavailable):
            await log.record_many([*(read(n=n) for n in range(10, 9 + size)), read(n=7)])
    finally:
        for statement in ALLOW_OFFICER_7[log.database.backend]:
            await sql(log, statement)
    assert await AuditEvent.all().count() == 1
    after = await log.record_many([read(n=n) for n in range(5, 10)])
    assert after[0].prev_hash == before.hash
    report = await log.verify()
    assert report.ok
    assert report.checked == 6


async def test_a_failed_write_raises_audit_unavailable(log: AuditLog) -> None:
    await sql(log, "ALTER TABLE audit_events RENAME TO audit_events_away")
    try:
        with pytest.raises(AuditUnavailable) as info:
            await log.record(read())
    finally:
        await sql(log, "ALTER TABLE audit_events_away RENAME TO audit_events")
    assert info.value.code == "AUDIT_UNAVAILABLE"


async def test_a_subject_sees_their_events_newest_first_in_pages(log: AuditLog) -> None:
    mine = [await log.record(read(n=n)) for n in range(5)]
    await log.record(read(OTHER))
    first = await log.for_subject(CITIZEN, first=2)
    assert [e.id for e in first.events] == [mine[4].id, mine[3].id]
    assert first.has_next_page
    rest = await log.for_subject(CITIZEN, first=10, after=first.end_cursor)
    assert [e.id for e in rest.events] == [mine[2].id, mine[1].id, mine[0].id]
    assert not rest.has_next_page
    assert rest.events[0].purpose == "loan check"
    assert rest.events[0].case_ref == "CASE-2"


def cursor_of(number: str) -> str:
    return base64.urlsafe_b64encode(f"audit:{number}".encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("bm9wZQ==", id="not-ours"),
        pytest.param("%%%", id="not-base64"),
        pytest.param(encode_cursor(1)[:-3] + "x", id="cut"),
        pytest.param(cursor_of("-1"), id="negative"),
        pytest.param(cursor_of("١٢"), id="arabic-indic-digits"),
        pytest.param(cursor_of(str(MAX_EVENT_ID + 1)), id="past-int64"),
        pytest.param(cursor_of("9" * 4000), id="4000-digits"),
    ],
)
def test_a_foreign_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


def test_a_refused_cursor_is_not_echoed_whole() -> None:
    with pytest.raises(InvalidCursor) as info:
        decode_cursor("A" * 100_000)
    assert len(info.value.message) < 200


async def test_a_cursor_is_checked_before_the_query(log: AuditLog) -> None:
    with pytest.raises(InvalidCursor):
        await log.for_subject(CITIZEN, after="bm9wZQ==")


@pytest.mark.parametrize("number", [MAX_EVENT_ID + 1, 10**40], ids=["int64-plus-1", "40-digits"])
async def test_a_cursor_past_any_event_id_is_refused_not_overflowed(
    log: AuditLog, number: int
) -> None:
    await log.record(read())
    with pytest.raises(InvalidCursor):
        await log.for_subject(CITIZEN, after=cursor_of(str(number)))


async def test_the_largest_event_id_is_a_cursor_before_every_event(log: AuditLog) -> None:
    event = await log.record(read())
    page = await log.for_subject(CITIZEN, after=encode_cursor(MAX_EVENT_ID))
    assert page.events == (event,)


def test_a_denied_read_is_recorded_as_denied() -> None:
    app = Principal("u1", Role.APP, app_id="budget", purpose="budgeting")
    denied = Decision(False, "CONSENT_REQUIRED")
    record = AuditRecord.of_read(app, CITIZEN, ["tax"], ["taxCode"], denied)
    assert record.outcome is Outcome.DENIED
    assert record.principal == "app:budget"
    assert record.at is None or record.at <= datetime.now(UTC)


async def test_requests_that_arrive_together_share_one_commit(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    appends = []
    append = log.store.append

    async def counted(chain: str, events: list[ChainedEvent], **kwargs: Any) -> list[StoredEvent]:
        appends.append(len(events))
        return await append(chain, events, **kwargs)

    monkeypatch.setattr(log.store, "append", counted)
    stored = await asyncio.gather(*(log.record_many([read(n=n), read(n=n)]) for n in range(20)))
    # All twenty were waiting before the writer ran: one transaction holds them.
    assert appends == [40]
    assert [[event.case_ref for event in pair] for pair in stored] == [
        [f"CASE-{n}"] * 2 for n in range(20)
    ]
    assert [event.seq for pair in stored for event in pair] == list(range(1, 41))
    if log.database.backend == "postgres":
        # The transaction id that wrote each row: one commit for all of them.
        rows = await get_connection("postgres").execute_query_dict(
            "SELECT COUNT(DISTINCT xmin::text) AS commits FROM audit_events"
        )
        assert rows[0]["commits"] == 1
    assert (await log.verify()).checked == 40


async def test_a_bad_request_in_a_group_fails_alone(log: AuditLog) -> None:
    for statement in REFUSE_OFFICER_7[log.database.backend]:
        await sql(log, statement)
    try:
        results = await asyncio.gather(
            *(log.record_many([read(n=n), read(n=n + 10)]) for n in range(5, 10)),
            return_exceptions=True,
        )
    finally:
        for statement in ALLOW_OFFICER_7[log.database.backend]:
            await sql(log, statement)
    refused = [
        n
        for n, result in zip(range(5, 10), results, strict=True)
        if isinstance(result, BaseException)
    ]
    assert refused == [7]
    assert isinstance(results[2], AuditUnavailable)
    written = [event for result in results if isinstance(result, list) for event in result]
    assert sorted(event.case_ref for event in written) == sorted(
        f"CASE-{n}" for n in (5, 6, 8, 9, 15, 16, 18, 19)
    )
    assert await AuditEvent.all().count() == 8
    report = await log.verify()
    assert report.ok
    assert report.checked == 8


async def test_a_caller_that_stops_waiting_still_has_its_events_written(log: AuditLog) -> None:
    waiting = asyncio.create_task(log.record(read(n=1)))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    after = await log.record(read(n=2))
    assert after.seq == 2
    assert (await log.verify()).checked == 2
