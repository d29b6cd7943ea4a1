from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from integrations.groupcommit import GroupCommit
from integrations.store import dialect, inserts
from integrations.store.invoices import (
    DuplicateInvoice,
    FeeRecord,
    InvoiceKey,
    InvoiceRecord,
    InvoiceStore,
    LineRecord,
    LinkRecord,
    ReceiptRecord,
    Signer,
    StoredInvoice,
    decode_cursor,
)
from integrations.store.models import IdentityLink, Invoice, InvoiceStatus, LinkState

pytestmark = pytest.mark.usefixtures("db")

SELLER = "0100109106"
BUYER = "001099012345"


def record(
    number: int,
    *,
    content: bytes | None = None,
    issued_on: date = date(2026, 11, 2),
    related: uuid.UUID | None = None,
    relation: str | None = None,
) -> InvoiceRecord:
    original = content or f"<HDon>{number}</HDon>".encode()
    invoice_id = uuid.uuid4()
    return InvoiceRecord(
        id=invoice_id,
        key=InvoiceKey(SELLER, "1", "C26TAA", number),
        sha256=hashlib.sha256(original).hexdigest(),
        original=original,
        version="2.1.0",
        name="Hóa đơn giá trị gia tăng",
        issued_on=issued_on,
        currency="VND",
        exchange_rate=None,
        seller_name="Nhà hàng Phở Hà Nội",
        buyer_name="Nguyễn Văn An",
        buyer_tax_code=None,
        buyer_personal_id=BUYER,
        total_before_tax=Decimal("100000"),
        total_tax=Decimal("8000"),
        total_payable=Decimal("108000"),
        is_cash_register=False,
        submitter=SELLER,
        receipt=ReceiptRecord(f"R-{invoice_id.hex}", "json", {"number": number}, b"<TDiep/>"),
        lines=(
            LineRecord(
                1,
                1,
                "Phở bò",
                quantity=Decimal(2),
                unit_price=Decimal(50000),
                amount=Decimal(100000),
                tax_rate="8%",
                tax_percent=Decimal(8),
            ),
        ),
        links=(
            LinkRecord("seller", "tax_code", SELLER, SELLER, LinkState.RESOLVED),
            LinkRecord("buyer", "personal_id", BUYER, BUYER, LinkState.RESOLVED),
        ),
        related_id=related,
        relation=relation,
    )


async def test_insert_and_read_back_everything() -> None:
    store = InvoiceStore()
    stored = await store.insert(record(1))
    again = await store.get(stored.id, with_lines=True)
    assert again is not None
    assert again.total_payable == Decimal("108000")
    assert again.lines[0].tax_percent == Decimal(8)
    assert await store.original(stored.id) == b"<HDon>1</HDon>"
    receipt = await store.receipt(stored.receipt_id)
    assert receipt is not None
    assert receipt.body == {"number": 1}
    assert [status for status, _, _ in await store.history(stored.id)] == ["accepted"]


async def test_same_bytes_and_same_key_are_told_apart() -> None:
    store = InvoiceStore()
    first = await store.insert(record(5))
    with pytest.raises(DuplicateInvoice) as same:
        await store.insert(record(5))
    assert same.value.same_bytes
    assert same.value.existing.id == first.id
    with pytest.raises(DuplicateInvoice) as other:
        await store.insert(record(5, content=b"<HDon>other</HDon>"))
    assert not other.value.same_bytes
    assert other.value.existing.id == first.id


async def test_concurrent_duplicates_store_exactly_one() -> None:
    store = InvoiceStore()
    outcomes = await asyncio.gather(
        *(store.insert(record(11, content=f"<HDon>{i}</HDon>".encode())) for i in range(6)),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, DuplicateInvoice) for o in outcomes if o not in winners)
    assert (await store.sold_by(SELLER, first=10)).items == winners


async def test_replacement_marks_the_original_and_keeps_history() -> None:
    store = InvoiceStore()
    original = await store.insert(record(20))
    await store.insert(record(21, related=original.id, relation="replacement"))
    again = await store.get(original.id)
    assert again is not None
    assert again.status is InvoiceStatus.REPLACED
    assert [s for s, _, _ in await store.history(original.id)] == ["accepted", "replaced"]


async def test_pages_both_ways_without_gaps_or_repeats() -> None:
    store = InvoiceStore()
    for number in range(1, 8):
        await store.insert(record(number, issued_on=date(2026, 11, number % 3 + 1)))
    seen: list[int] = []
    cursor = None
    while True:
        page = await store.bought_by(BUYER, first=3, after=cursor)
        seen += [item.key.number for item in page.items]
        if not page.has_next:
            break
        cursor = page.end_cursor
    assert sorted(seen) == list(range(1, 8))
    assert len(seen) == len(set(seen))
    sold = await store.sold_by(SELLER, first=100)
    assert [i.key.number for i in sold.items] == seen


def test_foreign_cursor_is_refused() -> None:
    with pytest.raises(ValueError, match="not one this gateway issued"):
        decode_cursor("bm9wZQ==")


