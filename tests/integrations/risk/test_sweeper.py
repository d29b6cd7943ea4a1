from __future__ import annotations

import asyncio

from integrations.risk import FlagCode, RiskAssessor
from integrations.risk.sweeper import RiskSweeper
from integrations.simulators.known import UNREGISTERED_PERSON
from integrations.store.invoices import InvoiceStore
from integrations.store.models import Invoice, InvoiceFlag
from integrations.store.risk import RiskStore
from tests.integrations.store.invoice_factory import make_record


async def test_sweep_assesses_every_waiting_invoice_once(assessor: RiskAssessor) -> None:
    store = InvoiceStore()
    for number in range(1, 4):
        await store.insert(make_record(number=number, buyer=UNREGISTERED_PERSON))
    sweeper = RiskSweeper(assessor, RiskStore())
    assert await sweeper.sweep() == 3
    assert await sweeper.sweep() == 0
    assert await Invoice.filter(risk_assessed_at__isnull=True).count() == 0
    flagged = await InvoiceFlag.filter(code=FlagCode.BUYER_UNKNOWN.value).count()
    assert flagged == 3


async def test_a_poke_wakes_the_running_sweeper(assessor: RiskAssessor) -> None:
    sweeper = RiskSweeper(assessor, RiskStore(), idle=60)
    task = asyncio.create_task(sweeper.run())
    try:
        await asyncio.sleep(0.05)
        await InvoiceStore().insert(make_record(number=7))
        sweeper.poke()
        for _ in range(100):
            if not await Invoice.filter(risk_assessed_at__isnull=True).exists():
                break
            await asyncio.sleep(0.02)
        assert not await Invoice.filter(risk_assessed_at__isnull=True).exists()
    finally:
        task.cancel()


async def test_two_sweepers_share_the_work_without_assessing_twice(assessor: RiskAssessor) -> None:
    store = InvoiceStore()
    for number in range(1, 11):
        await store.insert(make_record(number=number, buyer=UNREGISTERED_PERSON))
    first, second = RiskSweeper(assessor, RiskStore()), RiskSweeper(assessor, RiskStore())
    done = await asyncio.gather(first.sweep(), second.sweep())
    assert sum(done) == 10
    assert await InvoiceFlag.filter(code=FlagCode.BUYER_UNKNOWN.value).count() == 10
