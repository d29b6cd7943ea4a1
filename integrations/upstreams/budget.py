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
        self._calls.append(self._clock())

    def try_spend(self) -> bool:
        """Take one retry from the budget; ``False`` when it is spent."""
        now = self._clock()
        for stamps in (self._calls, self._retries):
            while stamps and stamps[0] <= now - self._window:
                stamps.popleft()
        if len(self._retries) >= self._min + self._ratio * len(self._calls):
            return False
        self._retries.append(now)
        return True
