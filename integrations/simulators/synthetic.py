"""Deterministic synthetic records: the same ID always yields the same person, everywhere.

Every value is drawn from a ``random.Random`` seeded by a hash of a topic and the ID, so the
population registry and the tax registry agree on a synthetic person's name without sharing
any state, and tests can rely on a stable answer.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta

from integrations.identity import PROVINCES, PersonalId

FAMILY_NAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
)  # fmt: skip
MIDDLE_NAMES = {
    "male": ("Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Thành", "Gia"),
    "female": ("Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mai", "Bảo", "Diệu"),
}
GIVEN_NAMES = {
    "male": (
        "An", "Bình", "Cường", "Dũng", "Hùng", "Huy", "Khoa", "Long", "Nam", "Phúc",
        "Quân", "Sơn", "Tuấn", "Việt", "Hải", "Khánh",
    ),
    "female": (
        "Anh", "Châu", "Dung", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai",
        "Nhung", "Phương", "Thảo", "Trang", "Vy", "Yến",
    ),
}  # fmt: skip
STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt",
    "Điện Biên Phủ", "Nguyễn Huệ", "Quang Trung", "Phan Chu Trinh", "Hùng Vương",
)  # fmt: skip
WARDS = ("Bến Nghé", "Tân Định", "Hòa Bình", "Thống Nhất", "Minh Khai", "Đông Hưng", "An Phú")


def rng_for(topic: str, key: str) -> random.Random:
    """A generator private to one (topic, key) pair, stable across processes and versions."""
    digest = hashlib.sha256(f"{topic}:{key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def chance(topic: str, key: str) -> float:
    """A stable number in [0, 1) for deciding rare cases such as "not registered"."""
    return rng_for(topic, key).random()


def address(rng: random.Random, province: str) -> str:
    """A Vietnamese street address in the given province."""
    number = rng.randint(1, 350)
    return f"{number} {rng.choice(STREETS)}, Phường {rng.choice(WARDS)}, {province}"


def any_province(rng: random.Random) -> str:
    return rng.choice(sorted(PROVINCES.values()))


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """The civil facts every agency agrees on for one personal ID number."""

    id_number: str
    full_name: str
    sex: str
    date_of_birth: date
    province_code: str
    place_of_birth: str
    address: str


def full_name(rng: random.Random, sex: str) -> str:
    family = rng.choice(FAMILY_NAMES)
    return f"{family} {rng.choice(MIDDLE_NAMES[sex])} {rng.choice(GIVEN_NAMES[sex])}"


def birth_date(rng: random.Random, personal_id: PersonalId) -> date:
    year = personal_id.birth_year
    start = date(year, 1, 1)
    days = (min(date(year, 12, 31), date.today()) - start).days
    return start + timedelta(days=rng.randint(0, days))


def person(id_number: str) -> PersonRecord:
    """The synthetic person behind a valid personal ID number; raises ``IdentityError``."""
    pid = PersonalId(id_number)
    rng = rng_for("person", pid.value)
    return PersonRecord(
        id_number=pid.value,
        full_name=full_name(rng, pid.sex),
        sex=pid.sex,
        date_of_birth=birth_date(rng, pid),
        province_code=pid.province_code,
        place_of_birth=pid.province_name,
        address=address(rng, pid.province_name),
    )
