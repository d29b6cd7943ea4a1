"""Social security: the health insurance card and the social insurance record of a person."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web

from integrations.simulators import known, synthetic
from integrations.simulators.app import Resource, SimulatorOptions, build_app

CARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["card_number", "holder_id", "full_name", "valid_from", "valid_to", "hospital"],
    "properties": {
        "card_number": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{13}$"},
        "holder_id": {"type": "string"},
        "full_name": {"type": "string"},
        "valid_from": {"type": "string", "format": "date"},
        "valid_to": {"type": "string", "format": "date"},
        "hospital": {
            "type": "object",
            "required": ["code", "name"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
        },
    },
}
SOCIAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["social_number", "holder_id", "status", "contribution_months"],
    "properties": {
        "social_number": {"type": "string", "pattern": "^[0-9]{10}$"},
        "holder_id": {"type": "string"},
        "status": {"enum": ["CONTRIBUTING", "PAUSED", "RETIRED", "NOT_CONTRIBUTING"]},
        "contribution_months": {"type": "integer", "minimum": 0},
    },
}
# Card prefixes name the insured group: employees, households, pupils, children under six.
_GROUPS = ("DN", "GD", "HS", "TE")


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class SimulatedSocialSecurity:
    """Every person holds a yearly health card; adults have a social insurance record."""

    def card(self, personal_id: str) -> dict[str, Any]:
        record = known.civil_record(personal_id)
        rng = synthetic.rng_for("health-card", personal_id)
        age = _age(record.date_of_birth, date.today())
        group = "TE" if age < 6 else "HS" if age < 18 else rng.choice(_GROUPS[:2])
        valid_from = date(date.today().year, 1, 1) + timedelta(days=rng.randint(0, 180))
        valid_to = valid_from.replace(year=valid_from.year + 1) - timedelta(days=1)
        hospital_no = rng.randint(1, 40)
        return {
            "card_number": f"{group}{rng.randint(1, 5)}{record.province_code[1:]}{personal_id[2:]}",
            "holder_id": personal_id,
            "full_name": record.full_name,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat(),
            "hospital": {
                "code": f"{record.province_code[1:]}-{hospital_no:03d}",
                "name": f"Bệnh viện Đa khoa số {hospital_no} {record.place_of_birth}",
            },
        }

    def social(self, personal_id: str) -> dict[str, Any]:
        record = known.civil_record(personal_id)
        rng = synthetic.rng_for("social", personal_id)
        age = _age(record.date_of_birth, date.today())
        months = 0 if age < 18 else rng.randint(0, (age - 18) * 12)
        if age >= 62 and months >= 240:
            status = "RETIRED"
        elif months == 0:
            status = "NOT_CONTRIBUTING"
        else:
            status = rng.choice(("CONTRIBUTING", "CONTRIBUTING", "CONTRIBUTING", "PAUSED"))
        return {
            "social_number": f"{rng.randrange(10**10):010d}",
            "holder_id": personal_id,
            "status": status,
            "contribution_months": months,
        }


def create_app(options: SimulatorOptions | None = None) -> web.Application:
    agency = SimulatedSocialSecurity()
    resources = [
        Resource(
            "cards", agency.card, CARD_SCHEMA, "One person's health insurance card",
            "Personal ID number of the card holder",
        ),
        Resource(
            "social", agency.social, SOCIAL_SCHEMA, "One person's social insurance record",
            "Personal ID number of the insured person",
        ),
    ]  # fmt: skip
    return build_app(
        "insurance",
        "Simulated social security agency",
        resources,
        options or SimulatorOptions(),
        known=known.PEOPLE,
    )
