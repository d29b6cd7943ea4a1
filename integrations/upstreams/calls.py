"""The unit every resilience layer handles: one batched read from one agency resource.

A layer takes the next ``Fetch`` and returns a new one, the way Starlette middleware wraps an
app, so the pipeline of an agency reads top to bottom in ``service.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BatchCall:
    """Read ``ids`` from ``resource`` of ``service`` on behalf of ``scope``.

    ``scope`` names who is asking (the principal, and the purpose where it matters); caches and
    shared in-flight calls never cross scopes.
    """

    service: str
    resource: str
    ids: tuple[str, ...]
    scope: str

    def __post_init__(self) -> None:
        if not self.scope:
            raise ValueError("every upstream call needs a non-empty scope")


Items = Mapping[str, object | None]
"""Decoded records by requested identifier; ``None`` when the agency has no record."""

Fetch = Callable[[BatchCall], Awaitable[Items]]


class Layer(Protocol):
    """One resilience concern that wraps the next step of the pipeline."""

    def wrap(self, inner: Fetch) -> Fetch: ...
