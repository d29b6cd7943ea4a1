from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from integrations.einvoice.pki import SignerIdentity
from integrations.einvoice.signature import TrustStore
from integrations.risk import FlagCode, RiskAssessor
from integrations.risk.flags import Flag
from integrations.risk.numbering import NumberingCheck
from integrations.risk.sweeper import RiskSweeper
from integrations.simulators.known import UNREGISTERED_PERSON
from integrations.store.invoices import InvoiceRecord, InvoiceStore, Signer
from integrations.store.merchants import MerchantRegistry
from integrations.store.models import Invoice, InvoiceFlag, MerchantStatus
from integrations.store.risk import InvoiceFacts, RiskStore
from integrations.upstreams import Upstreams
from integrations.upstreams.tax import Taxpayer, TaxpayerKind, TaxStatus
from tests.integrations.store.invoice_factory import SELLERS, make_record
from tests.support.invoices import HOTEL, RESTAURANT, Keys, draft, signed


@pytest.fixture
def trust(intake_keys: Keys) -> TrustStore:
    return TrustStore.from_files([intake_keys.anchor_file], [intake_keys.crl_file])


def signed_record(
    seller: str, signer: SignerIdentity, *, named: bool = False, number: int = 1
) -> InvoiceRecord:
    """A stored invoice of ``seller`` that ``signer`` signed, so the certificate check reads it;
    ``named`` stores who signed, as the intake does (invoices stored earlier do not say)."""
    raw = signed(draft(number, seller=seller), signer)
    record = make_record(seller=seller, number=number, issued_on=date.today(), original=raw)
    certificate = signer.certificate
    signature = Signer(
        certificate.subject.rfc4514_string(),
        format(certificate.serial_number, "x"),
        certificate.issuer.rfc4514_string(),
    )
    return replace(
        record, sha256=hashlib.sha256(raw).hexdigest(), signer=signature if named else None
    )


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


@dataclass(frozen=True)
class CountedNumbering(NumberingCheck):
    """The numbering check, counting whose numbering it judges."""

    judged: list[int] = field(default_factory=list)

    async def run(self, facts: InvoiceFacts) -> list[Flag]:
        self.judged.append(facts.number)
        return await super().run(facts)


@pytest.mark.parametrize(
    ("arrived", "judged"),
    [
        pytest.param([1, 2, 3, 4], [1, 2, 3, 4], id="in-order"),
        pytest.param([2, 4, 1, 3], [2, 4, 1, 2, 3, 4], id="gaps-closed-later"),
    ],
)
async def test_a_sweep_judges_a_successor_again_only_when_already_judged(
    upstreams: Upstreams, trust: TrustStore, db: None, arrived: list[int], judged: list[int]
) -> None:
    """Each invoice's numbering is judged once in a sweep; a successor judged earlier in it
    is judged again, as the number before it may close its gap."""
    store = InvoiceStore()
    for number in arrived:
        await store.insert(make_record(number=number))
    assessor = RiskAssessor(
        store=RiskStore(), population=upstreams.population, tax=upstreams.tax, revocations=trust
    )
    counted = assessor.numbering = CountedNumbering()
    assessor.checks = tuple(
        counted if isinstance(check, NumberingCheck) else check for check in assessor.checks
    )
    assert await RiskSweeper(assessor, RiskStore()).sweep() == 4
    assert counted.judged == judged
    assert (
        await InvoiceFlag.filter(code=FlagCode.NUMBERING_GAP.value, cleared_at__isnull=True).count()
        == 0
    )


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


class CountedReads(RiskStore):
    """The risk store, counting how the facts of invoices are read."""

    def __init__(self) -> None:
        self.reads: list[int] = []

    async def facts_of(self, invoice_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, InvoiceFacts]:
        self.reads.append(len(invoice_ids))
        return await super().facts_of(invoice_ids)


async def test_a_sweep_reads_the_facts_of_its_claim_at_once(
    upstreams: Upstreams, trust: TrustStore, db: None
) -> None:
    """One read for the claim; only a successor judged again is read on its own."""
    store = InvoiceStore()
    for number in (2, 4, 1, 3):
        await store.insert(make_record(number=number))
    counted = CountedReads()
    assessor = RiskAssessor(
        store=counted, population=upstreams.population, tax=upstreams.tax, revocations=trust
    )
    assert await RiskSweeper(assessor, counted).sweep() == 4
    assert counted.reads == [4, 1, 1]
    facts = await counted.facts_of([i.id for i in await Invoice.all()])
    assert {f.number: f.successor is not None for f in facts.values()} == {
        1: True, 2: True, 3: True, 4: False
    }  # fmt: skip
    assert await counted.facts_of([uuid.uuid4()]) == {}


class FailsTheFirstClaim(RiskStore):
    """The risk store as a database that is gone for the first claim and back after it."""

    def __init__(self) -> None:
        self.failed = asyncio.Event()
        self.settled = asyncio.Event()

    async def claim_unassessed(self, *, limit: int, at: datetime) -> list[uuid.UUID]:
        if not self.failed.is_set():
            self.failed.set()
            raise ConnectionError("the database is gone")
        return await super().claim_unassessed(limit=limit, at=at)

    async def settle(self, invoice_id: uuid.UUID, **outcome: Any) -> None:
        await super().settle(invoice_id, **outcome)
        self.settled.set()


