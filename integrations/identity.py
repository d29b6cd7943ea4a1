"""Tax codes and personal ID numbers: parsed once, checked, normalised.

The rules are those of ``einvoice-format.md`` §7. Both types are immutable values that
compare and hash by their normalised text, so they can key dictionaries and sets::

    >>> code = TaxCode("0100109106001")
    >>> str(code), code.parent, code.branch
    ('0100109106-001', '0100109106', '001')
    >>> PersonalId("079301000123").province_name
    'TP Hồ Chí Minh'
"""

from __future__ import annotations

import functools
from datetime import date
from types import MappingProxyType
from typing import Final

from integrations.einvoice.codes import (
    IDENTITY_SHAPE,
    PERSONAL_ID_IMPLAUSIBLE,
    TAX_CODE_CHECK_DIGIT,
    Code,
)
from integrations.errors import IdentityError

_TAX_WEIGHTS: Final = (31, 29, 23, 19, 17, 13, 7, 5, 3)

# Codes issued before the 2025 merger; issued numbers never change, so all 63 stay valid.
PROVINCES: Final = MappingProxyType(
    {
        "001": "Hà Nội",
        "002": "Hà Giang",
        "004": "Cao Bằng",
        "006": "Bắc Kạn",
        "008": "Tuyên Quang",
        "010": "Lào Cai",
        "011": "Điện Biên",
        "012": "Lai Châu",
        "014": "Sơn La",
        "015": "Yên Bái",
        "017": "Hòa Bình",
        "019": "Thái Nguyên",
        "020": "Lạng Sơn",
        "022": "Quảng Ninh",
        "024": "Bắc Giang",
        "025": "Phú Thọ",
        "026": "Vĩnh Phúc",
        "027": "Bắc Ninh",
        "030": "Hải Dương",
        "031": "Hải Phòng",
        "033": "Hưng Yên",
        "034": "Thái Bình",
        "035": "Hà Nam",
        "036": "Nam Định",
        "037": "Ninh Bình",
        "038": "Thanh Hóa",
        "040": "Nghệ An",
        "042": "Hà Tĩnh",
        "044": "Quảng Bình",
        "045": "Quảng Trị",
        "046": "Thừa Thiên Huế",
        "048": "Đà Nẵng",
        "049": "Quảng Nam",
        "051": "Quảng Ngãi",
        "052": "Bình Định",
        "054": "Phú Yên",
        "056": "Khánh Hòa",
        "058": "Ninh Thuận",
        "060": "Bình Thuận",
        "062": "Kon Tum",
        "064": "Gia Lai",
        "066": "Đắk Lắk",
        "067": "Đắk Nông",
        "068": "Lâm Đồng",
        "070": "Bình Phước",
        "072": "Tây Ninh",
        "074": "Bình Dương",
        "075": "Đồng Nai",
        "077": "Bà Rịa–Vũng Tàu",
        "079": "TP Hồ Chí Minh",
        "080": "Long An",
        "082": "Tiền Giang",
        "083": "Bến Tre",
        "084": "Trà Vinh",
        "086": "Vĩnh Long",
        "087": "Đồng Tháp",
        "089": "An Giang",
        "091": "Kiên Giang",
        "092": "Cần Thơ",
        "093": "Hậu Giang",
        "094": "Sóc Trăng",
        "095": "Bạc Liêu",
        "096": "Cà Mau",
    }
)


def _fail(code: Code, message: str) -> IdentityError:
    return IdentityError(message, code=code.code, hint=code.hint)


def tax_check_digit(first_nine: str) -> int | None:
    """The check digit for nine leading digits, or None when no code can be issued on them.

    A weighted sum divisible by 11 would need the check digit 10, so the authority never
    issues such sequences.
    """
    remainder = sum(int(d) * w for d, w in zip(first_nine, _TAX_WEIGHTS, strict=True)) % 11
    if remainder == 0:
        return None
    return (10 - remainder) % 10


def _check_parent(parent: str) -> None:
    expected = tax_check_digit(parent[:9])
    if expected is None:
        raise _fail(
            TAX_CODE_CHECK_DIGIT,
            f"tax code {parent}: the weighted sum of the first nine digits is divisible by 11,"
            " so no such code is issued",
        )
    if int(parent[9]) != expected:
        raise _fail(
            TAX_CODE_CHECK_DIGIT,
            f"tax code {parent}: check digit should be {expected}, not {parent[9]}",
        )


