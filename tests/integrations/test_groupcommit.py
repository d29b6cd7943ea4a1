"""The group-commit writer: who shares a commit, who hears of a failure, and what a stop leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from integrations.groupcommit import GroupCommit, WriterStopped


class Rejected(Exception):
    pass


class Ledger:
    """Writes groups of words, refusing any group that holds "bad"; can hold a commit open, or
    be cancelled in it as a shutting-down process cancels its tasks."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.cancelled = False

    async def write(self, words: Sequence[str]) -> list[str]:
        if self.gate is not None:
            await self.gate.wait()
        if self.cancelled:
            raise asyncio.CancelledError
        if "bad" in words:
            raise ValueError(f"refused {list(words)}")
        self.groups.append(list(words))
        return [word.upper() for word in words]


async def test_callers_arriving_together_share_one_commit() -> None:
    ledger = Ledger()
    writer = GroupCommit(ledger.write)
    assert await asyncio.gather(*(writer.submit(w) for w in ["a", "b", "c"])) == ["A", "B", "C"]
    assert ledger.groups == [["a", "b", "c"]]


async def test_one_bad_item_fails_alone_through_failed() -> None:
    ledger = Ledger()
    writer = GroupCommit(ledger.write, failed=lambda exc: Rejected(str(exc)))
    outcomes = await asyncio.gather(
        *(writer.submit(w) for w in ["a", "bad", "c"]), return_exceptions=True
    )
    assert outcomes[0::2] == ["A", "C"]
    assert isinstance(outcomes[1], Rejected)
    assert ledger.groups == [["a"], ["c"]]


async def test_a_caller_giving_up_leaves_its_item_in_the_commit() -> None:
    ledger = Ledger()
    ledger.gate = asyncio.Event()
    writer = GroupCommit(ledger.write)
    impatient = asyncio.create_task(writer.submit("a"))
    patient = asyncio.create_task(writer.submit("b"))
    await asyncio.sleep(0)
    impatient.cancel()
    ledger.gate.set()
    assert await patient == "B"
    assert ledger.groups == [["a", "b"]]


async def test_a_stopped_writer_answers_every_waiting_caller() -> None:
    ledger = Ledger()
    ledger.cancelled = True
    writer = GroupCommit(ledger.write, max_group=1)
    callers = [asyncio.create_task(writer.submit(w)) for w in ["a", "b", "c"]]
    for caller in callers:
        with pytest.raises(WriterStopped):
            await caller
    ledger.cancelled = False
    assert await writer.submit("d") == "D"
    assert ledger.groups == [["d"]]
