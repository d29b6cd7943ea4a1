"""The fixed people and merchants that the demo and the tests name by number.

Everyone else is synthetic (see ``synthetic``); these records override it so that a reader of a
test or the demo can recognise who is who.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from integrations.simulators.synthetic import PersonRecord, person


@dataclass(frozen=True, slots=True)
class KnownPerson:
    id_number: str
    full_name: str
    date_of_birth: date
    address: str
    legacy_tax_code: str | None = None
    tax_status: str = "ACTIVE"
    tax_status_date: date | None = None


@dataclass(frozen=True, slots=True)
class KnownMerchant:
    """A registered business; ``owner_id`` is set for a household business."""

    tax_code: str
    name: str
    kind: str
    province: str
    address: str
    status: str = "ACTIVE"
    status_date: date | None = None
    owner_id: str | None = None


PEOPLE: dict[str, KnownPerson] = {
    p.id_number: p
    for p in (
        KnownPerson(
            "001099012345", "Nguyễn Văn An", date(1999, 3, 14),
            "12 Lý Thường Kiệt, Phường Cửa Nam, Hà Nội", legacy_tax_code="8012345677",
        ),
        KnownPerson(
            "079301000123", "Trần Thị Bình", date(2001, 7, 2),
            "45 Nguyễn Huệ, Phường Sài Gòn, TP Hồ Chí Minh",
        ),
        KnownPerson(
            "048085004321", "Lê Minh Cường", date(1985, 11, 23),
            "8 Bạch Đằng, Phường Hải Châu, Đà Nẵng", legacy_tax_code="8023456788",
        ),
        KnownPerson(
            "001190007777", "Phạm Thị Dung", date(1990, 5, 9),
            "27 Hàng Bạc, Phường Hoàn Kiếm, Hà Nội", legacy_tax_code="8034567899",
        ),
        KnownPerson(
            "031075001234", "Hoàng Đức Hải", date(1975, 1, 30),
            "102 Lạch Tray, Phường Gia Viên, Hải Phòng",
            tax_status="SUSPENDED", tax_status_date=date(2025, 10, 1),
        ),
        KnownPerson(
            "092303000456", "Võ Ngọc Giao", date(2003, 9, 17),
            "3 Hòa Bình, Phường Ninh Kiều, Cần Thơ",
        ),
    )
}  # fmt: skip

MERCHANTS: dict[str, KnownMerchant] = {
    m.tax_code: m
    for m in (
        KnownMerchant(
            "0100109106", "Công ty TNHH Nhà hàng Sen Hồ Tây", "business", "Hà Nội",
            "614 Lạc Long Quân, Phường Tây Hồ, Hà Nội",
        ),
        KnownMerchant(
            "0319303270", "Công ty CP Khách sạn Sông Sài Gòn", "business", "TP Hồ Chí Minh",
            "19 Tôn Đức Thắng, Phường Sài Gòn, TP Hồ Chí Minh",
        ),
        KnownMerchant(
            "0313032391", "Công ty TNHH Siêu thị Phương Nam", "business", "TP Hồ Chí Minh",
            "230 Điện Biên Phủ, Phường Xuân Hòa, TP Hồ Chí Minh",
        ),
        KnownMerchant(
            "0313032391-001", "Siêu thị Phương Nam - Chi nhánh Thủ Đức", "branch",
            "TP Hồ Chí Minh", "88 Võ Văn Ngân, Phường Thủ Đức, TP Hồ Chí Minh",
        ),
        KnownMerchant(
            "001190007777", "Hộ kinh doanh Phở Dung", "household", "Hà Nội",
            "27 Hàng Bạc, Phường Hoàn Kiếm, Hà Nội", owner_id="001190007777",
        ),
        KnownMerchant(
            "0401234566", "Công ty TNHH Cà phê Biển Xanh", "business", "Đà Nẵng",
            "5 Võ Nguyên Giáp, Phường Sơn Trà, Đà Nẵng",
            status="CEASED", status_date=date(2025, 9, 30),
        ),
    )
}  # fmt: skip

LEGACY_CODES: dict[str, str] = {
    p.legacy_tax_code: p.id_number for p in PEOPLE.values() if p.legacy_tax_code
}

UNREGISTERED_PERSON = "001088000404"
"""A valid personal ID number that no simulated agency has on record."""


def civil_record(id_number: str) -> PersonRecord:
    """The person every agency agrees on: a fixed test person, else the synthetic one."""
    record = person(id_number)
    fixed = PEOPLE.get(id_number)
    if fixed is None:
        return record
    return replace(
        record,
        full_name=fixed.full_name,
        date_of_birth=fixed.date_of_birth,
        address=fixed.address,
    )
