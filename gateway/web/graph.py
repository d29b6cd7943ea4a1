"""The pages' GraphQL: fixed documents run in-process through the gateway's own schema.

Each page that shows graph data runs one document of ``queries/`` with a context from the
same factory the HTTP and WebSocket doors use (``GraphContexts.build``), so it gets the same
resolvers, access session, masking, limits and one access-log append per page. What the API
refuses comes back as errors, which the page shows as refusals; fields it allows are shown.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Final

from graphql import GraphQLError
from starlette.requests import Request
from strawberry import Schema
from strawberry.types import ExecutionResult

from gateway.http.graph import GraphContexts
from gateway.web.caller import principal_of
from gateway.web.render import Problem

SPREAD: Final = re.compile(r"\.\.\.([A-Z]\w*)")


@cache
def document(name: str) -> str:
    """The text of ``queries/<name>.graphql`` with every fragment it spreads, from
    ``queries/fragments/<Fragment>.graphql`` (a document may not carry unused ones)."""
    text = _read("queries", f"{name}.graphql")
    wanted, seen = SPREAD.findall(text), set()
    while wanted:
        fragment = wanted.pop()
        if fragment not in seen:
            seen.add(fragment)
            body = _read("queries", "fragments", f"{fragment}.graphql")
            text += "\n" + body
            wanted += SPREAD.findall(body)
    return text


def _read(*parts: str) -> str:
    return resources.files("gateway.web").joinpath(*parts).read_text("utf-8")


@dataclass(frozen=True, slots=True)
class Answer:
    """What one document answered: its data (``{}`` if none) and each error as a refusal."""

    data: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def of(cls, result: ExecutionResult) -> Answer:
        return cls(result.data or {}, [problem_of(error) for error in result.errors or ()])

    @property
    def refused(self) -> bool:
        """Nothing to show: every root field is null and some error says why."""
        return bool(self.problems) and not any(v is not None for v in self.data.values())


def problem_of(error: GraphQLError) -> Problem:
    extensions = error.extensions or {}
    return Problem(
        str(extensions.get("code", "INTERNAL")),
        error.message,
        str(extensions.get("hint", "")),
        str(extensions.get("service", "")),
    )


class PageGraph:
    """Runs the pages' documents for the signed-in caller of a page request."""

    def __init__(self, schema: Schema, contexts: GraphContexts) -> None:
        self.schema = schema
        self.contexts = contexts

    async def run(self, request: Request, name: str, variables: Mapping[str, Any]) -> Answer:
        context = self.contexts.build(request, await principal_of(request))
        result = await self.schema.execute(
            document(name), variable_values=dict(variables), context_value=context
        )
        return Answer.of(result)

    async def subscribe(
        self, request: Request, name: str, variables: Mapping[str, Any]
    ) -> AsyncIterator[Answer]:
        """Each event of a subscription document, as the WebSocket door would send it."""
        context = self.contexts.build(request, await principal_of(request))
        results = await self.schema.subscribe(
            document(name), variable_values=dict(variables), context_value=context
        )
        if isinstance(results, ExecutionResult):
            yield Answer.of(results)
            return
        async for result in results:
            yield Answer.of(result)
