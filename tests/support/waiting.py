"""Waiting for something another task or process does, with a deadline so a test never hangs.

The deadline is no timed assertion: it is far beyond what the work takes on a loaded machine,
and only turns a hang into a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], bool], *, within: float = 30.0) -> None:
    """Return once ``condition()`` holds; fail if it still does not after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the awaited condition never held"
        await asyncio.sleep(0.01)
