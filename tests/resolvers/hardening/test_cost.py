from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from resolvers.hardening import CostModel, operation_cost
from tests.resolvers.hardening.support import codes, hardened, run
from tests.resolvers.hardening.toy import toy_schema

GRAPHQL_SCHEMA = toy_schema()._schema


def cost(query: str, variables: dict[str, Any] | None = None, **model: Any) -> int:
    return operation_cost(GRAPHQL_SCHEMA, parse(query), None, variables, CostModel(**model))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("{ hello }", 1, id="scalar"),
        pytest.param("{ people { name } }", 1 + 10 * 1, id="list-assumed-size"),
        pytest.param("{ people(first: 3) { name } }", 1 + 3, id="list-first"),
        pytest.param(
            "{ people(first: 3) { name friends(first: 5) { name } } }",
            1 + 3 * (1 + 1 + 5 * 1),
            id="nested-lists-multiply",
        ),
        pytest.param(
            "{ directory(first: 50) { totalCount edges { cursor node { name } } } }",
            1 + 1 + (1 + 50 * (1 + 1 + 1)),
            id="connection-sizes-its-edges",
        ),
        pytest.param(
            "{ ...P } fragment P on Query { people(first: 2) { ...N } } "
            "fragment N on Person { name }",
            1 + 2,
            id="fragments",
        ),
        pytest.param("{ __typename people(first: 1) { __typename } }", 1, id="meta-fields-free"),
    ],
)
def test_static_cost(query: str, expected: int) -> None:
    assert cost(query) == expected


def test_variables_and_their_defaults_size_lists() -> None:
    query = "query($n: Int = 4) { people(first: $n) { name } }"
    assert cost(query) == 1 + 4
    assert cost(query, {"n": 7}) == 1 + 7
    assert cost(query, {"n": "7"}) == 1 + 10, "a value that is not an int gets the assumed size"


def test_weights_and_assumed_size_come_from_the_model() -> None:
    query = "{ people { name } }"
    assert cost(query, default_list_size=2, weights={"Person.name": 5}) == 1 + 2 * 5


def test_a_fragment_cycle_does_not_loop() -> None:
    query = "{ ...A } fragment A on Query { hello ...B } fragment B on Query { ...A }"
    assert cost(query) == 1


async def test_measure_reports_the_cost_and_runs() -> None:
    schema = hardened(cost_mode="measure", max_cost=5)
    result, calls = await run(schema, "{ people(first: 100) { name } }")
    assert result.errors is None
    assert result.extensions == {"cost": {"requested": 101, "limit": 5, "mode": "measure"}}
    assert calls == ["people"]


async def test_enforce_refuses_a_huge_first_before_any_resolver_runs() -> None:
    schema = hardened(cost_mode="enforce", max_cost=1000)
    result, calls = await run(schema, "{ people(first: 1000000) { friends { name } } }")
    assert codes(result) == ["COST_LIMIT_EXCEEDED"]
    assert result.data is None
    assert result.errors[0].extensions["cost"] == 1 + 1_000_000 * (1 + 10)
    assert calls == []


async def test_enforce_counts_variables() -> None:
    schema = hardened(cost_mode="enforce", max_cost=1000)
    query = "query($n: Int!) { people(first: $n) { name } }"
    result, calls = await run(schema, query, variable_values={"n": 5000})
    assert codes(result) == ["COST_LIMIT_EXCEEDED"]
    assert calls == []
    result, calls = await run(schema, query, variable_values={"n": 5})
    assert result.errors is None
    assert not result.extensions, "enforce reports the cost only when it refuses"
    assert calls == ["people"]


async def test_off_reports_nothing() -> None:
    result, _ = await run(hardened(cost_mode="off", max_cost=1), "{ people { name } }")
    assert result.errors is None
    assert not result.extensions
