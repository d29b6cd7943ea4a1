"""Group commit: the writes of concurrent callers committed together by one writer task.

A caller ``submit``s its item and waits. The writer takes whatever is waiting, up to
``max_group`` items, and hands it to ``write`` (one transaction); items that arrive meanwhile
wait for the next group. Each caller is answered once the commit holding its item is done, so
durability is the database's own while many callers share one commit and one fsync.

When a group fails, each of its items is written again alone: one bad item (a duplicate
invoice, say) never takes its neighbours down, and every caller gets its own answer or its own
error, passed through ``failed`` so that each user raises its own error type::

    writer = GroupCommit(store.insert_all)
    stored = await writer.submit(record)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from integrations.errors import StoreError

Item = TypeVar("Item")
Result = TypeVar("Result")

DEFAULT_MAX_GROUP = 256


class WriterStopped(StoreError):
    """The writer task was stopped (the process is shutting down) before the item was written."""


def _as_is(exc: Exception) -> Exception:
    return exc


class GroupCommit(Generic[Item, Result]):
    """One writer per process for ``write``, which stores a group of items in one transaction
    and returns one result per item, in order, or raises and stores none of them."""

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_group: int = DEFAULT_MAX_GROUP,
        failed: Callable[[Exception], Exception] = _as_is,
    ) -> None:
        self.max_group = max_group
        self._write = write
        self._failed = failed
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Write ``item`` in the next commit and return its result once that commit is done."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run())
        # A caller that gives up does not cancel the commit its item is already part of.
        return await asyncio.shield(done)

    async def _run(self) -> None:
        group: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._waiting:
                group = self._waiting[: self.max_group]
                del self._waiting[: self.max_group]
                await self._commit(group)
        except BaseException:
            abandoned, self._waiting = [*group, *self._waiting], []
            for _, done in abandoned:
                _settle(done, self._failed(WriterStopped("stopped before it was written")))
            raise

    async def _commit(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._write([item for item, _ in group])
        except Exception as exc:  # whatever stopped the group, each item is tried alone
            if len(group) == 1:
                _settle(group[0][1], self._failed(exc))
                return
            for one in group:
                await self._commit([one])
            return
        for (_, done), result in zip(group, results, strict=True):
            _settle(done, result)


def _settle(done: asyncio.Future[Result], outcome: Result | Exception) -> None:
    if done.done():
        return
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
