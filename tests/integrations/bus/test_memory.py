"""The in-process bus: alone it tells no one; in a group, each member hears the others."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from integrations.bus import MemoryBus
from tests.support.waiting import until


async def test_members_hear_each_other_in_order_but_never_themselves() -> None:
    buses = MemoryBus.group(3)
    heard: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for number, bus in enumerate(buses):

        async def note(data: Mapping[str, str], number: int = number) -> None:
            heard[number].append(data["n"])

        bus.subscribe("t", note)
        await bus.start()
    buses[0].publish("t", {"n": "first"})
    buses[1].publish("t", {"n": "second"})
    buses[0].publish("other", {"n": "unheard"})
    await until(lambda: [bus.delivered for bus in buses] == [1, 2, 3])
    for bus in buses:
        await bus.close()
    assert heard == {0: ["second"], 1: ["first"], 2: ["first", "second"]}


async def test_a_failing_handler_does_not_stop_the_others() -> None:
    sender, receiver = MemoryBus.group(2)
    heard: list[str] = []

    async def fail(data: Mapping[str, str]) -> None:
        raise RuntimeError("broken handler")

    async def note(data: Mapping[str, str]) -> None:
        heard.append(data["n"])

    receiver.subscribe("t", fail)
    receiver.subscribe("t", note)
    await receiver.start()
    sender.publish("t", {"n": "1"})
    sender.publish("t", {"n": "2"})
    await until(lambda: receiver.delivered == 2)
    await receiver.close()
    assert heard == ["1", "2"]


async def test_alone_it_has_no_one_to_tell() -> None:
    bus = MemoryBus()
    await bus.start()
    bus.publish("t", {"n": "1"})
    await asyncio.sleep(0)
    health = bus.health()
    await bus.close()
    assert bus.delivered == 0
    assert health == (True, "in process, 0 other instances")
