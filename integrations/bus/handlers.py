"""The bus seam (``Bus``) and what every implementation shares: the handlers by topic."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from integrations.bus.envelope import Envelope

log = logging.getLogger("gateway.bus")

Handler = Callable[[Mapping[str, str]], Awaitable[None]]
"""Runs on each instance but the sender's, with the message's data."""
GapHandler = Callable[[], None]
"""Runs when messages may have been missed (the bus reconnected): drop what they would have."""


class Bus(Protocol):
    """Tells the other instances of the fleet what changed here.

    ``publish`` never waits and never fails: a change is committed before it is published,
    and the sender has already applied it to itself. What the others do with it is theirs.
    """

    origin: str
    """This instance's name on the bus; its own messages are not handed back to it."""

    def subscribe(self, topic: str, handler: Handler) -> None: ...

    def after_gap(self, handler: GapHandler) -> None: ...

    def publish(self, topic: str, data: Mapping[str, str]) -> None: ...

    async def start(self) -> None:
        """Listen before the app serves, so that no change published after is missed."""
        ...

    async def close(self) -> None: ...

    def health(self) -> tuple[bool, object]:
        """For ``/readyz``: healthy, and what to show."""
        ...


class Handlers:
    """Handlers by topic, run one message at a time in the order heard.

    A failing handler is logged and the others still run: one bad message must not stop the
    bus. ``delivered`` counts the messages handed to handlers.
    """

    def __init__(self) -> None:
        self._by_topic: dict[str, list[Handler]] = {}
        self._after_gap: list[GapHandler] = []
        self.delivered = 0

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._by_topic.setdefault(topic, []).append(handler)

    def after_gap(self, handler: GapHandler) -> None:
        self._after_gap.append(handler)

    async def deliver(self, envelope: Envelope) -> None:
        for handler in self._by_topic.get(envelope.topic, ()):
            try:
                await handler(envelope.data)
            except Exception:
                log.exception("bus handler failed", extra={"topic": envelope.topic})
        self.delivered += 1

    def gap(self) -> None:
        for handler in self._after_gap:
            handler()
