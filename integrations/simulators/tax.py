"""The tax registry: businesses by 10/13-digit tax code, individuals by personal ID number.

Since July 2025 an individual's (and a household business's) tax code is the owner's personal
ID number; the older 10-digit personal tax codes stay mapped to it through ``legacy-codes``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from integrations.identity import TaxCode, parse_taxpayer_id
from integrations.simulators import known, synthetic
from integrations.simulators.app import Resource, SimulatorOptions, build_app

_NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
TAXPAYER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "tax_code", "kind", "name", "personal_id", "legacy_code", "parent_tax_code",
        "tax_office", "status", "status_date", "address",
    ],
    "properties": {
        "tax_code": {"type": "string", "pattern": "^[0-9]{10}(-[0-9]{3})?$|^[0-9]{12}$"},
        "kind": {"enum": ["business", "branch", "household", "individual"]},
        "name": {"type": "string"},
        "personal_id": {"type": ["string", "null"], "pattern": "^[0-9]{12}$"},
        "legacy_code": {"type": ["string", "null"], "pattern": "^[0-9]{10}$"},
        "parent_tax_code": {"type": ["string", "null"]},
        "tax_office": {"type": "string"},
        "status": {"enum": ["ACTIVE", "SUSPENDED", "CEASED"]},
        "status_date": _NULLABLE_DATE,
        "address": {"type": "string"},
    },
}  # fmt: skip
LEGACY_CODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["legacy_code", "personal_id"],
    "properties": {
        "legacy_code": {"type": "string", "pattern": "^[0-9]{10}$"},
        "personal_id": {"type": "string", "pattern": "^[0-9]{12}$"},
    },
}
_OFFICE_REGIONS = {"01": "Hà Nội", "02": "Hải Phòng", "03": "TP Hồ Chí Minh", "04": "Đà Nẵng"}
_TRADES = ("Thương mại", "Dịch vụ", "Xây dựng", "Công nghệ", "Vận tải", "Thực phẩm")
_BRANDS = ("Hòa Phát", "Minh Long", "An Khang", "Sao Mai", "Trường Sơn", "Bình An", "Hưng Thịnh")


def _office(province: str) -> str:
    return f"Thuế {province}"


def _legacy_code(personal_id: str) -> str | None:
    fixed = known.PEOPLE.get(personal_id)
    return fixed.legacy_tax_code if fixed else None


class SimulatedTaxRegistry:
    """Taxpayers: the fixed merchants and people first, synthetic ones for any valid code."""

    def taxpayer(self, code: str) -> dict[str, Any]:
        parsed = parse_taxpayer_id(code)
        if isinstance(parsed, TaxCode):
            return self._business(parsed.value)
        return self._individual(parsed.value)

    def legacy_code(self, code: str) -> dict[str, Any] | None:
        code = TaxCode(code).value
        if code != code[:10]:
            return None
        personal_id = known.LEGACY_CODES.get(code)
        return {"legacy_code": code, "personal_id": personal_id} if personal_id else None

    def _individual(self, personal_id: str) -> dict[str, Any]:
        shop = known.MERCHANTS.get(personal_id)
        if shop is not None:
            return _merchant_item(shop)
        record = known.civil_record(personal_id)
        person = known.PEOPLE.get(personal_id)
        when = person.tax_status_date if person else None
        return {
            "tax_code": personal_id,
            "kind": "individual",
            "name": record.full_name,
            "personal_id": personal_id,
            "legacy_code": _legacy_code(personal_id),
            "parent_tax_code": None,
            "tax_office": _office(record.place_of_birth),
            "status": person.tax_status if person else "ACTIVE",
            "status_date": when.isoformat() if when else None,
            "address": record.address,
        }

    def _business(self, code: str) -> dict[str, Any]:
        fixed = known.MERCHANTS.get(code)
        if fixed is not None:
            return _merchant_item(fixed)
        parent = code[:10]
        # Name and region come from the parent, so a branch is recognisably its enterprise's.
        rng = synthetic.rng_for("business", parent)
        name = f"Công ty TNHH {rng.choice(_TRADES)} {rng.choice(_BRANDS)}"
        province = _OFFICE_REGIONS.get(code[:2]) or synthetic.any_province(rng)
        if parent != code:
            name = f"{name} - Chi nhánh {code[-3:]}"
            rng = synthetic.rng_for("business", code)
        return {
            "tax_code": code,
            "kind": "branch" if parent != code else "business",
            "name": name,
            "personal_id": None,
            "legacy_code": None,
            "parent_tax_code": parent if parent != code else None,
            "tax_office": _office(province),
            "status": "ACTIVE",
            "status_date": None,
            "address": synthetic.address(rng, province),
        }


def _merchant_item(merchant: known.KnownMerchant) -> dict[str, Any]:
    parent = merchant.tax_code.split("-")[0]
    return {
        "tax_code": merchant.tax_code,
        "kind": merchant.kind,
        "name": merchant.name,
        "personal_id": merchant.owner_id,
        "legacy_code": _legacy_code(merchant.owner_id) if merchant.owner_id else None,
        "parent_tax_code": parent if merchant.kind == "branch" else None,
        "tax_office": _office(merchant.province),
        "status": merchant.status,
        "status_date": merchant.status_date.isoformat() if merchant.status_date else None,
        "address": merchant.address,
    }


def create_app(options: SimulatorOptions | None = None) -> web.Application:
    registry = SimulatedTaxRegistry()
    resources = [
        Resource(
            "taxpayers",
            registry.taxpayer,
            TAXPAYER_SCHEMA,
            "One taxpayer's registration",
            "Tax code (10 digits, or 10-3 for a branch) or 12-digit personal ID number",
        ),
        Resource(
            "legacy-codes",
            registry.legacy_code,
            LEGACY_CODE_SCHEMA,
            "The personal ID number behind a pre-2025 personal tax code",
            "Legacy 10-digit personal tax code",
        ),
    ]
    fixed = {*known.PEOPLE, *known.MERCHANTS, *known.LEGACY_CODES}
    return build_app(
        "tax", "Simulated tax registry", resources, options or SimulatorOptions(), known=fixed
    )
