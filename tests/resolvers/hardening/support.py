"""Running operations against the toy schema with the hardening installed."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import ExecutionResult

from resolvers.hardening import Hardening, HardeningSettings
from tests.resolvers.hardening.toy import ToyContext, toy_schema


def hardened(**settings: Any) -> strawberry.Schema:
    return toy_schema(Hardening(HardeningSettings(**settings)).extensions)


async def run(
    schema: strawberry.Schema, query: str, **kwargs: Any
) -> tuple[ExecutionResult, list[str]]:
    """The result and the resolvers that ran, in order."""
    context = ToyContext()
    result = await schema.execute(query, context_value=context, **kwargs)
    return result, context.calls


def codes(result: ExecutionResult) -> list[str]:
    return [error.extensions["code"] for error in result.errors or []]