def _normalise_tax_code(text: str) -> str:
    digits = text.strip()
    if len(digits) == 14 and digits[10] == "-":
        digits = digits[:10] + digits[11:]
    if not (digits.isascii() and digits.isdigit() and len(digits) in (10, 13)):
        raise _fail(
            IDENTITY_SHAPE,
            f"tax code {text!r} must be 10 digits, or 10 digits and a 3-digit branch suffix",
        )
    parent, branch = digits[:10], digits[10:]
    _check_parent(parent)
    if branch == "000":
        raise _fail(IDENTITY_SHAPE, f"tax code {text!r}: branch suffix must be 001-999, not 000")
    return f"{parent}-{branch}" if branch else parent


@functools.total_ordering
class TaxCode:
    """A 10-digit tax code, or a 13-digit branch code written ``NNNNNNNNNN-NNN``.

    Accepts the branch form with or without the hyphen; raises ``IdentityError`` (4009 shape,
    4010 check digit) with a message naming what is wrong.
    """

    __slots__ = ("_value",)

    def __init__(self, text: str) -> None:
        self._value = _normalise_tax_code(text)

    @property
    def value(self) -> str:
        return self._value

    @property
    def parent(self) -> str:
        """The 10-digit code of the enterprise; the code itself when it is not a branch."""
        return self._value[:10]

    @property
    def branch(self) -> str | None:
        return self._value[11:] or None

    def __str__(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"TaxCode({self._value!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TaxCode):
            return NotImplemented
        return self._value == other._value

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, TaxCode):
            return NotImplemented
        return self._value < other._value

    def __hash__(self) -> int:
        return hash((TaxCode, self._value))


def _check_personal_id(value: str, today: date) -> int:
    """Validate the structure and return the birth year."""
    if not (value.isascii() and value.isdigit() and len(value) == 12):
        raise _fail(IDENTITY_SHAPE, f"personal ID number {value!r} must be exactly 12 digits")
    if value[:3] not in PROVINCES:
        raise _fail(PERSONAL_ID_IMPLAUSIBLE, f"{value[:3]} is not a province code")
    birth_year = 1900 + 100 * (int(value[3]) // 2) + int(value[4:6])
    if birth_year > today.year:
        raise _fail(
            PERSONAL_ID_IMPLAUSIBLE,
            f"digits 4-6 ({value[3:6]}) give birth year {birth_year}, which is in the future",
        )
    return birth_year


@functools.total_ordering
class PersonalId:
    """A 12-digit personal ID number (CCCD), checked by structure: it has no check digit.

    ``today`` fixes the date the birth year is judged against (tests pass one; callers
    normally leave it out).
    """

    __slots__ = ("_birth_year", "_value")

    def __init__(self, text: str, *, today: date | None = None) -> None:
        value = text.strip()
        self._birth_year = _check_personal_id(value, today or date.today())
        self._value = value

    @property
    def value(self) -> str:
        return self._value

    @property
    def province_code(self) -> str:
        return self._value[:3]

    @property
    def province_name(self) -> str:
        return PROVINCES[self.province_code]

    @property
    def sex(self) -> str:
        return "male" if int(self._value[3]) % 2 == 0 else "female"

    @property
    def birth_year(self) -> int:
        return self._birth_year

    def __str__(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"PersonalId({self._value!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PersonalId):
            return NotImplemented
        return self._value == other._value

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PersonalId):
            return NotImplemented
        return self._value < other._value

    def __hash__(self) -> int:
        return hash((PersonalId, self._value))


def parse_taxpayer_id(text: str, *, today: date | None = None) -> TaxCode | PersonalId:
    """Read what may stand in an ``MST`` field since 07/2025: a tax code or a personal ID.

    Spaces anywhere are dropped, since numbers are often copied in groups.
    """
    compact = "".join(text.split())
    if len(compact) == 12 and compact.isdigit():
        return PersonalId(compact, today=today)
    if len(compact) in (10, 13, 14):
        return TaxCode(compact)
    raise _fail(
        IDENTITY_SHAPE,
        f"taxpayer ID {text!r} has {len(compact)} characters; expected a 10-digit tax code,"
        " a 13-digit branch code or a 12-digit personal ID number",
    )
