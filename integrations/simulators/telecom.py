"""The telecom subscriber registry: mobile subscriptions registered to a personal ID number."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web

from integrations.simulators import known, synthetic
from integrations.simulators.app import Resource, SimulatorOptions, build_app

SUBSCRIPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["holder_id", "subscriptions"],
    "properties": {
        "holder_id": {"type": "string"},
        "subscriptions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["msisdn", "operator", "plan", "status", "since"],
                "properties": {
                    "msisdn": {"type": "string", "pattern": "^0[0-9]{9}$"},
                    "operator": {"enum": ["Viettel", "VinaPhone", "MobiFone"]},
                    "plan": {"type": "string"},
                    "status": {"enum": ["ACTIVE", "SUSPENDED"]},
                    "since": {"type": "string", "format": "date"},
                },
            },
        },
    },
}
_PREFIXES = {
    "Viettel": ("096", "097", "098"),
    "VinaPhone": ("091", "094"),
    "MobiFone": ("090", "093"),
}
_PLANS = ("Trả trước", "Trả sau ST90", "Trả sau V120", "Data 5G")


class SimulatedSubscriberRegistry:
    """One to three SIMs per person aged 14 or more, none for younger children."""

    def subscriptions(self, personal_id: str) -> dict[str, Any]:
        record = known.civil_record(personal_id)
        rng = synthetic.rng_for("telecom", personal_id)
        first_day = record.date_of_birth.replace(year=record.date_of_birth.year + 14)
        count = rng.choice((1, 1, 2, 3)) if first_day <= date.today() else 0
        items = []
        for _ in range(count):
            operator = rng.choice(sorted(_PREFIXES))
            span = max((date.today() - first_day).days, 1)
            items.append(
                {
                    "msisdn": f"{rng.choice(_PREFIXES[operator])}{rng.randrange(10**7):07d}",
                    "operator": operator,
                    "plan": rng.choice(_PLANS),
                    "status": "SUSPENDED" if rng.random() < 0.1 else "ACTIVE",
                    "since": (first_day + timedelta(days=rng.randrange(span))).isoformat(),
                }
            )
        return {"holder_id": personal_id, "subscriptions": items}


def create_app(options: SimulatorOptions | None = None) -> web.Application:
    registry = SimulatedSubscriberRegistry()
    subscriptions = Resource(
        "subscriptions",
        registry.subscriptions,
        SUBSCRIPTIONS_SCHEMA,
        "Mobile subscriptions registered to one person",
        "Personal ID number of the subscriber",
    )
    return build_app(
        "telecom",
        "Simulated telecom subscriber registry",
        [subscriptions],
        options or SimulatorOptions(),
        known=known.PEOPLE,
    )
