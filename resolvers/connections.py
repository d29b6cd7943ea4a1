"""Relay-style connections: ``edges { node cursor }`` and ``pageInfo``, paged forward.

``Connection[Invoice]`` is named ``InvoiceConnection`` in the schema, ``Edge[Invoice]``
``InvoiceEdge``. Cursors are opaque strings made by whoever owns the ordering (the invoice
store, the access log); this module only carries them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, Self, TypeVar

import strawberry

from resolvers.errors import PublicError

T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100


class BadPageSize(PublicError):
    """``first`` is outside 1..MAX_PAGE."""

    code = "BAD_USER_INPUT"
    hint = f"Ask for 1 to {MAX_PAGE} items with first, and page on with after."


def page_size(first: int) -> int:
    """``first`` if it is a page size the gateway serves, else a BAD_USER_INPUT error."""
    if not 1 <= first <= MAX_PAGE:
        raise BadPageSize(f"first must be between 1 and {MAX_PAGE}, got {first}")
    return first


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @classmethod
    def of(cls, nodes: Iterable[tuple[T, str]], *, has_next: bool, has_previous: bool) -> Self:
        """A page from (node, cursor) pairs in order.

        ``has_previous`` is whether the page was asked for after a cursor: forward paging
        cannot cheaply know more, which the Relay specification allows.
        """
        edges = [Edge(node=node, cursor=cursor) for node, cursor in nodes]
        info = PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return cls(edges=edges, page_info=info)
