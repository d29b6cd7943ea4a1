"""The event bus: how one instance of the gateway tells the others what changed.

Instances share one database, but each keeps things in memory that a change elsewhere makes
wrong: the live subscribers of ``invoiceAccepted``, the merchants the intake read a moment
ago, the agency records an app read under a consent. Each such change is published after its
commit, as a small hint (a topic and a few names), and every other instance acts on it::

    bus = RedisBus(settings.redis_url, channel=settings.bus_channel)  # or MemoryBus()
    bus.subscribe("merchant.changed", forget)
    await bus.start()                    # listening before the app serves
    bus.publish("merchant.changed", {"taxCode": "0100109106"})

Redis pub/sub carries it (see docs/fleet.md for why not PostgreSQL ``LISTEN/NOTIFY``);
``MemoryBus`` stands in within one process.
"""

from integrations.bus.envelope import Envelope
from integrations.bus.handlers import Bus, GapHandler, Handler, Handlers
from integrations.bus.memory import MemoryBus
from integrations.bus.redis_pubsub import RedisBus

__all__ = ["Bus", "Envelope", "GapHandler", "Handler", "Handlers", "MemoryBus", "RedisBus"]