async def test_the_running_sweeper_outlives_a_failed_sweep(
    upstreams: Upstreams, trust: TrustStore, db: None
) -> None:
    store = FailsTheFirstClaim()
    assessor = RiskAssessor(
        store=store, population=upstreams.population, tax=upstreams.tax, revocations=trust
    )
    sweeper = RiskSweeper(assessor, store, idle=60)
    await InvoiceStore().insert(make_record(number=7))
    task = asyncio.create_task(sweeper.run())
    try:
        async with asyncio.timeout(10):
            await store.failed.wait()
            sweeper.poke()
            await store.settled.wait()
        assert not task.done()
        assert not await Invoice.filter(risk_assessed_at__isnull=True).exists()
    finally:
        sweeper.stop()
        await task


class StopsAfterTheFirstAssessment(RiskStore):
    """The risk store, stopping the sweeper as soon as it has settled one invoice."""

    def __init__(self) -> None:
        self.sweeper: RiskSweeper | None = None

    async def settle(self, invoice_id: uuid.UUID, **outcome: Any) -> None:
        await super().settle(invoice_id, **outcome)
        if self.sweeper is not None:
            self.sweeper.stop()


async def test_a_stopped_sweeper_finishes_the_invoice_in_hand_and_gives_the_rest_back(
    upstreams: Upstreams, assessor: RiskAssessor, trust: TrustStore
) -> None:
    """Stopping is not cancelling: the invoice in hand is assessed, ``run`` returns on its
    own, and the rest of its batch is claimed and assessed by the next sweeper."""
    for number in range(1, 6):
        await InvoiceStore().insert(make_record(number=number, buyer=UNREGISTERED_PERSON))
    store = StopsAfterTheFirstAssessment()
    assessor = RiskAssessor(
        store=store, population=upstreams.population, tax=upstreams.tax, revocations=trust
    )
    store.sweeper = RiskSweeper(assessor, RiskStore(), idle=60)
    async with asyncio.timeout(30):
        await store.sweeper.run()
    assert await Invoice.filter(risk_assessed_at__isnull=False).count() == 1
    assert await InvoiceFlag.filter(code=FlagCode.BUYER_UNKNOWN.value).count() == 1
    assert await RiskSweeper(assessor, RiskStore()).sweep() == 4
    assert await InvoiceFlag.filter(code=FlagCode.BUYER_UNKNOWN.value).count() == 5


async def test_two_sweepers_share_the_work_without_assessing_twice(assessor: RiskAssessor) -> None:
    store = InvoiceStore()
    for number in range(1, 11):
        await store.insert(make_record(number=number, buyer=UNREGISTERED_PERSON))
    first, second = RiskSweeper(assessor, RiskStore()), RiskSweeper(assessor, RiskStore())
    done = await asyncio.gather(first.sweep(), second.sweep())
    assert sum(done) == 10
    assert await InvoiceFlag.filter(code=FlagCode.BUYER_UNKNOWN.value).count() == 10


class TaxRegistry:
    """The tax registry as a stand-in whose answer the test changes, as a real one changes."""

    def __init__(self) -> None:
        self.ceased: dict[str, date] = {}

    async def taxpayers(self, codes: Sequence[str], *, scope: str) -> dict[str, Taxpayer | None]:
        return {code: self._taxpayer(code) for code in codes}

    def _taxpayer(self, code: str) -> Taxpayer:
        ceased = self.ceased.get(code)
        status = TaxStatus.CEASED if ceased else TaxStatus.ACTIVE
        return Taxpayer(code, TaxpayerKind.BUSINESS, "Nhà hàng", None, None, None, "Thuế Hà Nội",
                        status, ceased, "Hà Nội")  # fmt: skip


async def active_flags(invoice_id: uuid.UUID) -> set[str]:
    return set((await RiskStore().active(invoice_id)).keys())


