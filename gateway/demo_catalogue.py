"""The demo's invoices: one draft per example shape, from the merchants the simulators know.

Sellers and buyers are the merchants and people of ``integrations.simulators.known``, so that
the demo's agency simulators know every party of every invoice. The drafts are checked in,
unsigned, under ``examples/unsigned/`` (``write_examples``); ``gateway demo`` signs them, with
one more restaurant invoice its software provider signs and one 206 batch from the household's
cash register. Each series is numbered from 1 without gaps, in date order, so that none of them
raises a risk flag (README, "Example invoices").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from integrations.einvoice.compose import (
    FeeDraft,
    InvoiceDraft,
    LineDraft,
    PartyDraft,
    RelatedDraft,
    compose_invoice,
)

PROVIDER_TAX_CODE = "0309612872"
"""The invoice-software provider named in MSTTCGP, allowed to sign and submit for the restaurant."""
_RESTAURANT = PartyDraft(
    name="Công ty TNHH Nhà hàng Sen Hồ Tây",
    tax_code="0100109106",
    address="614 Lạc Long Quân, Phường Tây Hồ, Hà Nội",
    phone="02437181234",
    email="ketoan@senhotay.vn",
    bank_account="0011001234567",
    bank_name="Ngân hàng TMCP Ngoại thương Việt Nam - CN Hà Nội",
    website="https://senhotay.vn",
)
_SUPERMARKET = PartyDraft(
    name="Công ty TNHH Siêu thị Phương Nam",
    tax_code="0313032391",
    address="230 Điện Biên Phủ, Phường Xuân Hòa, TP Hồ Chí Minh",
    phone="02839951234",
    email="hoadon@sieuthiphuongnam.vn",
)


def restaurant_invoice() -> InvoiceDraft:
    """A business dinner: food at the reduced 8 % rate, drinks at 10 %, a discounted wine."""
    return InvoiceDraft(
        seller=_RESTAURANT,
        buyer=replace(
            _SUPERMARKET, contact_name="Lê Minh Cường", phone=None, customer_code="KH00451"
        ),
        lines=(
            LineDraft("Gỏi cuốn tôm thịt", Decimal(2), Decimal(85000), "8%", item_code="MA01"),
            LineDraft("Phở bò tái chín", Decimal(4), Decimal(75000), "8%", "tô", item_code="MA02"),
            LineDraft("Cá kho tộ", Decimal(1), Decimal(165000), "8%", item_code="MA03"),
            LineDraft("Rau muống xào tỏi", Decimal(2), Decimal(55000), "8%", "đĩa"),
            LineDraft("Cơm chiên hải sản", Decimal(2), Decimal(95000), "8%", "đĩa"),
            LineDraft("Nước ép cam", Decimal(3), Decimal(45000), "8%", "ly"),
            LineDraft("Bia Sài Gòn Special", Decimal(12), Decimal(28000), "10%", "lon"),
            LineDraft(
                "Rượu vang đỏ Đà Lạt",
                Decimal(1),
                Decimal(450000),
                "10%",
                "chai",
                discount_rate=Decimal(10),
            ),
        ),
        series="C26TSV",
        number=1,
        issued_on=date(2026, 11, 20),
        provider_tax_code=PROVIDER_TAX_CODE,
        dlhdon_id="DLHDon-SV-0000001",
        extensions=(("Số bàn", "12"), ("Mã tra cứu", "SV26TQ8K4M2P")),
    )


def hotel_invoice() -> InvoiceDraft:
    """A three-night business stay billed in US dollars, format 2.0.0, with an airport transfer."""
    return InvoiceDraft(
        seller=PartyDraft(
            name="Công ty CP Khách sạn Sông Sài Gòn",
            tax_code="0319303270",
            address="19 Tôn Đức Thắng, Phường Sài Gòn, TP Hồ Chí Minh",
            phone="02838291234",
            email="frontdesk@songsaigonhotel.vn",
        ),
        buyer=replace(
            _RESTAURANT,
            contact_name="Nguyễn Văn An",
            website=None,
            bank_account=None,
            bank_name=None,
        ),
        lines=(
            LineDraft("Phòng Deluxe hướng sông", Decimal(3), Decimal("120.00"), "8%", "đêm"),
            LineDraft("Ăn sáng buffet", Decimal(6), Decimal("12.50"), "8%", "suất"),
            LineDraft("Giặt là", Decimal(1), Decimal("18.75"), "8%", "lần"),
            LineDraft("Minibar: rượu vang", Decimal(2), Decimal("14.30"), "10%", "chai"),
        ),
        series="C26TSG",
        number=1,
        issued_on=date(2026, 11, 22),
        version="2.0.0",
        currency="USD",
        exchange_rate=Decimal("25415.00"),
        payment_method="CK",
        provider_tax_code=PROVIDER_TAX_CODE,
        extra_fee=FeeDraft("Phí đưa đón sân bay", Decimal("25.00")),
    )


def supermarket_invoice() -> InvoiceDraft:
    """A sales invoice with line discounts, a free promotional item and a member discount."""
    return InvoiceDraft(
        seller=_SUPERMARKET,
        buyer=PartyDraft(
            name="Trần Thị Bình",
            personal_id="079301000123",
            address="45 Nguyễn Huệ, Phường Sài Gòn, TP Hồ Chí Minh",
            phone="0903123456",
        ),
        lines=(
            LineDraft("Gạo ST25 túi 5kg", Decimal(2), Decimal(189000), unit="túi"),
            LineDraft(
                "Dầu ăn Tường An 1L",
                Decimal(3),
                Decimal(52000),
                unit="chai",
                discount_rate=Decimal(10),
            ),
            LineDraft("Sữa tươi tiệt trùng 1L", Decimal(6), Decimal(33500), unit="hộp"),
            LineDraft(
                "Nước mắm Phú Quốc 500ml",
                Decimal(2),
                Decimal(68000),
                unit="chai",
                discount_amount=Decimal(10000),
            ),
            LineDraft("Ly thủy tinh (khuyến mại)", Decimal(1), Decimal(0), unit="cái", nature=2),
            LineDraft("Chiết khấu thẻ thành viên", Decimal(1), Decimal(25000), unit="", nature=3),
            LineDraft("Hàng khuyến mại không đổi trả", Decimal(0), Decimal(0), nature=4),
        ),
        template="2",
        series="K26TPN",
        number=1,
        issued_on=date(2026, 11, 23),
        payment_method="Tiền mặt",
        provider_tax_code=PROVIDER_TAX_CODE,
    )


def replacement_invoice() -> InvoiceDraft:
    """Replaces the restaurant invoice whose buyer name was wrong."""
    original = restaurant_invoice()
    return replace(
        original,
        number=2,
        issued_on=date(2026, 11, 21),
        dlhdon_id="DLHDon-SV-0000002",
        related=RelatedDraft(
            nature=1,
            template=original.template,
            series=original.series,
            number=original.number,
            issued_on=original.issued_on,
            note="Thay thế hóa đơn số 1 do sai tên người mua",
        ),
    )


def adjustment_invoice() -> InvoiceDraft:
    """Lowers the price of one dish on the restaurant invoice: negative amounts throughout."""
    original = restaurant_invoice()
    return replace(
        original,
        number=3,
        issued_on=date(2026, 11, 24),
        dlhdon_id="DLHDon-SV-0000003",
        lines=(
            LineDraft("Điều chỉnh giảm đơn giá Phở bò tái chín", Decimal(4), Decimal(-5000), "8%"),
        ),
        extensions=(),
        related=RelatedDraft(
            nature=2,
            template=original.template,
            series=original.series,
            number=original.number,
            issued_on=original.issued_on,
            note="Điều chỉnh giảm đơn giá theo biên bản ngày 24/11/2026",
        ),
    )


def household_invoice(version: str = "2.1.0") -> InvoiceDraft:
    """A cash-register sales invoice from a household noodle shop; the buyer gives a CCCDan.

    Since Circular 86/2024 the household business's tax code is its owner's personal ID number.
    In format 2.0.1 it is the next sale (number 2), written by software still on the 1510
    formats.
    """
    number = 1 if version == "2.1.0" else 2
    return InvoiceDraft(
        seller=PartyDraft(
            name="Hộ kinh doanh Phở Dung",
            tax_code="001190007777",
            address="27 Hàng Bạc, Phường Hoàn Kiếm, Hà Nội",
        ),
        buyer=PartyDraft(name="Nguyễn Văn An", personal_id="001099012345"),
        lines=(
            LineDraft("Phở bò đặc biệt", Decimal(2), Decimal(65000), unit="tô"),
            LineDraft("Quẩy", Decimal(4), Decimal(5000), unit="cái"),
            LineDraft("Trà đá", Decimal(2), Decimal(5000), unit="ly"),
        ),
        template="2",
        series="C26MBT",
        number=number,
        issued_on=date(2026, 11, 25),
        version=version,
        payment_method="Tiền mặt",
        provider_tax_code=PROVIDER_TAX_CODE,
        cash_register_code=f"M2-26-QW7Z3-{number:011d}",
    )


def provider_signed_invoice() -> InvoiceDraft:
    """A later restaurant invoice that its software provider signs with its own certificate."""
    return replace(
        restaurant_invoice(), number=4, issued_on=date(2026, 11, 26), dlhdon_id="DLHDon-SV-0000004"
    )


def cash_register_batch() -> list[InvoiceDraft]:
    """Sales 3 and 4 of the household's cash register, sent the same day as one 206."""
    return [
        replace(household_invoice(), number=number, cash_register_code=f"M2-26-QW7Z3-{number:011d}")
        for number in (3, 4)
    ]


EXAMPLES: dict[str, Callable[[], InvoiceDraft]] = {
    "restaurant-vat-mixed": restaurant_invoice,
    "replacement": replacement_invoice,
    "adjustment": adjustment_invoice,
    "hotel-usd": hotel_invoice,
    "supermarket-sales": supermarket_invoice,
    "household-cash-register": household_invoice,
    "household-cash-register-2.0.1": lambda: household_invoice("2.0.1"),
}
"""The checked-in examples by file name, in the order the demo submits them."""


def demo_invoices() -> dict[str, InvoiceDraft]:
    """Every example shape by name."""
    return {name: make() for name, make in EXAMPLES.items()}


def write_examples(folder: Path) -> list[Path]:
    """Writes ``<name>.xml`` for every example; the test suite checks the files stay current."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draft in demo_invoices().items():
        path = folder / f"{name}.xml"
        path.write_bytes(compose_invoice(draft))
        written.append(path)
    return written
