"""The gateway's own intake and risk sweeper, built as the app builds them, without the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from gateway.config import Settings
from gateway.keys import KeyMaterial, load_key_material
from gateway.services import agency_urls, build_intake, upstream_settings, watch_risks
from integrations.cpu import CpuPool
from integrations.einvoice.batches import MessageIntake
from integrations.einvoice.pipeline import Intake
from integrations.risk.sweeper import RiskSweeper
from integrations.store.database import open_database
from integrations.store.messages import MessageStore
from integrations.upstreams import Upstreams


@dataclass(frozen=True, slots=True)
class RunningIntake:
    intake: Intake
    messages: MessageIntake
    sweeper: RiskSweeper
    keys: KeyMaterial


@asynccontextmanager
async def running_intake(settings: Settings) -> AsyncIterator[RunningIntake]:
    """The database, the agency simulators, the intake and the risk sweeper of ``settings``.

    No background task runs: a test sweeps when it wants the flags, so nothing is timed.
    """
    cpu = CpuPool()
    try:
        async with (
            open_database(settings.resolved_database_url),
            agency_urls(settings) as urls,
            Upstreams.open(
                upstream_settings(settings, urls), registry=CollectorRegistry()
            ) as agencies,
        ):
            keys = load_key_material(settings)
            intake = build_intake(settings, cpu, agencies, keys)
            sweeper = watch_risks(intake, agencies)
            try:
                yield RunningIntake(intake, MessageIntake(intake, MessageStore()), sweeper, keys)
            finally:
                # As the app does: else the follow-up worker is left pending, and its "Task was
                # destroyed" error lands in whichever later test's log capture collects it.
                await intake.events.close()
    finally:
        cpu.close()
