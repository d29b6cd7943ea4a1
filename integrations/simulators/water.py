"""The water utility: supply contracts held by a person, with recent monthly bills."""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web

from integrations.simulators.app import SimulatorOptions
from integrations.simulators.billing import Tariff, utility_app

# Household steps in VND per m³: 10, 10, 10 m³, then the rest; 5 % VAT.
TARIFF = Tariff(
    tiers=(
        (10, Decimal("5973")),
        (10, Decimal("7052")),
        (10, Decimal("8669")),
        (None, Decimal("15929")),
    ),
    vat=Decimal("0.05"),
    usage=(4, 40),
    unit="m³",
    contract_prefix="NC",
    supplier_prefix="Cấp nước",
)


def create_app(options: SimulatorOptions | None = None) -> web.Application:
    return utility_app("water", "Simulated water utility", TARIFF, options)
