"""A small self-contained schema for the hardening tests: people with nested lists.

Each resolver records its name in the request context, so a test can prove that a refused
operation never reached a resolver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from integrations.errors import UpstreamTimeout
from resolvers.errors import PublicError


@dataclass
class ToyContext:
    role: str | None = None
    calls: list[str] = field(default_factory=list)


ToyInfo = Info[ToyContext, None]


@strawberry.type
class Person:
    name: str

    @strawberry.field
    def friends(self, info: ToyInfo, first: int | None = None) -> list[Person]:
        info.context.calls.append("friends")
        return [Person(name=f"{self.name}-friend-{i}") for i in range(min(first or 2, 3))]


@strawberry.type
class PersonEdge:
    node: Person
    cursor: str


@strawberry.type
class PersonConnection:
    edges: list[PersonEdge]
    total_count: int


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, info: ToyInfo) -> str:
        info.context.calls.append("hello")
        return "world"

    @strawberry.field
    def people(self, info: ToyInfo, first: int | None = None) -> list[Person]:
        info.context.calls.append("people")
        return [Person(name=f"person-{i}") for i in range(min(first or 2, 3))]

    @strawberry.field
    def directory(self, info: ToyInfo, first: int = 10) -> PersonConnection:
        info.context.calls.append("directory")
        edges = [PersonEdge(node=Person(name=f"p{i}"), cursor=str(i)) for i in range(2)]
        return PersonConnection(edges=edges, total_count=2)

    @strawberry.field
    def broken(self, info: ToyInfo) -> str | None:
        info.context.calls.append("broken")
        raise RuntimeError("password=hunter2 at db.internal:5432")

    @strawberry.field
    def refused(self, info: ToyInfo) -> str | None:
        info.context.calls.append("refused")
        raise PublicError("Consent has expired", code="CONSENT_EXPIRED")

    @strawberry.field
    def slow(self, info: ToyInfo) -> str | None:
        info.context.calls.append("slow")
        raise UpstreamTimeout("tax", "no answer within 2.0 s")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def rename(self, info: ToyInfo, name: str) -> str:
        info.context.calls.append("rename")
        return name


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, info: ToyInfo, count: int = 2) -> AsyncIterator[int]:
        info.context.calls.append("ticks")
        for tick in range(count):
            yield tick


def toy_schema(extensions: Iterable[type[SchemaExtension] | object] = ()) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=list(extensions)
    )
