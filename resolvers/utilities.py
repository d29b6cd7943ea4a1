"""Utilities by the holder's ID number: electricity and water contracts with recent bills,
and telecom subscriptions, each from its own agency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from integrations.access import SensitiveField
from integrations.upstreams import Bill as BillRecord
from integrations.upstreams import TelecomSubscription as SubscriptionRecord
from integrations.upstreams import UtilityContract as ContractRecord
from resolvers.context import Info


@strawberry.type(description="One month's bill.")
class Bill:
    period: str
    units: int
    amount: Decimal

    @classmethod
    def of(cls, bill: BillRecord) -> Bill:
        return cls(period=bill.period, units=bill.units, amount=bill.amount)


@strawberry.type(description="A supply contract with its recent bills; units are in ``unit``.")
class UtilityContract:
    contract_number: str
    supplier: str
    address: str
    status: str
    unit: str
    bills: list[Bill]

    @classmethod
    def of(cls, contract: ContractRecord, unit: str) -> UtilityContract:
        return cls(
            contract_number=contract.contract_number,
            supplier=contract.supplier,
            address=contract.address,
            status=contract.status,
            unit=unit,
            bills=[Bill.of(bill) for bill in contract.bills],
        )


def mask_phone(msisdn: str) -> str:
    """Keep the operator prefix and the last two digits: ``0912345678`` → ``091*****78``."""
    return msisdn[:3] + "*" * max(len(msisdn) - 5, 0) + msisdn[-2:]


@strawberry.type(description="A mobile subscription registered to the person.")
class TelecomSubscription:
    msisdn: str = strawberry.field(
        description="The phone number; masked unless the reader may see phone numbers."
    )
    operator: str
    plan: str
    status: str
    since: date

    @classmethod
    def of(cls, subscription: SubscriptionRecord, *, masked: bool) -> TelecomSubscription:
        number = subscription.msisdn
        return cls(
            msisdn=mask_phone(number) if masked else number,
            operator=subscription.operator,
            plan=subscription.plan,
            status=subscription.status,
            since=subscription.since,
        )


@strawberry.type(description="What the utilities hold about one person.")
class Utilities:
    holder_id: strawberry.Private[str]

    @strawberry.field
    async def electricity(self, info: Info) -> list[UtilityContract] | None:
        contracts = await info.context.loaders.electricity.load(self.holder_id)
        return None if contracts is None else [UtilityContract.of(c, "kWh") for c in contracts]

    @strawberry.field
    async def water(self, info: Info) -> list[UtilityContract] | None:
        contracts = await info.context.loaders.water.load(self.holder_id)
        return None if contracts is None else [UtilityContract.of(c, "m³") for c in contracts]

    @strawberry.field
    async def telecom(self, info: Info) -> list[TelecomSubscription] | None:
        subscriptions = await info.context.loaders.telecom.load(self.holder_id)
        if subscriptions is None:
            return None
        masked = info.context.access.masks(SensitiveField.PHONE)
        return [TelecomSubscription.of(s, masked=masked) for s in subscriptions]
