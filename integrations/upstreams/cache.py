"""A short-lived cache of agency records, always keyed by the scope that asked for them.

Personal data read for one principal is never served to another from here: the scope is part
of every key, and ``forget(scope)`` drops a scope's entries when its consent ends.

Records are held pickled. As objects, a full cache (tens of thousands of records, each a
handful of objects) is what the garbage collector walked on every full collection, and it
made each request slower as the cache filled; bytes it never walks. The bytes are made here
from records decoded here, so unpickling reads nothing from outside the process.
"""

from __future__ import annotations

import pickle
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from integrations.upstreams.calls import BatchCall, Fetch, Items

Key = tuple[str, str, str]


class ScopedCache:
    """TTL and LRU-bounded records per (scope, resource, id); misses go to the agency together."""

    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[int, int], None] | None = None,
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._on_lookup = on_lookup
        self._entries: OrderedDict[Key, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def wrap(self, inner: Fetch) -> Fetch:
        if self._ttl <= 0 or self._max <= 0:
            return inner

        async def fetch(call: BatchCall) -> Items:
            found = self._hits(call)
            missing = tuple(i for i in call.ids if i not in found)
            if self._on_lookup is not None:
                self._on_lookup(len(found), len(missing))
            if missing:
                fetched = await inner(call if not found else replace(call, ids=missing))
                self._store(call, fetched)
                found.update(fetched)
            return found

        return fetch

    def forget(self, scope: str) -> None:
        """Drop every entry read for ``scope``, e.g. when its consent is revoked."""
        for key in [k for k in self._entries if k[0] == scope]:
            del self._entries[key]

    def _hits(self, call: BatchCall) -> dict[str, object | None]:
        now = self._clock()
        found: dict[str, object | None] = {}
        for item_id in call.ids:
            key = (call.scope, call.resource, item_id)
            entry = self._entries.get(key)
            if entry is None:
                continue
            if entry[0] <= now:
                del self._entries[key]
                continue
            self._entries.move_to_end(key)
            found[item_id] = pickle.loads(entry[1])
        return found

    def _store(self, call: BatchCall, items: Items) -> None:
        expires = self._clock() + self._ttl
        for item_id, value in items.items():
            key = (call.scope, call.resource, item_id)
            self._entries[key] = (expires, pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
            self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
