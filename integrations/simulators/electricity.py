"""The electricity distributor: supply contracts held by a person, with recent monthly bills."""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web

from integrations.simulators.app import SimulatorOptions
from integrations.simulators.billing import Tariff, utility_app

# Household steps in VND per kWh: 50, 50, 100, 100, 100 kWh, then the rest; 8 % VAT.
TARIFF = Tariff(
    tiers=(
        (50, Decimal("1984")),
        (50, Decimal("2050")),
        (100, Decimal("2380")),
        (100, Decimal("2998")),
        (100, Decimal("3350")),
        (None, Decimal("3460")),
    ),
    vat=Decimal("0.08"),
    usage=(60, 600),
    unit="kWh",
    contract_prefix="PE",
    supplier_prefix="Điện lực",
)


def create_app(options: SimulatorOptions | None = None) -> web.Application:
    return utility_app("electricity", "Simulated electricity distributor", TARIFF, options)
