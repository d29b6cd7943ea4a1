from __future__ import annotations

import pytest

from integrations.identity import PersonalId
from integrations.simulators import synthetic

SAMPLE = [
    f"{province}{digit}{year:02d}{serial:06d}"
    for province in ("001", "048", "096")
    for digit, years in (("0", (45, 99)), ("1", (60, 99)), ("2", (1, 20)), ("3", (5, 24)))
    for year in years
    for serial in (7, 123456)
]


@pytest.mark.parametrize("id_number", SAMPLE[:6] + SAMPLE[-6:])
def test_same_id_gives_the_same_person(id_number: str) -> None:
    assert synthetic.person(id_number) == synthetic.person(id_number)


@pytest.mark.parametrize("id_number", SAMPLE)
def test_person_agrees_with_the_digits_of_the_id(id_number: str) -> None:
    pid = PersonalId(id_number)
    person = synthetic.person(id_number)
    assert person.sex == pid.sex
    assert person.date_of_birth.year == pid.birth_year
    assert person.place_of_birth == pid.province_name
    assert person.address.endswith(pid.province_name)
    family, middle, given = person.full_name.split(" ", 2)
    assert family in synthetic.FAMILY_NAMES
    assert middle in synthetic.MIDDLE_NAMES[pid.sex]
    assert given in synthetic.GIVEN_NAMES[pid.sex]


def test_different_ids_give_different_people() -> None:
    names = {synthetic.person(f"001099{n:06d}").full_name for n in range(50)}
    assert len(names) > 25


def test_chance_is_stable_and_spread() -> None:
    draws = [synthetic.chance("tax", f"{n:012d}") for n in range(1000)]
    assert draws == [synthetic.chance("tax", f"{n:012d}") for n in range(1000)]
    assert 0.03 < sum(d < 0.05 for d in draws) / 1000 < 0.07
