"""The population registry: name, sex, birth date, place of birth and address by personal ID."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from integrations.simulators import known
from integrations.simulators.app import Resource, SimulatorOptions, build_app

PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id_number", "full_name", "sex", "date_of_birth",
        "province_code", "place_of_birth", "address",
    ],
    "properties": {
        "id_number": {"type": "string", "pattern": "^[0-9]{12}$"},
        "full_name": {"type": "string"},
        "sex": {"enum": ["male", "female"]},
        "date_of_birth": {"type": "string", "format": "date"},
        "province_code": {"type": "string", "pattern": "^[0-9]{3}$"},
        "place_of_birth": {"type": "string"},
        "address": {"type": "string"},
    },
}  # fmt: skip


class SimulatedPopulationRegistry:
    """Civil records: the fixed test people first, then synthetic people for any valid ID."""

    def person(self, id_number: str) -> dict[str, Any]:
        record = known.civil_record(id_number)
        return {
            "id_number": id_number,
            "full_name": record.full_name,
            "sex": record.sex,
            "date_of_birth": record.date_of_birth.isoformat(),
            "province_code": record.province_code,
            "place_of_birth": record.place_of_birth,
            "address": record.address,
        }


def create_app(options: SimulatorOptions | None = None) -> web.Application:
    registry = SimulatedPopulationRegistry()
    people = Resource(
        "people", registry.person, PERSON_SCHEMA, "One person's civil record", "Personal ID number"
    )
    return build_app(
        "population",
        "Simulated population registry",
        [people],
        options or SimulatorOptions(),
        known=known.PEOPLE,
    )