async def test_insert_all_stores_everything_or_nothing() -> None:
    store = InvoiceStore()
    stored = await store.insert_all([record(30), record(31)])
    assert [item.key.number for item in stored] == [30, 31]
    with pytest.raises(DuplicateInvoice) as clash:
        await store.insert_all([record(32), record(31, content=b"<HDon>other 31</HDon>")])
    assert clash.value.existing.key.number == 31
    assert not clash.value.same_bytes
    assert await store.find_by_key(record(32).key) is None


@pytest.mark.parametrize("limit", [60, 400])
async def test_a_commit_past_one_statements_bound_values_is_stored_whole(
    monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Rows past the bound-value limits go in further statements: split within a table (60)
    and between tables (400), and nothing is lost or stored twice."""
    monkeypatch.setattr(inserts, "MAX_PARAMETERS", limit)
    monkeypatch.setattr(inserts, "TOGETHER_PARAMETERS", limit)
    records = [record(number) for number in range(50, 62)]
    stored = await InvoiceStore().insert_all(records)
    assert [item.key.number for item in stored] == list(range(50, 62))
    for item in records:
        again = await InvoiceStore().get(item.id, with_lines=True)
        assert again is not None
        assert len(again.lines) == 1
        assert await InvoiceStore().original(item.id) == item.original
        assert [status for status, _, _ in await InvoiceStore().history(item.id)] == ["accepted"]
        receipt = await InvoiceStore().receipt(item.receipt.id)
        assert receipt is not None
        assert receipt.body == item.receipt.body
    assert await IdentityLink.filter(invoice_id__in=[r.id for r in records]).count() == 24


async def test_nothing_queued_writes_nothing() -> None:
    await inserts.Inserts().write(dialect.connection())
    assert await Invoice.all().count() == 0


async def test_what_insert_answers_is_what_is_read_back() -> None:
    """The rows are written as SQL, not through models: every field, rounded to its column's
    places, reads back as the insert said it was stored."""
    full = replace(
        record(40),
        exchange_rate=Decimal("25432.12346"),
        total_tax=Decimal("8000.1234567"),
        tax_authority_code="00" + "AB" * 16,
        payment_method="TM/CK",
        fees=(FeeRecord("Phí phục vụ", Decimal("5000.5")), FeeRecord(None, None)),
        total_trade_discount=Decimal("1.25"),
        signer=Signer("CN=Nhà hàng", "0a1b", "CN=CA", "0312345678"),
        stamped=b"<HDon stamped/>",
        message_id="M-40",
    )
    stored = (await InvoiceStore().insert_all([full, record(41)]))[0]
    again = await InvoiceStore().get(full.id)
    assert again == stored
    assert again.exchange_rate == Decimal("25432.1235")
    assert again.total_tax == Decimal("8000.123457")
    assert again.fees == full.fees
    assert again.total_fees == Decimal("5000.5")
    assert again.signer == full.signer
    assert await InvoiceStore().stamped(full.id) == b"<HDon stamped/>"


class CountingStore(InvoiceStore):
    """Counts the transactions the writer opens, and the invoices in each."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def insert_all(self, records: Sequence[InvoiceRecord]) -> list[StoredInvoice]:
        self.batches.append(len(records))
        return await super().insert_all(records)


async def test_concurrent_invoices_are_committed_together() -> None:
    store = CountingStore()
    writer = GroupCommit(store.insert_all)
    records = [record(n) for n in range(50, 60)]
    stored = await asyncio.gather(*(writer.submit(r) for r in records))
    assert [s.key.number for s in stored] == list(range(50, 60))
    assert store.batches == [10]
    assert {s.id for s in (await store.sold_by(SELLER, first=20)).items} == {r.id for r in records}


async def test_a_duplicate_in_a_group_fails_alone() -> None:
    store = CountingStore()
    held = await store.insert(record(60))
    writer = GroupCommit(store.insert_all)
    clash = record(60, content=b"<HDon>other 60</HDon>")
    outcomes = await asyncio.gather(
        writer.submit(record(61)),
        writer.submit(clash),
        writer.submit(record(62)),
        return_exceptions=True,
    )
    assert [o.key.number for o in outcomes if isinstance(o, StoredInvoice)] == [61, 62]
    duplicate = outcomes[1]
    assert isinstance(duplicate, DuplicateInvoice)
    assert duplicate.existing.id == held.id
    assert not duplicate.same_bytes
    # The held invoice, the group, then each of the group alone.
    assert store.batches == [1, 3, 1, 1, 1]


async def test_invoices_arriving_during_a_commit_go_in_the_next_one() -> None:
    store = CountingStore()
    writer = GroupCommit(store.insert_all, max_group=4)
    first = asyncio.create_task(writer.submit(record(70)))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(writer.submit(record(n))) for n in range(71, 77)]
    stored = await asyncio.gather(first, *rest)
    assert [s.key.number for s in stored] == list(range(70, 77))
    assert store.batches == [1, 4, 2]
