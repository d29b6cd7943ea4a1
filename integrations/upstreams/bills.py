"""The contract-and-bills shape that the electricity and water agencies share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from integrations.upstreams.shapes import Fields


@dataclass(frozen=True, slots=True)
class Bill:
    """One month's bill; ``units`` are kWh or m³ depending on the utility."""

    period: str
    units: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class UtilityContract:
    contract_number: str
    supplier: str
    address: str
    status: str
    bills: tuple[Bill, ...]


C = TypeVar("C", bound=UtilityContract)


def decode_bill(fields: Fields) -> Bill:
    return Bill(fields.text("period"), fields.integer("units"), fields.amount("amount"))


def contracts_decoder(kind: type[C]) -> Callable[[Fields], tuple[C, ...]]:
    """Decoder of ``{"holder_id", "contracts": [...]}`` into a tuple of ``kind``."""

    def decode_contract(fields: Fields) -> C:
        return kind(
            contract_number=fields.text("contract_number"),
            supplier=fields.text("supplier"),
            address=fields.text("address"),
            status=fields.text("status"),
            bills=fields.each("bills", decode_bill),
        )

    def decode(fields: Fields) -> tuple[C, ...]:
        return fields.each("contracts", decode_contract)

    return decode
