"""A bounded map of results kept per key: the per-process document caches, and certificates
read back from stored invoices."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Keeps at most ``maxsize`` results, dropping the least recently used first, so that
    keys seen once each cannot grow it without bound."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._values: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value kept under ``key``, made by ``make()`` and kept if there is none."""
        if key in self._values:
            self._values.move_to_end(key)
            return self._values[key]
        return self.keep(key, make())

    def find(self, key: K) -> V | None:
        """The value kept under ``key``, if any, for a caller whose ``make`` must await."""
        if key not in self._values:
            return None
        self._values.move_to_end(key)
        return self._values[key]

    def keep(self, key: K, value: V) -> V:
        self._values[key] = value
        self._values.move_to_end(key)
        if len(self._values) > self.maxsize:
            self._values.popitem(last=False)
        return value
