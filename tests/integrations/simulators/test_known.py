from __future__ import annotations

import pytest

from integrations.identity import PersonalId, TaxCode
from integrations.simulators import known, synthetic


@pytest.mark.parametrize("person", known.PEOPLE.values(), ids=lambda p: p.id_number)
def test_known_people_agree_with_their_id(person: known.KnownPerson) -> None:
    pid = PersonalId(person.id_number)
    assert person.date_of_birth.year == pid.birth_year
    assert person.full_name.split()[1] in synthetic.MIDDLE_NAMES[pid.sex]
    if person.legacy_tax_code:
        TaxCode(person.legacy_tax_code)


@pytest.mark.parametrize("merchant", known.MERCHANTS.values(), ids=lambda m: m.tax_code)
def test_known_merchants_have_valid_codes(merchant: known.KnownMerchant) -> None:
    if merchant.kind == "household":
        assert merchant.owner_id in known.PEOPLE
        assert PersonalId(merchant.tax_code).value == merchant.owner_id
    else:
        assert TaxCode(merchant.tax_code).value == merchant.tax_code


def test_the_data_set_covers_what_the_demo_needs() -> None:
    kinds = {m.kind for m in known.MERCHANTS.values()}
    assert {"business", "branch", "household"} <= kinds
    assert any(m.status == "CEASED" and m.status_date for m in known.MERCHANTS.values())
    assert len(known.PEOPLE) >= 6
    assert len(known.LEGACY_CODES) >= 2


def test_civil_record_prefers_the_known_person() -> None:
    record = known.civil_record("001099012345")
    assert record.full_name == "Nguyễn Văn An"
    assert record.place_of_birth == "Hà Nội"
