"""Each flag raised by a crafted invoice and not by a clean one, through real agencies."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from integrations.risk import FlagCode, RiskAssessor
from integrations.simulators import Faults, RunningSimulators
from integrations.simulators.known import UNREGISTERED_PERSON
from integrations.store.analytics import InvoiceAnalytics, InvoiceFilter
from integrations.store.invoices import InvoiceRecord, InvoiceStore
from integrations.store.models import InvoiceFlag
from integrations.store.risk import RiskStore
from tests.integrations.store.invoice_factory import make_record
from tests.support.invoices import Keys, draft, signed

CEASED_SELLER = "0401234566"  # ceased on 2025-09-30 in the simulated tax registry


async def _assess(assessor: RiskAssessor, record: InvoiceRecord) -> set[FlagCode]:
    await InvoiceStore().insert(record)
    return {flag.code for flag in await assessor.assess(record.id)}


async def _active(record: InvoiceRecord) -> set[str]:
    rows = await InvoiceFlag.filter(invoice_id=record.id, cleared_at__isnull=True)
    return {row.code for row in rows}


async def test_a_clean_invoice_raises_nothing(assessor: RiskAssessor) -> None:
    assert await _assess(assessor, make_record()) == set()


async def test_totals_that_miss_the_lines(assessor: RiskAssessor) -> None:
    record = make_record(total_before_tax=Decimal(100001))
    assert await _assess(assessor, record) == {FlagCode.TOTALS_INCONSISTENT}
    page = await InvoiceAnalytics().search(InvoiceFilter(flag="TOTALS_INCONSISTENT"))
    assert [row.id for row in page.items] == [record.id]
    [view] = (await RiskStore().flags_of([record.id]))[record.id]
    assert "lines give 100000" in view.detail


async def test_a_buyer_the_population_registry_does_not_know(assessor: RiskAssessor) -> None:
    assert await _assess(assessor, make_record(buyer=UNREGISTERED_PERSON)) == {
        FlagCode.BUYER_UNKNOWN
    }


async def test_a_registry_outage_leaves_buyer_flags_as_they_were(
    assessor: RiskAssessor, healthy: RunningSimulators
) -> None:
    unknown = make_record(buyer=UNREGISTERED_PERSON)
    healthy.set_faults("population", Faults(down=True))
    assert await _assess(assessor, unknown) == set()
    healthy.set_faults("population", Faults())
    assert await assessor.refresh_buyer(UNREGISTERED_PERSON) == 1
    assert await _active(unknown) == {"BUYER_UNKNOWN"}
    healthy.set_faults("population", Faults(down=True))
    await assessor.refresh_buyer(UNREGISTERED_PERSON)
    assert await _active(unknown) == {"BUYER_UNKNOWN"}


async def test_invoices_dated_after_the_seller_ceased(assessor: RiskAssessor) -> None:
    before = make_record(seller=CEASED_SELLER, number=1, issued_on=date(2025, 9, 30))
    after = make_record(seller=CEASED_SELLER, number=2, issued_on=date(2025, 10, 2))
    assert await _assess(assessor, before) == set()
    assert await _assess(assessor, after) == {FlagCode.ISSUED_AFTER_CEASED}
    assert await assessor.refresh_seller(CEASED_SELLER) == 2
    assert await _active(before) == set()
    assert await _active(after) == {"ISSUED_AFTER_CEASED"}


async def test_a_gap_is_flagged_and_cleared_when_the_missing_number_arrives(
    assessor: RiskAssessor,
) -> None:
    first, second, third = (make_record(number=n) for n in (1, 2, 3))
    assert await _assess(assessor, first) == set()
    assert await _assess(assessor, third) == {FlagCode.NUMBERING_GAP}
    assert await _active(third) == {"NUMBERING_GAP"}
    assert await _assess(assessor, second) == set()
    assert await _active(third) == set()
    history = await InvoiceFlag.filter(invoice_id=third.id)
    assert [row.cleared_at is not None for row in history] == [True]


async def test_a_number_used_twice_in_a_series(assessor: RiskAssessor) -> None:
    original = make_record(number=1, template="1", series="C26TAA")
    reused = make_record(number=1, template="2", series="C26TAA")
    assert await _assess(assessor, original) == set()
    assert await _assess(assessor, reused) == {FlagCode.NUMBER_REUSED}


async def test_a_number_reused_names_every_other_template_in_order(
    assessor: RiskAssessor,
) -> None:
    for template in ("3", "1"):
        await _assess(assessor, make_record(number=1, template=template, series="C26TAA"))
    reused = make_record(number=1, template="2", series="C26TAA")
    await InvoiceStore().insert(reused)
    flags = await assessor.assess(reused.id)
    assert [flag.detail for flag in flags if flag.code is FlagCode.NUMBER_REUSED] == [
        "number 1 also used under template 1, 3"
    ]


async def test_numbers_whose_dates_run_backwards(assessor: RiskAssessor) -> None:
    one = make_record(number=1, issued_on=date(2026, 9, 10))
    two = make_record(number=2, issued_on=date(2026, 9, 3))
    assert await _assess(assessor, one) == set()
    assert await _assess(assessor, two) == {FlagCode.NUMBER_REUSED}


async def test_a_broken_order_is_flagged_where_it_breaks(assessor: RiskAssessor) -> None:
    """Against the neighbours: the later invoice dated in order with them raises nothing."""
    one = make_record(number=1, issued_on=date(2026, 9, 10))
    two = make_record(number=2, issued_on=date(2026, 9, 3))
    three = make_record(number=3, issued_on=date(2026, 9, 5))
    assert await _assess(assessor, one) == set()
    assert await _assess(assessor, two) == {FlagCode.NUMBER_REUSED}
    assert await _assess(assessor, three) == set()


async def test_a_higher_number_dated_earlier_flags_the_one_below(assessor: RiskAssessor) -> None:
    two = make_record(number=2, issued_on=date(2026, 9, 3))
    one = make_record(number=1, issued_on=date(2026, 9, 10))
    assert await _assess(assessor, two) == {FlagCode.NUMBERING_GAP}
    await InvoiceStore().insert(one)
    flags = await assessor.assess(one.id)
    assert [flag.detail for flag in flags if flag.code is FlagCode.NUMBER_REUSED] == [
        "number 2 of the series is dated out of order with this one"
    ]


async def test_an_attempt_made_after_a_sweep_read_its_facts_keeps_its_flag(
    assessor: RiskAssessor,
) -> None:
    """The intake raises the flag as it answers 409; a sweep holding facts read before the
    attempt has nothing to say about it, and leaves the flag."""
    original = make_record(number=1)
    await InvoiceStore().insert(original)
    read_before = await RiskStore().facts(original.id)
    await assessor.record_duplicate_attempt(original.id, sha256="ab" * 32, submitter="someone")
    await assessor.assess(original.id, facts=read_before)
    assert await _active(original) == {"DUPLICATE_ATTEMPT"}


async def test_other_content_under_a_held_key(assessor: RiskAssessor) -> None:
    original, bystander = make_record(number=1), make_record(number=2)
    await _assess(assessor, original)
    await _assess(assessor, bystander)
    flags = await assessor.record_duplicate_attempt(
        original.id, sha256=hashlib.sha256(b"other").hexdigest(), submitter="0100109106"
    )
    assert [flag.code for flag in flags] == [FlagCode.DUPLICATE_ATTEMPT]
    assert await _active(original) == {"DUPLICATE_ATTEMPT"}
    assert await _active(bystander) == set()


async def test_a_signature_with_a_key_revoked_since(
    assessor: RiskAssessor, intake_keys: Keys
) -> None:
    good = _signed_record(number=1, raw=signed(draft(1), intake_keys.restaurant))
    bad = _signed_record(number=2, raw=signed(draft(2), intake_keys.revoked))
    assert await _assess(assessor, good) == set()
    assert await _assess(assessor, bad) == {FlagCode.CERT_REVOKED}


async def test_a_certificate_expiring_soon_after_the_issue_date(
    assessor: RiskAssessor, intake_keys: Keys
) -> None:
    now = datetime.now(UTC)
    short = intake_keys.ca.issue(
        "Short-lived key", tax_code="0100109106", valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=10),
    )  # fmt: skip
    record = _signed_record(number=1, raw=signed(draft(1), short))
    assert await _assess(assessor, record) == {FlagCode.CERT_NEAR_EXPIRY}


def _signed_record(*, number: int, raw: bytes) -> InvoiceRecord:
    record = make_record(number=number, issued_on=date.today(), original=raw)
    return replace(record, sha256=hashlib.sha256(raw).hexdigest())
