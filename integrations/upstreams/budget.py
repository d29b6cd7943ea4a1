"""A retry budget: retries stay a bounded share of calls, so a failing agency is not stormed."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RetryBudget:
    """Allows ``min_retries + ratio × calls`` retries over a sliding ``window`` of seconds.

    With every attempt failing, ``n`` calls cause at most ``n × (1 + ratio) + min_retries``
    requests in a window, whatever the number of attempts per call::

        budget = RetryBudget(ratio=0.2, min_retries=10, window=10.0)
        budget.record_call()
        if budget.try_spend(): ...  # retry
    """

    def __init__(
        self,
        *,
        ratio: float,
        min_retries: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ratio = ratio
        self._min = min_retries
        self._window = window
        self._clock = clock
        self._calls: deque[float] = deque()
        self._retries: deque[float] = deque()

    def record_call(self) -> None:
        """Count a call; calls older than the window are dropped here too, so that a run
        without failures (which never spends) keeps only a window's worth of them."""
        now = self._clock()
        self._expire(self._calls, now)
        self._calls.append(now)

    def try_spend(self) -> bool:
        """Take one retry from the budget; ``False`` when it is spent."""
        now = self._clock()
        for stamps in (self._calls, self._retries):
            self._expire(stamps, now)
        if len(self._retries) >= self._min + self._ratio * len(self._calls):
            return False
        self._retries.append(now)
        return True

    def _expire(self, stamps: deque[float], now: float) -> None:
        while stamps and stamps[0] <= now - self._window:
            stamps.popleft()
