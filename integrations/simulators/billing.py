"""Utility contracts with monthly bills on a tiered tariff: electricity and water share this.

The two agencies differ only in their tariff, so each declares a ``Tariff`` and serves a
``SimulatedUtility``; the JSON shape of their contracts is the same.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from integrations.simulators import known, synthetic
from integrations.simulators.app import Resource, SimulatorOptions, build_app

Tier = tuple[int | None, Decimal]
"""Units in the tier (``None`` for everything above) and the price per unit in VND."""


@dataclass(frozen=True, slots=True)
class Tariff:
    """How one utility bills: price steps, VAT, usual monthly usage and naming."""

    tiers: Sequence[Tier]
    vat: Decimal
    usage: tuple[int, int]
    unit: str
    contract_prefix: str
    supplier_prefix: str


def tiered_amount(units: int, tiers: Sequence[Tier], vat: Decimal) -> Decimal:
    """The bill in whole VND: each tier's units at its price, plus VAT."""
    total = Decimal(0)
    left = units
    for size, price in tiers:
        used = left if size is None else min(left, size)
        total += used * price
        left -= used
        if left <= 0:
            break
    return (total * (1 + vat)).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def recent_periods(count: int, today: date | None = None) -> list[str]:
    """The ``count`` billing months before the current one, newest first, as ``YYYY-MM``."""
    today = today or date.today()
    index = today.year * 12 + today.month - 1
    return [f"{(index - n) // 12:04d}-{(index - n) % 12 + 1:02d}" for n in range(1, count + 1)]


class SimulatedUtility:
    """Zero to two contracts per adult in their home province, each with three recent bills."""

    def __init__(self, topic: str, tariff: Tariff) -> None:
        self._topic = topic
        self._tariff = tariff

    def contracts(self, personal_id: str) -> dict[str, Any]:
        record = known.civil_record(personal_id)
        rng = synthetic.rng_for(self._topic, personal_id)
        adult = record.date_of_birth.year <= date.today().year - 18
        count = rng.choice((1, 1, 1, 2)) if adult else 0
        contracts = [
            {
                "contract_number": f"{self._tariff.contract_prefix}{rng.randrange(10**9):09d}",
                "supplier": f"{self._tariff.supplier_prefix} {record.place_of_birth}",
                "address": record.address
                if n == 0
                else synthetic.address(rng, record.place_of_birth),
                "status": "ACTIVE",
                "bills": self._bills(rng),
            }
            for n in range(count)
        ]
        return {"holder_id": personal_id, "contracts": contracts}

    def _bills(self, rng: random.Random) -> list[dict[str, Any]]:
        tariff = self._tariff
        result = []
        for period in recent_periods(3):
            units = rng.randint(*tariff.usage)
            amount = tiered_amount(units, tariff.tiers, tariff.vat)
            result.append({"period": period, "units": units, "amount": str(amount)})
        return result


def contracts_schema(unit: str) -> dict[str, Any]:
    """JSON Schema of a person's utility contracts; ``unit`` documents what ``units`` count."""
    bill = {
        "type": "object",
        "required": ["period", "units", "amount"],
        "properties": {
            "period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "units": {"type": "integer", "minimum": 0, "description": unit},
            "amount": {"type": "string", "pattern": "^[0-9]+$", "description": "VND incl. VAT"},
        },
    }
    contract = {
        "type": "object",
        "required": ["contract_number", "supplier", "address", "status", "bills"],
        "properties": {
            "contract_number": {"type": "string"},
            "supplier": {"type": "string"},
            "address": {"type": "string"},
            "status": {"enum": ["ACTIVE", "TERMINATED"]},
            "bills": {"type": "array", "items": bill},
        },
    }
    return {
        "type": "object",
        "required": ["holder_id", "contracts"],
        "properties": {
            "holder_id": {"type": "string"},
            "contracts": {"type": "array", "items": contract},
        },
    }


def utility_app(
    agency: str, title: str, tariff: Tariff, options: SimulatorOptions | None
) -> web.Application:
    """A utility's simulator: one ``contracts`` resource billed with ``tariff``."""
    contracts = Resource(
        "contracts",
        SimulatedUtility(agency, tariff).contracts,
        contracts_schema(tariff.unit),
        f"{agency.capitalize()} contracts of one person",
        "Personal ID number of the contract holder",
    )
    return build_app(agency, title, [contracts], options or SimulatorOptions(), known=known.PEOPLE)
