from datetime import date

import pytest

from integrations.errors import IdentityError
from integrations.identity import PROVINCES, PersonalId, TaxCode, parse_taxpayer_id, tax_check_digit

TODAY = date(2026, 5, 1)

REAL_TAX_CODES = [
    "0100109106",
    "0313032391",
    "0309612872",
    "0106324653",
    "0106322455",
    "0309478306",
    "0301521415",
    "0401486901",
    "0314080292",
    "0101778163",
    "0319303270",
    "0311638525",
    "0102030405",
]


@pytest.mark.parametrize("text", REAL_TAX_CODES)
def test_real_tax_codes_pass(text: str) -> None:
    code = TaxCode(text)
    assert code.value == text
    assert code.parent == text
    assert code.branch is None


def test_worked_check_digits() -> None:
    assert tax_check_digit("010010910") == 6
    assert tax_check_digit("031930327") == 0  # S mod 11 == 10


def test_wrong_check_digit_names_the_expected_digit() -> None:
    with pytest.raises(IdentityError, match="check digit should be 6") as caught:
        TaxCode("0100109107")
    assert caught.value.code == "4010"
    assert caught.value.hint


def test_made_up_code_fails() -> None:
    with pytest.raises(IdentityError, match="check digit should be 2"):
        TaxCode("0108992345")


def test_prefix_with_sum_divisible_by_eleven_is_never_valid() -> None:
    prefix = next(f"{n:09d}" for n in range(10**8, 10**9) if tax_check_digit(f"{n:09d}") is None)
    for last in "0123456789":
        with pytest.raises(IdentityError, match="divisible by 11") as caught:
            TaxCode(prefix + last)
        assert caught.value.code == "4010"


@pytest.mark.parametrize("text", ["0100109106-001", "0100109106001", " 0100109106-001 "])
def test_branch_code_normalised(text: str) -> None:
    code = TaxCode(text)
    assert str(code) == "0100109106-001"
    assert code.parent == "0100109106"
    assert code.branch == "001"


def test_branch_suffix_000_is_invalid() -> None:
    with pytest.raises(IdentityError, match="not 000") as caught:
        TaxCode("0100109106-000")
    assert caught.value.code == "4009"


def test_branch_with_bad_parent_fails_on_the_parent() -> None:
    with pytest.raises(IdentityError, match="check digit should be 6"):
        TaxCode("0100109107-001")


@pytest.mark.parametrize(
    "text", ["", "010010910", "01001091066", "01001091O6", "0100109106-01", "0100109106_001"]
)
def test_malformed_tax_codes(text: str) -> None:
    with pytest.raises(IdentityError) as caught:
        TaxCode(text)
    assert caught.value.code == "4009"


def test_tax_codes_are_values() -> None:
    a, b = TaxCode("0100109106001"), TaxCode("0100109106-001")
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b, TaxCode("0100109106")}) == 2
    assert sorted([TaxCode("0319303270"), TaxCode("0100109106")])[0] == TaxCode("0100109106")
    assert TaxCode("0100109106") != "0100109106"
    assert repr(a) == "TaxCode('0100109106-001')"


def test_personal_id_hanoi_male_1999() -> None:
    pid = PersonalId("001099012345", today=TODAY)
    assert pid.value == "001099012345"
    assert pid.province_code == "001"
    assert pid.province_name == "Hà Nội"
    assert pid.sex == "male"
    assert pid.birth_year == 1999


def test_personal_id_hcmc_female_2001() -> None:
    pid = PersonalId("079301000123", today=TODAY)
    assert pid.province_name == "TP Hồ Chí Minh"
    assert pid.sex == "female"
    assert pid.birth_year == 2001


def test_unknown_province() -> None:
    with pytest.raises(IdentityError, match="003 is not a province code") as caught:
        PersonalId("003099012345", today=TODAY)
    assert caught.value.code == "4011"


def test_birth_year_in_the_future() -> None:
    with pytest.raises(IdentityError, match="2099, which is in the future") as caught:
        PersonalId("001299012345", today=TODAY)
    assert caught.value.code == "4011"


def test_birth_year_judged_against_today() -> None:
    assert PersonalId("001299012345", today=date(2099, 1, 1)).birth_year == 2099


def test_eleven_digits_is_wrong_shape() -> None:
    with pytest.raises(IdentityError, match="exactly 12 digits") as caught:
        PersonalId("00109901234", today=TODAY)
    assert caught.value.code == "4009"


def test_all_63_legacy_provinces_kept() -> None:
    assert len(PROVINCES) == 63
    for code in PROVINCES:
        assert PersonalId(f"{code}099012345", today=TODAY).province_code == code


@pytest.mark.parametrize(
    ("digit", "sex", "century"),
    [(0, "male", 1900), (1, "female", 1900), (2, "male", 2000), (3, "female", 2000)],
)
def test_century_and_sex_digit(digit: int, sex: str, century: int) -> None:
    pid = PersonalId(f"001{digit}05012345", today=TODAY)
    assert (pid.sex, pid.birth_year) == (sex, century + 5)


def test_personal_ids_are_values() -> None:
    a = PersonalId("001099012345", today=TODAY)
    assert a == PersonalId(" 001099012345", today=TODAY)
    assert a < PersonalId("079301000123", today=TODAY)
    assert len({a, PersonalId("001099012345", today=TODAY)}) == 1


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("0100109106", TaxCode, "0100109106"),
        ("0100 109 106 001", TaxCode, "0100109106-001"),
        ("0100109106-001", TaxCode, "0100109106-001"),
        ("079 301 000 123", PersonalId, "079301000123"),
    ],
)
def test_parse_taxpayer_id(text: str, kind: type, value: str) -> None:
    parsed = parse_taxpayer_id(text, today=TODAY)
    assert isinstance(parsed, kind)
    assert parsed.value == value


@pytest.mark.parametrize("text", ["00109901234", "0123456789012345", "abc"])
def test_parse_taxpayer_id_rejects_other_lengths(text: str) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_taxpayer_id(text, today=TODAY)
    assert caught.value.code == "4009"


def test_parse_taxpayer_id_passes_on_specific_errors() -> None:
    with pytest.raises(IdentityError, match="check digit should be 6"):
        parse_taxpayer_id("0100109107")
    with pytest.raises(IdentityError, match="003 is not a province code"):
        parse_taxpayer_id("003099012345", today=TODAY)
