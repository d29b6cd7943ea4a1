"""The bus of instances in one process: by default one instance alone, with no one to tell.

A single process applies every change to itself as it makes it, so alone this bus does
nothing, and the gateway runs exactly as it would without one. Buses made by ``MemoryBus.group``
hand each other's messages on, in order, as Redis would between processes::

    first, second = MemoryBus.group(2)
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping

from integrations.bus.envelope import Envelope
from integrations.bus.handlers import Handlers


class MemoryBus(Handlers):
    def __init__(self, *, members: list[MemoryBus] | None = None) -> None:
        super().__init__()
        self.origin = uuid.uuid4().hex
        self._members = members if members is not None else []
        self._members.append(self)
        self._inbox: asyncio.Queue[Envelope] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    def group(cls, size: int) -> list[MemoryBus]:
        """``size`` buses that hear each other."""
        members: list[MemoryBus] = []
        return [cls(members=members) for _ in range(size)]

    def publish(self, topic: str, data: Mapping[str, str]) -> None:
        envelope = Envelope(self.origin, topic, dict(data))
        for member in self._members:
            if member is not self:
                member._inbox.put_nowait(envelope)

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._members.remove(self)

    def health(self) -> tuple[bool, object]:
        return True, f"in process, {len(self._members) - 1} other instances"

    async def _read(self) -> None:
        while True:
            await self.deliver(await self._inbox.get())
