"""The electricity distributor: supply contracts held by a person, with recent monthly bills."""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web

from integrations.simulators import known
from integrations.simulators.app import Resource, SimulatorOptions, build_app
from integrations.simulators.billing import SimulatedUtility, Tariff, contracts_schema

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
    utility = SimulatedUtility("electricity", TARIFF)
    contracts = Resource(
        "contracts",
        utility.contracts,
        contracts_schema(TARIFF.unit),
        "Electricity contracts of one person",
        "Personal ID number of the contract holder",
    )
    return build_app(
        "electricity",
        "Simulated electricity distributor",
        [contracts],
        options or SimulatorOptions(),
        known=known.PEOPLE,
    )
