"""Signed checkpoints: a log cut behind one, or rewritten under one, no longer verifies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from tortoise.connection import get_connection

from integrations.access.audit import AuditLog, AuditRecord, Outcome, StoredEvent
from integrations.access.chain import GENESIS, chain_hash, genesis_of, payload_of
from integrations.access.checkpoints import (
    CheckpointKeys,
    CheckpointRefused,
    key_id_of,
)
from integrations.einvoice.receipts import ReceiptSigner
from integrations.store.audit import Checkpoint
from integrations.store.database import Database
from integrations.store.models import AuditCheckpoint
from tests.support.invoices import Keys

CITIZEN = "079301000123"


@pytest.fixture
def log(database_url: str, db: None) -> AuditLog:
    return AuditLog(Database(database_url))


@pytest.fixture
def signer(intake_keys: Keys) -> ReceiptSigner:
    return ReceiptSigner(intake_keys.gateway)


@pytest.fixture
def keys(intake_keys: Keys) -> CheckpointKeys:
    return CheckpointKeys.of([intake_keys.gateway.certificate])


def read(n: int) -> AuditRecord:
    return AuditRecord(
        "officer:o-1",
        "officer",
        CITIZEN,
        ("tax",),
        ("taxCode",),
        Outcome.ALLOWED,
        case_ref=f"C-{n}",
    )


async def record(log: AuditLog, count: int, start: int = 0) -> list[StoredEvent]:
    return await log.record_many([read(n) for n in range(start, start + count)])


async def sql(log: AuditLog, statement: str, *values: object) -> None:
    if log.database.backend == "sqlite":
        for n in range(len(values), 0, -1):
            statement = statement.replace(f"${n}", "?")
    await get_connection(log.database.backend).execute_query(statement, list(values))


async def test_a_checkpoint_signs_the_head_its_count_and_hash(
    log: AuditLog, signer: ReceiptSigner, keys: CheckpointKeys
) -> None:
    events = await record(log, 3)
    checkpoint = await log.checkpoint(signer)
    assert (checkpoint.head_id, checkpoint.count, checkpoint.head_hash) == (
        events[-1].id,
        3,
        events[-1].hash,
    )
    assert checkpoint.key_id == signer.key_id == key_id_of(signer.identity.certificate)
    report = await log.verify(keys=keys)
    assert report.ok
    assert (report.checked, report.checkpoints, report.unprotected) == (3, 1, 0)


async def test_events_after_the_last_checkpoint_verify_and_are_counted_unprotected(
    log: AuditLog, signer: ReceiptSigner, keys: CheckpointKeys
) -> None:
    await log.checkpoint(signer)
    await record(log, 3)
    await log.checkpoint(signer)
    await record(log, 2, start=3)
    report = await log.verify(keys=keys)
    assert report.ok
    assert (report.checked, report.checkpoints, report.unprotected) == (5, 2, 2)


async def test_an_unchanged_head_is_not_signed_again(log: AuditLog, signer: ReceiptSigner) -> None:
    await record(log, 2)
    first = await log.checkpoint(signer)
    assert await log.checkpoint(signer) == first
    assert await AuditCheckpoint.all().count() == 1


async def test_the_count_of_a_later_checkpoint_adds_the_events_since_the_last(
    log: AuditLog, signer: ReceiptSigner, keys: CheckpointKeys
) -> None:
    await record(log, 2)
    await log.checkpoint(signer)
    events = await record(log, 1000, start=2)
    later = await log.checkpoint(signer)
    assert (later.head_id, later.count) == (events[-1].id, 1002)
    assert (await log.verify(keys=keys, batch=64)).ok


async def test_a_checkpoint_younger_than_reuse_within_is_not_signed_again(
    database_url: str, db: None, signer: ReceiptSigner
) -> None:
    now = [datetime(2026, 11, 3, 8, 0, tzinfo=UTC)]
    log = AuditLog(Database(database_url), clock=lambda: now[0])
    await record(log, 1)
    first = await log.checkpoint(signer)
    await record(log, 1, start=1)
    now[0] += timedelta(seconds=149)
    assert await log.checkpoint(signer, reuse_within=timedelta(seconds=150)) == first
    now[0] += timedelta(seconds=1)
    later = await log.checkpoint(signer, reuse_within=timedelta(seconds=150))
    assert (later.id, later.count, later.at) == (first.id + 1, 2, now[0])


@pytest.mark.parametrize("cut", [1, 3])
async def test_cutting_the_newest_events_behind_a_checkpoint_is_detected(
    log: AuditLog, signer: ReceiptSigner, keys: CheckpointKeys, cut: int
) -> None:
    events = await record(log, 5)
    checkpoint = await log.checkpoint(signer)
    await record(log, 2, start=5)
    # Everything after the checkpoint goes too, so that the chain itself still holds together.
    await sql(log, "DELETE FROM audit_events WHERE id > $1", events[-1 - cut].id)
    report = await log.verify(keys=keys)
    assert not report.ok
    assert report.first_bad_id is None
    assert report.bad_checkpoint_id == checkpoint.id
    assert f"up to event {events[-1].id}" in report.problem
    assert "newest events were cut" in report.problem
    assert report.checked == 5 - cut


async def rewrite(log: AuditLog, events: list[StoredEvent], purpose: str) -> None:
    """Change every event's purpose and store the hashes recomputed to match, as one who can
    write to the database but holds no key would."""
    prev_hash = genesis_of(log.writer)
    for event in events:
        changed = replace(event, purpose=purpose, prev_hash=prev_hash)
        prev_hash = chain_hash(payload_of(changed), prev_hash)
        await sql(
            log,
            "UPDATE audit_events SET purpose = $1, prev_hash = $2, hash = $3 WHERE id = $4",
            purpose,
            changed.prev_hash,
            prev_hash,
            event.id,
        )


async def test_a_chain_rewritten_with_recomputed_hashes_is_detected(
    log: AuditLog, signer: ReceiptSigner, keys: CheckpointKeys
) -> None:
    events = await record(log, 4)
    checkpoint = await log.checkpoint(signer)
    await rewrite(log, events, "nothing to see")
    report = await log.verify(keys=keys)
    assert not report.ok
    assert report.first_bad_id is None
    assert report.bad_checkpoint_id == checkpoint.id
    assert "rewritten" in report.problem
    # Without the checkpoint the rewrite holds together: that is the gap it closes.
    await sql(log, "DELETE FROM audit_checkpoints")
    assert (await log.verify(keys=keys)).ok


async def test_the_gateway_refuses_to_sign_a_log_cut_or_rewritten_behind_its_checkpoint(
    log: AuditLog, signer: ReceiptSigner
) -> None:
    events = await record(log, 4)
    await log.checkpoint(signer)
    await rewrite(log, events, "nothing to see")
    with pytest.raises(CheckpointRefused, match="rewritten"):
        await log.checkpoint(signer)
    await sql(log, "DELETE FROM audit_events WHERE id >= $1", events[2].id)
    with pytest.raises(CheckpointRefused, match="cut") as info:
        await log.checkpoint(signer)
    assert info.value.code == "AUDIT_CHECKPOINT_REFUSED"
    assert await AuditCheckpoint.all().count() == 1


Forgery = Callable[[AuditLog, Checkpoint, Keys], Awaitable[None]]


async def signed_by_another_key_under_the_gateways_id(
    log: AuditLog, checkpoint: Checkpoint, keys: Keys
) -> None:
    payload = jwt.api_jws.decode_complete(
        checkpoint.signature, options={"verify_signature": False}
    )["payload"]
    forged = jwt.api_jws.encode(
        payload, keys.stranger.private_key, algorithm="RS256", headers={"kid": checkpoint.key_id}
    )
    await sql(
        log, "UPDATE audit_checkpoints SET signature = $1 WHERE id = $2", forged, checkpoint.id
    )


async def signed_by_a_key_that_is_not_the_gateways(
    log: AuditLog, checkpoint: Checkpoint, keys: Keys
) -> None:
    stranger = ReceiptSigner(keys.stranger)
    body = jwt.api_jws.decode_complete(checkpoint.signature, options={"verify_signature": False})[
        "payload"
    ]
    forged = stranger.seal(json.loads(body))["signature"]
    await sql(
        log,
        "UPDATE audit_checkpoints SET signature = $1, key_id = $2 WHERE id = $3",
        forged,
        stranger.key_id,
        checkpoint.id,
    )


async def with_a_count_other_than_signed(log: AuditLog, checkpoint: Checkpoint, keys: Keys) -> None:
    await sql(log, "UPDATE audit_checkpoints SET count = $1 WHERE id = $2", 2, checkpoint.id)


async def with_a_chain_head_other_than_signed(
    log: AuditLog, checkpoint: Checkpoint, keys: Keys
) -> None:
    heads = {
        chain: [head.seq - 1, head.id - 1, GENESIS] for chain, head in checkpoint.heads.items()
    }
    await AuditCheckpoint.filter(id=checkpoint.id).update(heads=heads)


async def with_no_signature_at_all(log: AuditLog, checkpoint: Checkpoint, keys: Keys) -> None:
    await sql(log, "UPDATE audit_checkpoints SET signature = $1 WHERE id = $2", "x", checkpoint.id)


@pytest.mark.parametrize(
    ("forge", "problem"),
    [
        pytest.param(
            signed_by_another_key_under_the_gateways_id, "does not verify", id="wrong-signature"
        ),
        pytest.param(signed_by_a_key_that_is_not_the_gateways, "not one of the", id="foreign-key"),
        pytest.param(with_a_count_other_than_signed, "differs from what", id="changed-row"),
        pytest.param(with_a_chain_head_other_than_signed, "differs from what", id="changed-head"),
        pytest.param(with_no_signature_at_all, "not a JWS", id="no-signature"),
    ],
)
async def test_a_forged_checkpoint_is_detected(
    log: AuditLog,
    signer: ReceiptSigner,
    keys: CheckpointKeys,
    intake_keys: Keys,
    forge: Forgery,
    problem: str,
) -> None:
    await record(log, 3)
    checkpoint = await log.checkpoint(signer)
    await record(log, 1, start=3)
    await forge(log, checkpoint, intake_keys)
    report = await log.verify(keys=keys)
    assert not report.ok
    assert report.bad_checkpoint_id == checkpoint.id
    assert problem in report.problem


async def test_a_deleted_checkpoint_breaks_the_chain_of_checkpoints(
    log: AuditLog, signer: ReceiptSigner, keys: CheckpointKeys
) -> None:
    made = []
    for n in range(3):
        await record(log, 2, start=2 * n)
        made.append(await log.checkpoint(signer))
    await sql(log, "DELETE FROM audit_checkpoints WHERE id = $1", made[1].id)
    report = await log.verify(keys=keys)
    assert not report.ok
    assert report.bad_checkpoint_id == made[2].id
    assert f"does not follow checkpoint #{made[0].id}" in report.problem


async def test_checkpoints_of_a_retired_key_verify_with_its_certificate(
    log: AuditLog, signer: ReceiptSigner, intake_keys: Keys
) -> None:
    await record(log, 2)
    old = await log.checkpoint(signer)
    await record(log, 2, start=2)
    rotated = ReceiptSigner(intake_keys.provider)
    new = await log.checkpoint(rotated)
    assert new.key_id != old.key_id
    current_only = await log.verify(keys=CheckpointKeys.of([intake_keys.provider.certificate]))
    assert not current_only.ok
    assert current_only.bad_checkpoint_id == old.id
    assert old.key_id in current_only.problem
    both = CheckpointKeys.of([intake_keys.provider.certificate, intake_keys.gateway.certificate])
    report = await log.verify(keys=both)
    assert report.ok
    assert report.checkpoints == 2


async def test_checkpoints_are_not_taken_on_trust_without_the_gateways_certificate(
    log: AuditLog, signer: ReceiptSigner
) -> None:
    await record(log, 1)
    checkpoint = await log.checkpoint(signer)
    report = await log.verify()
    assert not report.ok
    assert report.bad_checkpoint_id == checkpoint.id
    assert "no certificate" in report.problem


async def test_a_checkpoint_of_the_empty_log_verifies(
    log: AuditLog, signer: ReceiptSigner, keys: CheckpointKeys
) -> None:
    empty = await log.checkpoint(signer)
    assert (empty.head_id, empty.count, empty.head_hash) == (0, 0, GENESIS)
    await record(log, 1)
    report = await log.verify(keys=keys)
    assert report.ok
    assert (report.checkpoints, report.unprotected) == (1, 1)


async def test_checkpoints_taken_among_concurrent_appends_agree_with_the_chain(
    log: AuditLog, signer: ReceiptSigner, keys: CheckpointKeys
) -> None:
    # A second log writes a chain of its own: the checkpoints must agree with both.
    other = AuditLog(log.database)
    work = [
        (log if n % 2 else other).record_many([read(10 * n + k) for k in range(1 + n % 4)])
        for n in range(20)
    ]
    work += [(other if n % 2 else log).checkpoint(signer) for n in range(8)]
    await asyncio.gather(*work)
    await log.checkpoint(signer)
    report = await log.verify(keys=keys)
    assert report.ok
    assert report.unprotected == 0
    assert report.checkpoints == await AuditCheckpoint.all().count()


async def test_several_writers_at_once_lose_nothing_and_every_chain_verifies(
    log: AuditLog, signer: ReceiptSigner, keys: CheckpointKeys
) -> None:
    writers = [log, *(AuditLog(log.database) for _ in range(3))]
    work: list[Awaitable[object]] = [
        writers[n % 4].record_many([read(100 * n + k) for k in range(1 + n % 3)]) for n in range(60)
    ]
    work += [writers[n % 4].checkpoint(signer) for n in range(8)]
    results = await asyncio.gather(*work)
    written = [event for batch in results[:60] for event in batch]
    await log.checkpoint(signer)
    report = await log.verify(keys=keys)
    assert report.ok, report.problem
    assert report.checked == len(written) == sum(1 + n % 3 for n in range(60))
    assert {(c.chain, c.events) for c in report.chains} == {
        (writer.writer, sum(1 + n % 3 for n in range(index, 60, 4)))
        for index, writer in enumerate(writers)
    }
    assert report.unprotected == 0
    stored = await get_connection(log.database.backend).execute_query_dict(
        "SELECT id, hash FROM audit_events"
    )
    assert {(row["id"], row["hash"]) for row in stored} == {(e.id, e.hash) for e in written}


Tampering = Callable[[AuditLog, list[StoredEvent]], Awaitable[None]]


async def edited(log: AuditLog, events: list[StoredEvent]) -> None:
    await sql(log, "UPDATE audit_events SET purpose = $1 WHERE id = $2", "none", events[1].id)


async def deleted(log: AuditLog, events: list[StoredEvent]) -> None:
    await sql(log, "DELETE FROM audit_events WHERE id = $1", events[1].id)


async def reordered(log: AuditLog, events: list[StoredEvent]) -> None:
    """Swap two events' places in their chain, as their numbers say."""
    one, two = events[1], events[2]
    await sql(log, "UPDATE audit_events SET seq = $1 WHERE id = $2", -1, one.id)
    await sql(log, "UPDATE audit_events SET seq = $1 WHERE id = $2", one.seq, two.id)
    await sql(log, "UPDATE audit_events SET seq = $1 WHERE id = $2", two.seq, one.id)


