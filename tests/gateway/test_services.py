"""The services a running gateway starts beside its routes."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime

from gateway import demo
from gateway.app import create_app
from gateway.config import Settings
from gateway.keys import DemoPki, load_key_material
from gateway.services import reload_revocations, upstream_settings
from integrations.access.audit import AuditLog, AuditRecord, Outcome
from integrations.access.checkpoints import CheckpointKeys
from integrations.einvoice.pipeline import Submitter
from integrations.einvoice.pki import write_crl
from integrations.store.audit import Checkpoint
from integrations.store.database import Database
from integrations.store.risk import RiskStore
from tests.support.intake import running_intake
from tests.support.servers import in_process_client


async def signed(log: AuditLog, head_id: int) -> Checkpoint:
    """The first checkpoint of ``head_id``, once one has been signed."""
    while True:
        made = await log.store.checkpoints_after(0, 100)
        if made and made[-1].head_id == head_id:
            return made[-1]
        await asyncio.sleep(0.05)


async def test_the_gateway_signs_checkpoints_of_the_access_log_at_its_interval(
    settings: Settings,
) -> None:
    settings = settings.with_values(audit_checkpoint_seconds=1)
    async with in_process_client(create_app(settings)):
        log = AuditLog(Database(settings.resolved_database_url))
        read = AuditRecord("officer:o", "officer", "079301000123", ("tax",), (), Outcome.ALLOWED)
        event = await log.record(read)
        # Waits for the gateway's own task; the bound only keeps a broken one from hanging.
        async with asyncio.timeout(60):
            made = await signed(log, event.id)
        keys = CheckpointKeys.of([load_key_material(settings).signer.certificate])
        report = await log.verify(keys=keys)
    assert report.ok
    assert report.latest_checkpoint == made
    assert (report.checked, report.unprotected) == (1, 0)


async def test_a_started_gateway_has_frozen_its_start_up_heap(settings: Settings) -> None:
    """What start-up built is out of the collector's sight; what requests make is not.

    A frozen object can still be freed, so the count may fall; it must never grow."""
    gc.unfreeze()
    async with in_process_client(create_app(settings)) as client:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert (await client.get("/healthz")).status_code == 200
        assert gc.get_freeze_count() <= frozen


def test_one_agency_call_has_one_time_budget_for_every_attempt(settings: Settings) -> None:
    settings = settings.with_values(upstream_timeout_seconds=2.0)
    (population, *_) = upstream_settings(settings, {"population": "http://agency"}).values()
    assert population.deadline == population.total_timeout == 2.0


async def test_a_crl_rewritten_while_the_gateway_runs_flags_what_the_revoked_key_signed(
    settings: Settings,
) -> None:
    pki = DemoPki(settings.data_dir / "pki")
    async with running_intake(settings) as running:
        await demo.seed_demo(running.intake.registry, pki)
        (hotel,) = [
            example
            for example in demo.write_signed_examples(settings.data_dir / "examples", pki)
            if example.submitter == demo.HOTEL
        ]
        raw = hotel.path.read_bytes()
        accepted = await running.intake.submit_invoice(
            raw, "application/xml", Submitter(demo.HOTEL)
        )
        assert await running.sweeper.sweep() == 1
        assert await reload_revocations(running.keys.crls, running.sweeper, running.intake.cpu) == 0
        key = pki.ensure_merchant(demo.HOTEL, "Khách sạn")
        revoking = pki.authority().revoke([key.serial_number], revoked_at=datetime.now(UTC))
        write_crl(revoking, pki.crl_file)
        assert await reload_revocations(running.keys.crls, running.sweeper, running.intake.cpu) == 1
        assert await running.sweeper.sweep() == 1
        flags = await RiskStore().active(accepted.invoice.id)
    assert set(flags) == {"CERT_REVOKED"}
