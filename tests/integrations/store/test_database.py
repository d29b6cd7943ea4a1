from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal

import pytest
from tortoise.exceptions import IntegrityError

from integrations.store.database import migrate, open_database
from integrations.store.models import Invoice, Merchant


def _invoice(number: int, sha: str) -> Invoice:
    return Invoice(
        id=uuid.uuid4(),
        seller_tax_code="0100109106",
        template="1",
        series="C26TAA",
        number=number,
        sha256=sha,
        version="2.1.0",
        issued_on=date(2026, 11, 2),
        currency="VND",
        seller_name="Nhà hàng Phở Hà Nội",
        total_before_tax=Decimal("1200000.000001"),
        total_tax=Decimal("96000"),
        total_payable=Decimal("1296000.000001"),
    )


@pytest.mark.usefixtures("db")
async def test_money_round_trips_exactly() -> None:
    await _invoice(1, "a" * 64).save()
    stored = await Invoice.get(number=1)
    assert stored.total_payable == Decimal("1296000.000001")
    assert isinstance(stored.total_tax, Decimal)


@pytest.mark.usefixtures("db")
async def test_invoice_key_is_unique_in_the_database() -> None:
    await _invoice(7, "b" * 64).save()
    with pytest.raises(IntegrityError):
        await _invoice(7, "c" * 64).save()


@pytest.mark.usefixtures("db")
async def test_concurrent_inserts_of_one_key_store_exactly_one() -> None:
    results = await asyncio.gather(
        *(_invoice(9, f"{i:064x}").save() for i in range(8)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, IntegrityError) for r in results if r is not None)
    assert await Invoice.filter(number=9).count() == 1


async def test_migrate_again_keeps_the_data(database_url: str) -> None:
    async with open_database(database_url):
        await Merchant.create(tax_code="0319303270", name="Khách sạn Sài Gòn")
    await migrate(database_url)
    async with open_database(database_url):
        assert await Merchant.filter(tax_code="0319303270").count() == 1