async def tail_cut(log: AuditLog, events: list[StoredEvent]) -> None:
    await sql(log, "DELETE FROM audit_events WHERE chain = $1 AND seq > $2", events[0].chain, 2)


async def chain_deleted(log: AuditLog, events: list[StoredEvent]) -> None:
    await sql(log, "DELETE FROM audit_events WHERE chain = $1", events[0].chain)


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        pytest.param(edited, "changed", id="edited"),
        pytest.param(deleted, "does not follow", id="deleted"),
        pytest.param(reordered, "does not follow", id="reordered"),
        pytest.param(tail_cut, "newest events were cut", id="tail-cut"),
        pytest.param(chain_deleted, "the chain has no events", id="chain-deleted"),
    ],
)
async def test_tampering_with_one_of_several_chains_is_detected_in_that_chain(
    log: AuditLog,
    signer: ReceiptSigner,
    keys: CheckpointKeys,
    tamper: Tampering,
    problem: str,
) -> None:
    other = AuditLog(log.database)
    await record(other, 3)
    events = await record(log, 4, start=3)
    await record(other, 2, start=7)
    await log.checkpoint(signer)
    assert (await log.verify(keys=keys)).ok
    await tamper(log, events)
    report = await log.verify(keys=keys)
    assert not report.ok
    assert report.bad_chain == log.writer
    assert problem in report.problem