async def test_a_status_change_has_the_sellers_invoices_assessed_again(
    upstreams: Upstreams, trust: TrustStore, db: None
) -> None:
    """Suspending a seller whose tax registration has ceased flags what it issued after; making
    it active again, registration restored, clears the flags."""
    tax = TaxRegistry()
    assessor = RiskAssessor(
        store=RiskStore(), population=upstreams.population, tax=tax, revocations=trust
    )
    sweeper, registry = RiskSweeper(assessor, RiskStore()), MerchantRegistry()
    await registry.add(SELLERS[0], "Nhà hàng Sen Hồ Tây")
    store = InvoiceStore()
    before, after = (
        make_record(seller=SELLERS[0], number=n, issued_on=date(2026, 9, d))
        for n, d in ((1, 1), (2, 20))
    )
    other = make_record(seller=SELLERS[1], number=1, issued_on=date(2026, 9, 20))
    for record in (before, after, other):
        await store.insert(record)
    assert await sweeper.sweep() == 3
    tax.ceased[SELLERS[0]] = tax.ceased[SELLERS[1]] = date(2026, 9, 10)
    assert await sweeper.sweep() == 0
    await registry.set_status(SELLERS[0], MerchantStatus.SUSPENDED)
    assert await sweeper.sweep() == 2
    assert await active_flags(after.id) == {FlagCode.ISSUED_AFTER_CEASED.value}
    assert await active_flags(before.id) == set()
    assert await active_flags(other.id) == set(), "another seller's invoices stay as they were"
    await registry.set_status(SELLERS[0], MerchantStatus.SUSPENDED)
    assert await sweeper.sweep() == 0, "no change, nothing to assess again"
    del tax.ceased[SELLERS[0]]
    await registry.set_status(SELLERS[0], MerchantStatus.ACTIVE)
    assert await sweeper.sweep() == 2
    assert await active_flags(after.id) == set()


async def test_a_certificate_revoked_by_a_new_crl_flags_what_it_signed(
    upstreams: Upstreams, trust: TrustStore, intake_keys: Keys, db: None
) -> None:
    """The restaurant's registered certificate and a stranger's are revoked in a new CRL: the
    invoices that name either as their signer are assessed again, and so are the invoices that
    name no signer of the restaurant and of a seller letting it sign for it; what they signed
    is flagged, and what the hotel signed is not."""
    registry = MerchantRegistry()
    for code, signer in ((RESTAURANT, intake_keys.restaurant), (HOTEL, intake_keys.hotel)):
        await registry.add(code, code)
        await registry.add_certificate(code, signer.certificate.public_bytes(Encoding.PEM))
    await registry.add(SELLERS[2], "Siêu thị")
    await registry.grant(SELLERS[2], RESTAURANT, can_sign=True, can_submit=True)
    signed_by_it = [
        signed_record(RESTAURANT, intake_keys.restaurant),
        signed_record(SELLERS[2], intake_keys.restaurant),
        signed_record(SELLERS[3], intake_keys.stranger, named=True),
    ]
    hotel = signed_record(HOTEL, intake_keys.hotel)
    for record in (*signed_by_it, hotel):
        await InvoiceStore().insert(record)
    assessor = RiskAssessor(
        store=RiskStore(), population=upstreams.population, tax=upstreams.tax, revocations=trust
    )
    sweeper = RiskSweeper(assessor, RiskStore())
    assert await sweeper.sweep() == 4
    now, issuer = datetime.now(UTC), intake_keys.ca.certificate.subject.rfc4514_string()
    serials = [intake_keys.revoked, intake_keys.restaurant, intake_keys.stranger]
    crl = intake_keys.ca.revoke([s.serial_number for s in serials], revoked_at=now)
    revoked = trust.reload([crl])
    assert revoked == {(issuer, s.serial_number) for s in serials[1:]}
    assert await RiskStore().reassess_signed_with(revoked) == 3
    assert await sweeper.sweep() == 3
    for record in signed_by_it:
        assert await active_flags(record.id) == {FlagCode.CERT_REVOKED.value}
    assert await active_flags(hotel.id) == set()


class CountedOriginals(RiskStore):
    """The risk store, counting whose original is read back."""

    def __init__(self) -> None:
        self.read: list[uuid.UUID] = []

    async def original(self, invoice_id: uuid.UUID) -> bytes | None:
        self.read.append(invoice_id)
        return await super().original(invoice_id)


async def test_a_certificate_the_intake_named_is_read_back_once(
    upstreams: Upstreams, trust: TrustStore, intake_keys: Keys, db: None
) -> None:
    """Invoices that name their signer, as the intake's do, are judged with the certificate
    read back from the first one's original; invoices that do not are read back each time.
    Both are flagged alike."""
    key = intake_keys.revoked
    named = [signed_record(SELLERS[0], key, named=True, number=n) for n in (1, 2, 3)]
    unnamed = [signed_record(SELLERS[0], key, number=n) for n in (4, 5)]
    for record in (*named, *unnamed):
        await InvoiceStore().insert(record)
    counted = CountedOriginals()
    assessor = RiskAssessor(
        store=counted, population=upstreams.population, tax=upstreams.tax, revocations=trust
    )
    assert await RiskSweeper(assessor, RiskStore()).sweep() == 5
    assert counted.read == [named[0].id, unnamed[0].id, unnamed[1].id]
    for record in (*named, *unnamed):
        assert FlagCode.CERT_REVOKED.value in await active_flags(record.id)


async def test_a_mark_made_while_an_assessment_runs_is_kept(assessor: RiskAssessor) -> None:
    record = make_record(number=1)
    await InvoiceStore().insert(record)
    [claimed] = await RiskStore().claim_unassessed(limit=1, at=datetime.now(UTC))
    await RiskStore().reassess_sold_by([record.key.seller_tax_code])
    await assessor.assess(claimed)
    assert await RiskSweeper(assessor, RiskStore()).sweep() == 1
